"""``lockers plc status|unlock`` and ``lockers plc-sim``, run as an installer would."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import typer
from structlog.testing import capture_logs
from typer.testing import CliRunner

from controller.app.cli.exits import BAD_INPUT, OUTCOME_UNKNOWN, UNAVAILABLE
from controller.app.cli.plc import register
from plc.sim_board import DoorBehaviour
from tests.support.cli import LOCKERS, lockers_env
from tests.support.plc import ThreadedSimulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``plc unlock`` records in the bank's log: keep it (and its lease) out of the repository's ./var."""
    monkeypatch.setenv("LOCKERS_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def invoke(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    register(app)
    with capture_logs():  # the service's transition logs go to stderr under `lockers`; here, nowhere
        result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_status_json_lists_every_compartment(threaded_sim: ThreadedSimulator) -> None:
    threaded_sim.sim.board.control(1, 2)
    code, out, _ = invoke("plc", "status", "--port", str(threaded_sim.sim.port), "--compartments", "8", "--json")
    assert code == 0
    rows = json.loads(out)["compartments"]
    assert rows[0] == {"id": "1", "door": "closed", "relay": "off"}
    assert rows[1] == {"id": "2", "door": "open", "relay": "off"} and len(rows) == 8


def test_status_table_and_unlock() -> None:
    # the door stays closed (no pop after a delay that a loaded machine may pass while the pulse is recorded),
    # and the pulse is long enough that the relay still reads on after the pulse and its outcome are recorded
    with ThreadedSimulator(compartments=8, behaviour=DoorBehaviour.STAY_CLOSED) as sim:
        port = str(sim.port)
        code, out, _ = invoke("plc", "unlock", "3", "--port", port, "--compartments", "8", "--pulse-ms", "5000")
        assert (code, out.strip()) == (0, "compartment 3: unlock pulse sent (5000 ms)")
        assert sim.board.pulses == [3]
        code, out, _ = invoke("plc", "status", "--port", port, "--compartments", "8")
    assert code == 0 and out.splitlines()[3].split() == ["3", "closed", "on"]


def test_status_from_a_config_file(threaded_sim: ThreadedSimulator, tmp_path: Path) -> None:
    path = tmp_path / "lockers.toml"
    path.write_text(f"[plc]\nport = {threaded_sim.sim.port}\ncompartments = 8\n", encoding="utf-8")
    code, out, _ = invoke("plc", "status", "--config", str(path), "--json")
    assert code == 0 and len(json.loads(out)["compartments"]) == 8


def test_unreachable_board_is_one_line_and_a_non_zero_exit_within_the_timeout() -> None:
    with ThreadedSimulator(compartments=8) as sim:
        sim.faults.silent = True
        started = time.monotonic()
        code, out, err = invoke("plc", "status", "--port", str(sim.port), "--timeout-ms", "300")
    assert time.monotonic() - started < 10  # the 300 ms timeout, not a hang (generous: a busy machine)
    assert code == UNAVAILABLE and out == ""
    assert err.count("\n") == 1 and err.startswith("error: board1 (device 1) does not answer")
    assert "Traceback" not in err


def test_silent_board_unlock_reports_unknown_outcome_with_its_own_exit_code() -> None:
    with ThreadedSimulator(compartments=8) as sim:
        sim.faults.silent = True
        code, _, err = invoke("plc", "unlock", "1", "--port", str(sim.port), "--timeout-ms", "200")
    assert code == OUTCOME_UNKNOWN == 3 and "outcome unknown" in err and err.count("\n") == 1


@pytest.mark.parametrize(("args", "message", "status"), [
    (["plc", "status", "--port", "1"], "error: board1 (device 1) does not answer", UNAVAILABLE),
    (["plc", "unlock", "2", "--port", "1"], "error: unlock of compartment 2 was not sent", UNAVAILABLE),
    (["plc", "status", "--port", "502", "--config", "x.toml"], "error: give either --host/--port or --config",
     BAD_INPUT),
    (["plc", "status", "--config", "/nonexistent/lockers.toml"],
     "error: configuration file /nonexistent/lockers.toml does not", BAD_INPUT),
    (["plc", "status", "--config", "typo.toml"],
     "error: plc.hots is not a known key; did you mean plc.host?", BAD_INPUT),
])
def test_bad_input_is_one_clear_line(args: list[str], message: str, status: int, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.toml").write_text('[plc]\nhots = "10.0.0.9"\n', encoding="utf-8")
    code, out, err = invoke(*args)
    assert code == status and out == "" and err.startswith(message) and err.count("\n") == 1


def test_unlock_outside_the_map_is_refused_before_sending() -> None:
    code, _, err = invoke("plc", "unlock", "17", "--port", "1")
    assert code == BAD_INPUT and "compartment 17 is not in the register map (1..16)" in err


def default_sigint() -> None:
    """In the child: SIGINT as a terminal delivers it (a suite run in the background inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_plc_sim_command_serves_until_interrupted() -> None:
    command = [*LOCKERS, "plc-sim", "--port", "0", "--compartments", "4", "--behaviour", "jam"]
    with subprocess.Popen(command, env=lockers_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, preexec_fn=default_sigint) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert banner.startswith("lock-board simulator: 4 compartments on 127.0.0.1:")
            port = banner.split(":")[2].split()[0]
            code, out, _ = invoke("plc", "unlock", "1", "--port", port, "--compartments", "4")
            assert code == 0
            time.sleep(0.4)  # past the simulator's pop delay (0.2 s): a door that was going to open has
            code, out, _ = invoke("plc", "status", "--port", port, "--compartments", "4", "--json")
            assert json.loads(out)["compartments"][0]["door"] == "closed"  # jammed
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()  # never leave a simulator behind, whatever failed
                raise
    assert process.returncode == 0
