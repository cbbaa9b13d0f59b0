"""``lockers plc unlock`` without a controller records its pulse in the bank's log, holding the writer's lease."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from structlog.testing import capture_logs
from typer.testing import CliRunner

from controller.app.cli.exits import OUTCOME_UNKNOWN, UNAVAILABLE
from controller.app.cli.plc import register
from storage.lease import acquire_lease
from tests.support.cli import lockers
from tests.support.plc import ThreadedSimulator

pytestmark = pytest.mark.timeout(90)
# Where the environment would put the log: the configuration must decide, so nothing may land here.
NO_DATA_DIR = Path("/nonexistent-the-config-decides")


def site(tmp_path: Path, port: int) -> Path:
    """A site configuration whose data directory (log, lease) and lock board are this test's own."""
    path = tmp_path / "lockers.toml"
    path.write_text(f'[bank]\ndata_dir = "data"\n\n[plc]\nport = {port}\ncompartments = 8\ntimeout_ms = 300\n',
                    encoding="utf-8")
    return path


def log_rows(config: Path) -> list[dict[str, Any]]:
    """Every row of the bank's log, read back by ``lockers audit export``."""
    exported = lockers("audit", "export", "--config", str(config), data_dir=NO_DATA_DIR, timeout=60)
    assert exported.returncode == 0, exported.stderr
    return [json.loads(line) for line in exported.stdout.splitlines()]


def test_unlock_records_the_operator_the_pulse_and_its_outcome(tmp_path: Path) -> None:
    with ThreadedSimulator(compartments=8) as sim:
        config = site(tmp_path, sim.port)
        done = lockers("plc", "unlock", "3", "--config", str(config), "--pulse-ms", "300",
                       "--operator", "alice", "--note", "jammed hinge", data_dir=NO_DATA_DIR, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "compartment 3: unlock pulse sent (300 ms)"
        assert sim.board.pulses == [3]
    assert f"recorded in sqlite:///{tmp_path / 'data' / 'lockers.db'} by cli:alice" in done.stderr
    rows = [row for row in log_rows(config) if row["compartment_id"] == "3"]
    assert [row["event_type"] for row in rows] == ["MaintenanceUnlocked", "UnlockPulseSent"]
    unlocked, sent = (json.loads(row["payload_json"]) for row in rows)
    assert unlocked["operator_id"] == "cli:alice" and unlocked["note"] == "jammed hinge"
    assert unlocked["pulse_ms"] == 300 and sent["unlock_id"] == unlocked["unlock_id"]
    acquire_lease(f"sqlite:///{tmp_path / 'data' / 'lockers.db'}").release()  # raises LeaseHeld if still held
    replay = lockers("audit", "replay", "--config", str(config), "--json", data_dir=NO_DATA_DIR, timeout=60)
    assert replay.returncode == 0, replay.stderr
    compartment = next(row for row in json.loads(replay.stdout)["compartments"] if row["id"] == "3")
    assert (compartment["state"], compartment["alarm"]) == ("alarm", "maintenance")  # until an operator clears it


def invoke(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    register(app)
    with capture_logs():
        result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_unlock_beside_a_held_lease_is_refused_and_sends_nothing(tmp_path: Path) -> None:
    with ThreadedSimulator(compartments=8) as sim:
        config = site(tmp_path, sim.port)
        lease = acquire_lease(f"sqlite:///{tmp_path / 'data' / 'lockers.db'}")
        try:
            code, out, err = invoke("plc", "unlock", "2", "--config", str(config), "--operator", "bob")
        finally:
            lease.release()
        assert sim.board.pulses == []
    assert code == UNAVAILABLE and out == "" and err.count("\n") == 1
    assert err.startswith("error: a controller runs on this bank's log (host ")
    assert "/operator/compartments/2/unlock" in err


def test_a_silent_board_is_recorded_as_an_unknown_outcome_and_the_lease_is_released(tmp_path: Path) -> None:
    with ThreadedSimulator(compartments=8) as sim:
        sim.faults.silent = True
        config = site(tmp_path, sim.port)
        code, _, err = invoke("plc", "unlock", "4", "--config", str(config), "--operator", "carol")
    assert code == OUTCOME_UNKNOWN and "outcome unknown" in err and err.count("\n") == 1
    acquire_lease(f"sqlite:///{tmp_path / 'data' / 'lockers.db'}").release()  # raises LeaseHeld if still held
    rows = [row for row in log_rows(config) if row["compartment_id"] == "4"]
    assert [row["event_type"] for row in rows] == ["MaintenanceUnlocked", "AlarmRaised"]
    assert json.loads(rows[1]["payload_json"])["reason"] == "unlock_outcome_unknown"


def test_the_operator_defaults_to_the_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGNAME", "dora")
    with ThreadedSimulator(compartments=8) as sim:
        config = site(tmp_path, sim.port)
        code, _, err = invoke("plc", "unlock", "1", "--config", str(config))
    assert code == 0, err
    unlocked = next(row for row in log_rows(config) if row["event_type"] == "MaintenanceUnlocked")
    assert json.loads(unlocked["payload_json"])["operator_id"] == "cli:dora"


def test_an_empty_operator_is_refused_before_anything_is_recorded(tmp_path: Path) -> None:
    code, out, err = invoke("plc", "unlock", "1", "--port", "1", "--operator", " ")
    assert code == 2 and out == "" and err == "error: --operator must name who sends the pulse\n"
