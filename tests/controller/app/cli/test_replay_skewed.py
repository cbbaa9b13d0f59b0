"""``lockers audit replay`` over a log written while the clock was a day slow: always a prefix of positions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.domain.events import AlarmRaised, DoorOpened
from storage.event_store import SqlEventStore
from tests.support.cli import quiet_lockers

RIGHT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SLOW = RIGHT - timedelta(days=1)  # the clock after a restart with a dead RTC battery


def forced(cid: str, at: datetime) -> list[AlarmRaised | DoorOpened]:
    alarm = AlarmRaised(compartment_id=cid, version=1, occurred_at=at, reason="forced_open", detail="door forced")
    return [alarm, DoorOpened(compartment_id=cid, version=2, occurred_at=at)]


def skewed_log(directory: Path) -> Path:
    """Positions 1-2 dated right, positions 3-4 dated a day before them (what a slow clock wrote)."""
    store = SqlEventStore.from_url(f"sqlite:///{directory / 'lockers.db'}")
    try:
        store.append("1", 0, forced("1", RIGHT))
        store.append("2", 0, forced("2", SLOW))
    finally:
        store.close()
    return directory


def replay(directory: Path, *args: str) -> dict[str, object]:
    result = quiet_lockers("audit", "replay", *args, "--json", data_dir=directory)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_until_a_moment_before_the_first_position_is_the_empty_log_not_the_misdated_events(tmp_path: Path) -> None:
    directory = skewed_log(tmp_path)
    until = replay(directory, "--until", (RIGHT - timedelta(hours=12)).isoformat())
    assert until == replay(directory, "--until-position", "0")
    assert until["compartments"] == []  # compartment 2's events came after position 2: they were not in the log yet


def test_until_position_is_exact_and_the_same_as_at(tmp_path: Path) -> None:
    directory = skewed_log(tmp_path)
    two = replay(directory, "--until-position", "2")
    assert two == replay(directory, "--at", "2")
    assert [row["id"] for row in two["compartments"]] == ["1"]  # type: ignore[union-attr,index]
    assert len(replay(directory, "--until-position", "4")["compartments"]) == 2  # type: ignore[arg-type]
