"""Scripted scenarios: the real stack in simulate mode, on a simulated clock, from a scenario file.

``scenario_file`` parses and validates the file; this module runs it through the composition root
(``stack.build_bank``) and checks each expectation and, at the end, the log.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.app.bootstrap import event_decoder
from controller.app.config.loader import Config, deep_merge, load_config, read_file
from controller.app.scenario.file import Scenario, ScenarioError, Step, camera_spec, load_scenario
from controller.app.scenario.lifecycle import LifecycleSteps
from controller.app.stack import Overrides, Stack, build_bank, open_vault, simulated_door, start_simulator
from controller.domain.errors import LockerError
from controller.ports import FixedClock, LockDriver, SensorObservation
from controller.service import audit
from controller.service.bank import EnrolWith

if TYPE_CHECKING:
    from plc.simulator import LockBoardSimulator
    from recognition.runtime.station import FaceStation, StoredEnrolment
    from recognition.types import Image
    from storage.templates import SqliteTemplateStore

__all__ = ["Scenario", "ScenarioError", "ScenarioRun", "Step", "StepResult", "load_scenario", "summary"]

FRAME_INTERVAL_S = 0.1


class RecordingLocks:
    """Wraps the lock driver to record which compartments an unlock pulse was sent to."""

    def __init__(self, inner: LockDriver) -> None:
        self.inner = inner
        self.unlocked: list[int] = []

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Record, then pass the pulse on."""
        self.unlocked.append(compartment)
        await self.inner.unlock(compartment, pulse_ms)

    async def read_doors(self) -> dict[int, bool]:
        """Pass through."""
        return await self.inner.read_doors()

    async def all_relays_off(self) -> None:
        """Pass through."""
        await self.inner.all_relays_off()


@dataclass
class StepResult:
    """What one step did, for the report."""

    index: int
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """JSON shape of a step in ``scenario run --json``."""
        return {"index": self.index, "ok": self.ok, "detail": self.detail}


SITE_RULE_SECTIONS = ("recognition", "liveness", "policy", "timeouts")


def site_rules(path: Path) -> dict[str, Any]:
    """The decision sections of a site's configuration file, for a scenario to run under (validated).

    Only these: a scenario keeps its own compartments, data folder, log and simulated board, so it can never
    touch the site's log, vault or lock boards.
    """
    rules = {name: value for name, value in read_file(path).items() if name in SITE_RULE_SECTIONS}
    load_config(None, rules)  # one clear error for a bad file, before the scenario starts
    return rules


