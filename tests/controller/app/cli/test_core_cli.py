"""The core's command line, run as a user runs it: a real SQLite log, subprocesses, exit codes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from tests.support.cli import quiet_lockers


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli")
    result = quiet_lockers(
        "sim", "history", "--compartments", "4", "--steps", "300", "--seed", "5", "--json", data_dir=directory
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events_in_log"] > 300
    return directory


def test_status_json_shape(log_dir: Path) -> None:
    result = quiet_lockers("status", "--json", data_dir=log_dir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["compartments"]
    # every compartment of the bank (six by default), also those the simulated history never touched
    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "5", "6"]
    assert [(row["state"], row["version"]) for row in rows[4:]] == [("free", 0), ("free", 0)]
    assert all(row["version"] > 0 for row in rows[:4])
    assert {"id", "state", "version"} <= set(rows[0])
    assert all(row["state"] in {"free", "occupied", "verifying", "open", "alarm"} for row in rows)


def test_verify_replay_and_export_agree(log_dir: Path) -> None:
    verify = json.loads(quiet_lockers("audit", "verify", "--json", data_dir=log_dir).stdout)
    assert verify["ok"] is True and verify["first_bad_position"] is None and verify["problems"] == []
    status = json.loads(quiet_lockers("status", "--json", data_dir=log_dir).stdout)
    replay_all = json.loads(
        quiet_lockers("audit", "replay", "--at", str(verify["events"]), "--json", data_dir=log_dir).stdout
    )
    assert replay_all["compartments"] == [row for row in status["compartments"] if row["version"]]
    early = json.loads(quiet_lockers("audit", "replay", "--at", "3", "--json", data_dir=log_dir).stdout)
    assert sum(row["version"] for row in early["compartments"]) == 3
    exported = quiet_lockers("audit", "export", "--format", "jsonl", data_dir=log_dir).stdout.splitlines()
    assert len(exported) == verify["events"]
    assert json.loads(exported[0])["position"] == 1
    csv_header = quiet_lockers("audit", "export", "--format", "csv", data_dir=log_dir).stdout.splitlines()[0]
    assert csv_header.startswith("position,compartment_id,version,occurred_at,event_type")
    timeline = quiet_lockers("audit", "replay", "--until", "2026-01-01T00:10:00+00:00", data_dir=log_dir).stdout
    assert "DepositStarted" in timeline


def test_replay_until_a_moment_folds_exactly_the_events_up_to_it(log_dir: Path) -> None:
    rows = [json.loads(line) for line in quiet_lockers("audit", "export", data_dir=log_dir).stdout.splitlines()]
    middle = rows[len(rows) // 2]
    cut = middle["occurred_at"]
    kept = [row for row in rows if datetime.fromisoformat(row["occurred_at"]) <= datetime.fromisoformat(cut)]
    assert 0 < len(kept) < len(rows)  # the moment splits the log: later events exist and must be left out
    until = json.loads(quiet_lockers("audit", "replay", "--until", cut, "--json", data_dir=log_dir).stdout)
    at = json.loads(quiet_lockers("audit", "replay", "--at", str(len(kept)), "--json", data_dir=log_dir).stdout)
    assert until == at
    assert sum(row["version"] for row in until["compartments"]) == len(kept)
    timeline = quiet_lockers("audit", "replay", "--until", cut, data_dir=log_dir).stdout.splitlines()
    positions = [int(parts[0]) for parts in map(str.split, timeline) if len(parts) > 2 and parts[2].startswith("#")]
    assert positions == [row["position"] for row in kept]


def test_tampered_row_is_named_by_verify(tmp_path: Path) -> None:
    assert quiet_lockers("sim", "history", "--steps", "60", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "lockers.db") as db:
        db.execute("DROP TRIGGER events_refuse_update")
        # Back-date one event by an hour: the content no longer matches its hash.
        db.execute("UPDATE events SET occurred_at = replace(occurred_at, 'T00:', 'T23:') WHERE position = 17")
        assert db.total_changes == 1
    result = quiet_lockers("audit", "verify", "--json", data_dir=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["first_bad_position"] == 17
    assert "hash mismatch" in report["problems"][0]["problem"]
    human = quiet_lockers("audit", "verify", data_dir=tmp_path)
    assert "FAILED at position 17" in human.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("status", "--db", "sqlite:////nonexistent/lockers.db"), "no database at"),
        (("status", "--db", "mysql://x"), "unsupported database"),
        (("audit", "replay", "--until", "yesterday"), "not an ISO-8601 time"),
        (("audit", "export", "--format", "xml"), "--format must be"),
    ],
)
def test_errors_are_one_clear_line(log_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = quiet_lockers(*args, data_dir=log_dir)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
