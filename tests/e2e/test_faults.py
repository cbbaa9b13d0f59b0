"""Faults that a scenario file cannot time precisely, driven through the real runner with a hook.

The runner polls the doors after every step, so ``plc: disconnect`` is always noticed by a poll
before the next face. Here the board is lost at the exact moment of the retrieval's pulse, and a door
is opened while the controller is down; an operator's refused clear is checked step by step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from controller.app.scenario.runner import Scenario, Step, load_scenario
from controller.domain import events as ev
from tests.e2e.helpers import TracedRun, UnlockLog, assert_passed, check_invariants, run_scenario

pytestmark = pytest.mark.slow

CONFIG = """
config:
  recognition: {threshold: 0.45, margin: 0.05, frames_required: 2, frames_window: 4,
                min_face_size: 40, min_face_px: 40}
"""


def lfw(person: str, *numbers: int) -> str:
    """A YAML flow list of LFW images under ${LOCKERS_ASSETS}."""
    paths = [f"${{LOCKERS_ASSETS}}/data/lfw-dev/images/{person}/{person}_{n:04d}.jpg" for n in numbers]
    return json.dumps(paths)  # JSON is YAML; quoted, so "${" is not read as a flow mapping


def write(tmp_path: Path, body: str, compartments: int = 3) -> Scenario:
    path = tmp_path / "scenario.yaml"
    path.write_text(f"compartments: {compartments}\n{CONFIG}\nsteps:\n{body}", encoding="utf-8")
    return load_scenario(path)


DEPOSIT_COLIN = f"""
  - deposit: {lfw("Colin_Powell", 1, 2, 3)}
  - door: {{compartment: 1, action: open}}
  - door: {{compartment: 1, action: close}}
"""


class LoseBoardOnUnlock(UnlockLog):
    """The board goes silent at the instant the pulse for step ``lose_at`` is sent (it never arrives)."""

    def __init__(self, inner: Any, run: TracedRun, simulator: Any, lose_at: int) -> None:
        super().__init__(inner, run)
        self.simulator = simulator
        self.lose_at = lose_at

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        if self.run.current_step == self.lose_at:
            self.simulator.faults.silent = True
            self.simulator.drop_all_connections()
        await super().unlock(compartment, pulse_ms)


@dataclass
class BoardLostRun(TracedRun):
    lose_at: int = -1
    simulator: Any = None

    def wrap_driver(self, driver: Any, simulator: Any) -> Any:
        self.simulator = simulator
        return LoseBoardOnUnlock(driver, self, simulator, self.lose_at)


def test_board_lost_mid_unlock_is_an_alarm_never_a_second_pulse(assets: Path, tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        DEPOSIT_COLIN
        + f"""
  - wait: 5
  - show: {lfw("Colin_Powell", 4)}
  - expect: {{unlocked: [], states: {{1: verifying}}}}
  - show: {lfw("Colin_Powell", 5)}
  - expect: {{unlocked: [1], states: {{1: alarm, 2: alarm}},
              alarms: {{1: unlock_outcome_unknown, 2: lock_board_fault}}}}
  - show: {lfw("Colin_Powell", 6, 7)}
  - expect: {{unlocked: [], states: {{1: alarm}}}}
  - restart: {{}}
  - expect: {{unlocked: [], states: {{1: alarm}}, alarms: {{1: unlock_outcome_unknown}}}}
  - plc: reconnect
  - restart: {{}}
  - show: {lfw("Colin_Powell", 8)}
  - expect: {{unlocked: [], states: {{1: alarm, 2: free, 3: free}}}}  # board-only alarms end by themselves
  - operator: {{clear: 1, operator: ops-5, note: "latched, item inside"}}
  - expect: {{unlocked: [], states: {{1: occupied}}}}
  - show: {lfw("Colin_Powell", 9, 14)}
  - expect: {{unlocked: [1], states: {{1: open}}}}
  - door: {{compartment: 1, action: open}}
  - door: {{compartment: 1, action: close}}
  - expect: {{states: {{1: free}}}}