@dataclass
class ScenarioRun(LifecycleSteps):
    """Runs a scenario against a freshly built stack; ``restart`` rebuilds it from the same log.

    ``make_station(vault, config)`` builds the recognition station; the data directory (templates,
    master key, and the log unless ``db_url`` is given) is ``data_dir``.
    """

    scenario: Scenario
    data_dir: Path
    make_station: Callable[[SqliteTemplateStore, Config], FaceStation]
    db_url: str | None = None
    site_rules: Mapping[str, Any] = field(default_factory=dict)  # a site's decision sections (see site_rules)
    clock: FixedClock = field(default_factory=FixedClock)
    results: list[StepResult] = field(default_factory=list)
    issued_pins: list[str] = field(default_factory=list)  # by deposit step, "" where none was given
    final: list[dict[str, Any]] = field(default_factory=list)
    _stack: Stack | None = None
    _station: FaceStation | None = None
    _locks: RecordingLocks | None = None
    _config: Config | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def ok(self) -> bool:
        """Every step and every expectation held."""
        return all(result.ok for result in self.results)

    @property
    def stack(self) -> Stack:
        """The running stack."""
        assert self._stack is not None, "the scenario is not running"
        return self._stack

    async def run(self) -> list[StepResult]:
        """Run every step (a failed expectation does not stop the run), then check the log; returns the results."""
        overrides = {
            "bank": {"compartments": self.scenario.compartments, "data_dir": str(self.data_dir)},
            "simulator": {"behaviour": "stay-closed"},
        }
        base = deep_merge(self.site_rules, overrides)
        self._config = load_config(None, deep_merge(base, self.scenario.config))
        self.db_url = self.db_url or f"sqlite:///{self.data_dir / 'scenario.db'}"
        simulator = await start_simulator(self._config)
        try:
            await self._start(simulator)
            await self._run_steps()
            self.results.append(self._check_log(len(self.scenario.steps)))
            self.final = summary(self.stack.views.status()["compartments"])
        finally:
            self._stop()
            await simulator.stop()
        return self.results

    async def _run_steps(self) -> None:
        last_unlocked: list[int] = []
        for step in self.scenario.steps:
            if step.kind == "expect":
                self.results.append(self._expect(step, last_unlocked))
                continue
            assert self._locks is not None
            self._locks.unlocked.clear()
            try:
                detail = await self._do(step)
            except LockerError as exc:
                self.results.append(StepResult(step.index, False, f"{step.kind} failed: {exc}"))
                continue
            await self._settle()
            last_unlocked = sorted(self._locks.unlocked)
            self.results.append(StepResult(step.index, True, detail))

    def _check_log(self, index: int) -> StepResult:
        """After the run: the audit passes and a replay of the log equals the live state."""
        stack = self.stack
        report = audit.verify(stack.store.read_raw(), event_decoder())
        differing = stack.views.replay_differences()
        problems = ([] if report.ok else [f"audit failed at position {report.first_bad_position}"]) + (
            [f"replay differs from the live state for {differing}"] if differing else []
        )
        detail = "; ".join(problems) or f"audit ok over {report.events} events; replay equals the live state"
        return StepResult(index, not problems, detail)

    def _next_id(self) -> str:
        return f"sc-{next(self._ids)}"

    @property
    def station(self) -> FaceStation:
        """The recognition station of the running stack."""
        assert self._station is not None, "the scenario is not running"
        return self._station

    async def _start(self, simulator: LockBoardSimulator | None) -> None:
        assert self._config is not None
        vault = open_vault(self._config, simulate=True)
        self._station = self.make_station(vault, self._config)
        overrides = Overrides(
            db_url=self.db_url,
            clock=self.clock,
            simulator=simulator,
            vault=vault,
            wrap_locks=self._recording,
            make_id=self._next_id,
        )
        stack = build_bank(self._config, self._station, overrides)
        stack.adopt(vault)
        self._stack = stack
        self._poller = stack.poller(self._on_sensor, debounce_polls=1)
        await stack.bank.boot()

    def _recording(self, locks: LockDriver) -> LockDriver:
        self._locks = RecordingLocks(locks)
        return self._locks

    async def _on_sensor(self, observation: SensorObservation) -> None:
        await self.stack.bank.on_sensor(observation)

    def _stop(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None

    async def _settle(self) -> None:
        """Let the simulator's timers run, read the doors once, and issue due timeouts."""
        await asyncio.sleep(0.05)
        await self._poller.poll_once()
        await self.stack.bank.tick(self.clock.now())

    async def _do(self, step: Step) -> str:
        handler: Callable[[Step], Awaitable[str]] = getattr(self, f"_step_{step.kind}")
        return await handler(step)

    def _frames(self, step: Step) -> list[tuple[float, Image]]:
        """The step's frames, each with the seconds that pass on the clock before it arrives."""
        from recognition.pipeline.images import load_image
        from recognition.recording import read_segment

        spec = camera_spec(self.scenario, step)
        if spec is None:
            return [(FRAME_INTERVAL_S, load_image(self.scenario.image(name, step))) for name in step.arg]
        frames = read_segment(spec.path, spec.from_s, spec.to_s, spec.fps)
        first = FRAME_INTERVAL_S if spec.fps is None else 1.0 / spec.fps
        gaps = [first] + [b.at_s - a.at_s for a, b in zip(frames, frames[1:], strict=False)]
        return [(gap, frame.image) for gap, frame in zip(gaps, frames, strict=True)]

    async def _step_deposit(self, step: Step) -> str:
        frames = await asyncio.to_thread(self._frames, step)

        async def enrol() -> StoredEnrolment:
            enrolment = await asyncio.to_thread(self.station.enrol, [image for _, image in frames])
            self.clock.advance(sum(gap for gap, _ in frames))
            return enrolment

        try:
            receipt = await self.stack.bank.enrol_and_deposit(EnrolWith(enrol))
        except BaseException:
            self.issued_pins.append("")
            raise
        self.issued_pins.append(receipt.pin)
        return f"deposit assigned compartment {receipt.compartment_id}"

    async def _step_show(self, step: Step) -> str:
        frames = await asyncio.to_thread(self._frames, step)
        matched, faceless = [], 0
        for gap, image in frames:
            self.clock.advance(gap)
            now_s = self.clock.now().timestamp()
            match = await asyncio.to_thread(self.station.match, image, now_s)
            if match is None:
                faceless += 1
                continue
            matched.append(f"{match.compartment_id or '-'}@{match.evidence.distance:.3f}")
            await self.stack.bank.on_face(match, now_s)
        shown = f"{len(frames)} frames shown ({faceless} without a usable face or template)"
        return f"{shown}; matches: {', '.join(matched) or 'none'}"

    async def _step_door(self, step: Step) -> str:
        simulator = self.stack.simulator
        assert simulator is not None
        action, compartment = step.arg["action"], step.arg["compartment"]
        simulated_door(simulator, compartment, action)
        return f"door {compartment}: {action}"

    async def _step_wait(self, step: Step) -> str:
        self.clock.advance(float(step.arg))
        applied = await self.stack.bank.tick(self.clock.now())
        return f"waited {step.arg} s; {applied} timeouts applied"

    async def _step_operator(self, step: Step) -> str:
        arg, bank = step.arg, self.stack.bank
        if "clear" in arg:
            await bank.clear_alarm(
                str(arg["clear"]), arg["operator"], str(arg.get("note", "")), bool(arg.get("release", False))
            )
            return f"operator {arg['operator']} cleared compartment {arg['clear']}"
        if "unlock" in arg:
            await bank.maintenance_unlock(str(arg["unlock"]), arg["operator"], str(arg.get("note", "")))
            return f"operator {arg['operator']} unlocked compartment {arg['unlock']}"
        await bank.take_out_of_service(str(arg["out_of_service"]), arg["operator"], str(arg.get("note", "")))
        return f"operator {arg['operator']} took compartment {arg['out_of_service']} out of service"

    async def _step_plc(self, step: Step) -> str:
        simulator = self.stack.simulator
        assert simulator is not None
        simulator.faults.silent = step.arg == "disconnect"
        if step.arg == "disconnect":
            simulator.drop_all_connections()
        return f"lock board {step.arg}ed"

    async def _step_restart(self, step: Step) -> str:
        simulator = self.stack.simulator
        self._stop()
        await self._start(simulator)
        return "controller restarted from the log"

    def _expect(self, step: Step, last_unlocked: list[int]) -> StepResult:
        problems: list[str] = []
        spec, compartments = step.arg, self.stack.views.summaries()
        if "unlocked" in spec and sorted(spec["unlocked"]) != last_unlocked:
            problems.append(f"unlocked {last_unlocked}, expected {sorted(spec['unlocked'])}")
        for cid, state in (spec.get("states") or {}).items():
            actual = compartments[str(cid)]["state"] if str(cid) in compartments else "missing"
            if actual != state:
                problems.append(f"compartment {cid} is {actual}, expected {state}")
        for cid, reason in (spec.get("alarms") or {}).items():
            actual = (compartments[str(cid)]["alarm"] or "") if str(cid) in compartments else "missing"
            if actual != reason:
                problems.append(f"compartment {cid} alarm is {actual or 'none'}, expected {reason}")
        if spec.get("audit"):
            report = audit.verify(self.stack.store.read_raw(), event_decoder())
            if not report.ok:
                problems.append(f"audit failed at position {report.first_bad_position}")
        return StepResult(step.index, not problems, "; ".join(problems) or "as expected")


def summary(rows: Sequence[Mapping[str, object]]) -> list[dict[str, Any]]:
    """Final states in the report's shape: each row of the status view cut to its id, state and version."""
    return [{key: row[key] for key in ("id", "state", "version")} for row in rows]
