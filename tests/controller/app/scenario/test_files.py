"""Scenario files as a user meets them: validation errors that name the step, and the CLI's output.

``lockers scenario run`` runs as a real subprocess here (twice: a passing and a failing run), and
``lockers audit verify`` / ``audit replay`` check the log it left in a SQLite file.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from controller.app.scenario.runner import ScenarioError, load_scenario
from tests.support import cli

# Warnings and errors only (reports go to stdout); a run with real faces loads a network: minutes on a busy CPU.
lockers = partial(cli.lockers, log_level="WARNING", timeout=240)
COLIN = "${LOCKERS_ASSETS}/data/lfw-dev/images/Colin_Powell/Colin_Powell_%04d.jpg"


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


INVALID = [
    ("steps:\n  - door: {compartment: 1, action: open}\n  - dance: {}\n", r"^step 1: unknown step 'dance'"),
    ("steps:\n  - door: {compartment: 1, action: kick}\n", r"^step 0 \(door\): expected \{compartment: K, action:"),
    ("steps:\n  - door: {compartment: one, action: open}\n", r"^step 0 \(door\): compartment must be a compartment"),
    ("steps:\n  - expect: {alarms: {1: burglary}}\n", r"^step 0 \(expect\): alarms: 'burglary' is not one of"),
    ("steps:\n  - expect: {states: {1: opne}}\n", r"^step 0 \(expect\): states: 'opne' is not one of"),
    ("steps:\n  - wait: 1\n  - wait: -5\n", r"^step 1 \(wait\): expected a number of seconds >= 0"),
    ("steps:\n  - wait: true\n", r"^step 0 \(wait\)"),
    ("steps:\n  - show: []\n", r"^step 0 \(show\): expected a non-empty list of image paths"),
    ("steps:\n  - deposit: a.jpg\n", r"^step 0 \(deposit\): expected a non-empty list"),
    ("steps:\n  - expect: {unlockd: [1]}\n", r"^step 0 \(expect\): expected a mapping of unlocked, states"),
    ("steps:\n  - plc: unplug\n", r"^step 0 \(plc\): expected disconnect or reconnect"),
    ("steps:\n  - restart: now\n", r"^step 0 \(restart\): expected \{\}"),
    ("steps:\n  - operator: {clear: 1}\n", r"^step 0 \(operator\): expected \{clear: K, operator: ID\}"),
    ("steps:\n  - operator: {operator: ops-1}\n", r"^step 0 \(operator\): name the compartment"),
    ("steps:\n  - {wait: 1, restart: {}}\n", r"^step 0: expected a mapping with exactly one of"),
    ("steps:\n  - wait\n", r"^step 0: expected a mapping with exactly one of"),
    ("compartments: 0\nsteps: []\n", r"'compartments' must be an integer from 1 to 256"),
    ("config: [1]\nsteps: []\n", r"'config' must be a mapping"),
    ("steps: {wait: 1}\n", r"expected a mapping with a 'steps' list"),
    ("steps: [\n", r"is not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), INVALID, ids=[f"invalid-{i}" for i in range(len(INVALID))])
def test_invalid_file_gives_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load_scenario(write(tmp_path, text))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "nothing.yaml")


# Found only mid-run (or not at all) before 945e05e; now refused at load, naming the step.
@pytest.mark.parametrize("compartment", [0, 9])
def test_door_outside_the_bank_is_invalid(tmp_path: Path, compartment: int) -> None:
    text = f"compartments: 4\nsteps:\n  - door: {{compartment: {compartment}, action: open}}\n"
    with pytest.raises(ScenarioError, match=r"^step 0 \(door\)"):
        load_scenario(write(tmp_path, text))


def test_expect_unlocked_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"^step 0 \(expect\)"):
        load_scenario(write(tmp_path, "steps:\n  - expect: {unlocked: 1}\n"))


def test_missing_image_is_invalid_before_anything_runs(tmp_path: Path) -> None:
    text = "steps:\n  - door: {compartment: 1, action: open}\n  - show: [nowhere.jpg]\n"
    with pytest.raises(ScenarioError, match=r"^step 1 \(show\): image nowhere.jpg not found"):
        load_scenario(write(tmp_path, text))


def test_cli_invalid_file_exits_2_naming_the_step(tmp_path: Path) -> None:
    path = write(tmp_path, "steps:\n  - wait: 1\n  - door: {compartment: 1, action: slam}\n")
    result = lockers("scenario", "run", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "step 1 (door)" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def _check_shape(document: dict[str, Any], steps: int, compartments: int) -> None:
    assert set(document) == {"ok", "steps", "final"}
    assert isinstance(document["ok"], bool)
    assert [s["index"] for s in document["steps"]] == list(range(steps + 1))  # + the final log check
    for step in document["steps"]:
        assert set(step) == {"index", "ok", "detail"}
        assert isinstance(step["ok"], bool) and isinstance(step["detail"], str) and step["detail"]
    assert set(document["final"]) == {"compartments"}
    final = document["final"]["compartments"]
    assert [k["id"] for k in final] == [str(i) for i in range(1, compartments + 1)]
    for compartment in final:
        assert set(compartment) == {"id", "state", "version"}
        assert compartment["state"] in {"free", "occupied", "verifying", "open", "alarm"}
        assert isinstance(compartment["version"], int)


@pytest.mark.slow
def test_cli_json_passing_run_then_audit(assets: Path, tmp_path: Path) -> None:
    images = ", ".join(f'"{COLIN % n}"' for n in (1, 2, 3))
    text = f"""compartments: 3