""",
    )
    lose_at = next(s.index for s in scenario.steps if s.kind == "show" and "_0005" in s.arg[0])
    outcome = run_scenario(scenario, tmp_path / "data", BoardLostRun, lose_at=lose_at)
    assert_passed(outcome)
    run = outcome.run
    assert isinstance(run, BoardLostRun)
    # Three decisions (deposit, the lost retrieval, the retrieval after the clear), three attempts.
    decisions = outcome.of_type(ev.DepositStarted) + outcome.of_type(ev.IdentityConfirmed)
    assert len(decisions) == 3 and run.unlock_calls == [1, 1, 1]
    lost = outcome.of_type(ev.IdentityConfirmed)[0]
    sent = {e.unlock_id for e in outcome.of_type(ev.UnlockPulseSent)}
    assert lost.unlock_id not in sent
    unknown = [e for e in outcome.of_type(ev.AlarmRaised) if e.reason == "unlock_outcome_unknown"]
    assert [e.correlation_id for e in unknown] == [lost.correlation_id]
    # The relay itself was energised twice in the whole run: the deposit and the final retrieval.
    assert run.simulator.board.pulses == [1, 1]


@dataclass
class DoorWhileDownRun(TracedRun):
    """At each ``restart`` step listed in ``while_down``, a door changes between stop and start."""

    while_down: dict[int, tuple[int, str]] = field(default_factory=dict)

    async def _step_restart(self, step: Step) -> str:
        from plc.sim_board import Control

        simulator = self.stack.simulator
        self._stop()
        if step.index in self.while_down:
            compartment, action = self.while_down[step.index]
            code = Control.PULL if action == "open" else Control.CLOSE
            assert simulator is not None
            simulator.board.control(compartment - 1, code)
        await self._start(simulator)
        return "controller restarted from the log"


def test_door_opened_while_the_controller_was_down_is_an_alarm_at_boot(assets: Path, tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        DEPOSIT_COLIN
        + """
  - restart: {}
  - expect: {unlocked: [], states: {1: alarm, 2: free}, alarms: {1: reconciliation_mismatch}}
  - door: {compartment: 1, action: close}
  - operator: {clear: 1, operator: ops-6}
  - expect: {states: {1: occupied}}
  - restart: {}
  - expect: {unlocked: [], states: {1: occupied, 2: alarm}, alarms: {2: reconciliation_mismatch}}
"""
        + f"""
  - show: {lfw("Colin_Powell", 4, 5)}
  - expect: {{unlocked: [1], states: {{1: open}}}}
""",
    )
    restarts = [s.index for s in scenario.steps if s.kind == "restart"]
    while_down = {restarts[0]: (1, "open"), restarts[1]: (2, "open")}
    outcome = run_scenario(scenario, tmp_path / "data", DoorWhileDownRun, while_down=while_down)
    assert_passed(outcome)
    mismatches = [e for e in outcome.of_type(ev.AlarmRaised) if e.reason == "reconciliation_mismatch"]
    assert [e.compartment_id for e in mismatches] == ["1", "2"]
    assert "door is open but the log says closed" in mismatches[0].detail


def test_operator_clear_is_refused_with_the_door_open_or_without_an_alarm(assets: Path, tmp_path: Path) -> None:
    scenario = write(
        tmp_path,
        DEPOSIT_COLIN
        + """
  - door: {compartment: 1, action: force}
  - operator: {clear: 1, operator: ops-1}
  - expect: {unlocked: [], states: {1: alarm}, alarms: {1: forced_open}}
  - operator: {clear: 2, operator: ops-1}
  - door: {compartment: 1, action: close}
  - operator: {clear: 1, operator: ops-1}
  - expect: {unlocked: [], states: {1: occupied, 2: free}}
""",
    )
    outcome = run_scenario(scenario, tmp_path / "data")
    refused = {r.index: r.detail for r in outcome.run.results if not r.ok}
    assert sorted(refused) == [4, 6], refused
    assert "close the door before clearing the alarm" in refused[4]
    assert "only allowed in alarm" in refused[6]
    check_invariants(outcome)
    (cleared,) = outcome.of_type(ev.AlarmCleared)
    assert (cleared.compartment_id, cleared.operator_id) == ("1", "ops-1")