config:
  recognition: {{threshold: 0.45, frames_required: 2, frames_window: 4, min_face_size: 40, min_face_px: 40}}
steps:
  - deposit: [{images}]
  - door: {{compartment: 1, action: open}}
  - door: {{compartment: 1, action: close}}
  - wait: 5
  - show: ["{COLIN % 4}", "{COLIN % 5}"]
  - expect: {{unlocked: [1], states: {{1: open}}}}
"""
    db = f"sqlite:///{tmp_path / 'log.db'}"
    result = lockers("scenario", "run", str(write(tmp_path, text)), "--db", db, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    _check_shape(document, steps=6, compartments=3)  # with the wait: the depositor walks away first
    assert document["ok"] is True and all(s["ok"] for s in document["steps"])
    assert "audit ok" in document["steps"][-1]["detail"]
    assert document["final"]["compartments"][0] == {"id": "1", "state": "open", "version": 8}

    verify = lockers("audit", "verify", "--db", db, "--json", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True and json.loads(verify.stdout)["events"] == 8
    replay = lockers("audit", "replay", "--db", db, "--json", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    replayed = {k["id"]: (k["state"], k["version"]) for k in json.loads(replay.stdout)["compartments"]}
    live = {k["id"]: (k["state"], k["version"]) for k in document["final"]["compartments"] if k["version"]}
    assert replayed == live


@pytest.mark.slow
def test_cli_json_failing_expectation_exits_1(assets: Path, tmp_path: Path) -> None:
    text = """compartments: 2
steps:
  - door: {compartment: 2, action: force}
  - expect: {states: {2: free}, unlocked: [2]}
  - expect: {states: {2: alarm}, alarms: {2: forced_open}}
"""
    result = lockers("scenario", "run", str(write(tmp_path, text)), "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    _check_shape(document, steps=3, compartments=2)
    assert document["ok"] is False
    assert [s["ok"] for s in document["steps"]] == [True, False, True, True]
    detail = document["steps"][1]["detail"]
    assert "compartment 2 is alarm, expected free" in detail and "unlocked [], expected [2]" in detail
    assert document["final"]["compartments"] == [
        {"id": "1", "state": "free", "version": 0},
        {"id": "2", "state": "alarm", "version": 2},
    ]


@pytest.mark.slow
def test_cli_config_runs_a_scenario_under_a_sites_decision_rules_and_nothing_else(assets: Path,
                                                                                   tmp_path: Path) -> None:
    images = ", ".join(f'"{COLIN % n}"' for n in (1, 2, 3))
    text = f"""compartments: 2
config:
  recognition: {{min_face_size: 40, min_face_px: 40}}
steps:
  - deposit: [{images}]
  - door: {{compartment: 1, action: open}}
  - door: {{compartment: 1, action: close}}
  - wait: 5
  - show: ["{COLIN % 4}", "{COLIN % 5}", "{COLIN % 6}", "{COLIN % 7}"]
  - expect: {{unlocked: [1]}}
"""
    scenario = str(write(tmp_path, text))
    # The site's log and vault lie where no scenario may write: only its decision sections apply.
    site = write(tmp_path, '[storage]\nurl = "sqlite:////nonexistent/site.db"\n[bank]\ndata_dir = "/nonexistent"\n'
                 '[recognition]\nthreshold = 0.01\n', "site.toml")
    assert lockers("scenario", "run", scenario, "--json", cwd=tmp_path).returncode == 0
    strict = lockers("scenario", "run", scenario, "--config", str(site), "--json", cwd=tmp_path)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "unlocked [], expected [1]" in json.loads(strict.stdout)["steps"][-2]["detail"]  # [-1]: the audit
    site.write_text("[recognition]\nthreshold = 5.0\n")
    bad = lockers("scenario", "run", scenario, "--config", str(site), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("error: ") == 1 and "threshold" in bad.stderr
