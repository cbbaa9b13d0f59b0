"""Running scenario files in-process on the real stack, and checking the log they leave behind.

Everything is real: the recognition pipeline (one per process, cached by ``daemon_cli._pipeline``),
the Modbus simulator on loopback, the SQLite event log and the encrypted template vault. The checks
after a run do not trust the runner's own final step: they reopen the log and the vault from disk.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.app.bootstrap import event_decoder, open_event_store
from controller.app.cli.run import make_station
from controller.app.config.loader import load_config
from controller.app.scenario.runner import Scenario, ScenarioRun, Step, load_scenario
from controller.app.stack import open_vault
from controller.domain import events as ev
from controller.ports import StoredEvent
from controller.service import audit
from tests.conftest import REPO_ROOT

SCENARIOS = REPO_ROOT / "scenarios"


class UnlockLog:
    """A lock driver wrapper that remembers every unlock the service asked for, across restarts."""

    def __init__(self, inner: Any, run: TracedRun) -> None:
        self.inner = inner
        self.run = run

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Record the attempt (and the step that caused it), then pass it on."""
        self.run.unlock_calls.append(compartment)
        self.run.unlock_steps.append((self.run.current_step, compartment))
        await self.inner.unlock(compartment, pulse_ms)

    async def read_doors(self) -> dict[int, bool]:
        """Pass through."""
        return dict(await self.inner.read_doors())

    async def all_relays_off(self) -> None:
        """Pass through."""
        await self.inner.all_relays_off()


@dataclass
class TracedRun(ScenarioRun):
    """``ScenarioRun`` that also records every unlock attempt of the whole run (all restarts)."""

    unlock_calls: list[int] = field(default_factory=list)
    unlock_steps: list[tuple[int, int]] = field(default_factory=list)
    current_step: int = -1
    starts: int = 0

    async def _start(self, simulator: Any) -> None:
        await super()._start(simulator)
        self.starts += 1
        locks = self._locks
        assert locks is not None
        locks.inner = self.wrap_driver(locks.inner, simulator)

    async def _do(self, step: Step) -> str:
        self.current_step = step.index
        return await super()._do(step)

    def wrap_driver(self, driver: Any, simulator: Any) -> Any:
        """The driver the service talks to (through the runner's recorder); subclasses inject faults."""
        return UnlockLog(driver, self)


@dataclass
class Outcome:
    """A finished run and what it left on disk."""

    run: TracedRun
    stored: list[StoredEvent]
    audit_report: audit.AuditReport
    vault_refs: set[str]
    pin_refs: set[str] = field(default_factory=set)

    @property
    def events(self) -> list[ev.Event]:
        """Every event of the log, in position order."""
        return [s.event for s in self.stored]

    def of_type(self, kind: type[ev.Event]) -> list[Any]:
        """The events of one type, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def failures(self) -> list[str]:
        """The runner's failed steps, readable."""
        return [f"step {r.index}: {r.detail}" for r in self.run.results if not r.ok]


def run_scenario(
    source: Path | Scenario, data_dir: Path, run_type: type[TracedRun] = TracedRun, **kwargs: Any
) -> Outcome:
    """Run a scenario file (or a parsed scenario) to the end and reopen what it left on disk."""
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    run = run_type(scenario, data_dir, make_station, **kwargs)
    asyncio.run(run.run())
    assert run.db_url is not None
    store = open_event_store(run.db_url, create=False)
    try:
        stored = list(store.read_all())
        report = audit.verify(store.read_raw(), event_decoder())
    finally:
        store.close()
    config = load_config(None, {"bank": {"data_dir": str(data_dir)}})
    vault = open_vault(config, simulate=True)
    try:
        refs, pins = set(vault.refs()), set(vault.pin_refs())
    finally:
        vault.close()
    return Outcome(run, stored, report, refs, pins)


def check_invariants(outcome: Outcome) -> None:
    """What must hold after any scenario, whatever happened in it (DESIGN.md's invariants)."""
    run = outcome.run
    final_check = run.results[-1]
    assert final_check.index == len(run.scenario.steps), "the runner's final log check is missing"
    assert final_check.ok, final_check.detail
    assert "audit ok" in final_check.detail and "replay equals the live state" in final_check.detail

    # Audit from disk, independently of the runner: chain, hashes, contiguous versions, valid replay.
    assert outcome.audit_report.ok, outcome.audit_report.problems
    assert outcome.audit_report.events == len(outcome.stored) > 0

    # Positions are gapless and every compartment's versions run 1..n in position order.
    positions = [s.position for s in outcome.stored]
    assert positions == list(range(positions[0], positions[0] + len(positions)))
    versions: dict[str, list[int]] = {}
    for event in outcome.events:
        versions.setdefault(event.compartment_id, []).append(event.version)
    for cid, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"compartment {cid}: versions {seen}"

    # Replay of the log from disk equals the live state the runner reported, for every compartment.
    replayed = audit.fold(outcome.stored)
    replay_summary = [
        {"id": cid, "state": str(replayed[cid].state), "version": replayed[cid].version}
        if cid in replayed
        else {"id": cid, "state": "free", "version": 0}
        for cid in (k["id"] for k in run.final)
    ]
    assert replay_summary == run.final
    assert len(run.final) == run.scenario.compartments

    # Unlocks: one attempt per decision, across restarts; a pulse is acknowledged at most once.
    unlocking = ev.DepositStarted | ev.IdentityConfirmed | ev.PinConfirmed | ev.MaintenanceUnlocked
    decisions = [e for e in outcome.events if isinstance(e, unlocking)]
    unlock_ids = [e.unlock_id for e in decisions]
    assert len(set(unlock_ids)) == len(unlock_ids), "an unlock id was reused"
    assert sorted(run.unlock_calls) == sorted(int(e.compartment_id) for e in decisions), (
        f"driver unlocks {run.unlock_calls} vs decisions {[e.compartment_id for e in decisions]}"
    )
    acknowledged = Counter(e.unlock_id for e in outcome.of_type(ev.UnlockPulseSent))
    assert all(n == 1 for n in acknowledged.values()) and set(acknowledged) <= set(unlock_ids)

    # Evidence, not biometrics: payloads are short primitives, never vectors.
    for event in outcome.events:
        for name, value in event.payload().items():
            assert value is None or isinstance(value, str | int | float), f"{type(event).__name__}.{name}"

    # Crypto-shredding: the vault holds exactly the templates (faces not erased) and PIN hashes of
    # compartments that still hold an item.
    held = {k.template_ref for k in replayed.values() if k.template_ref and not k.face_erased}
    assert outcome.vault_refs == held
    assert outcome.pin_refs == {k.pin_ref for k in replayed.values() if k.pin_ref}


def person(image: str) -> str:
    """The identity of an LFW image path: its folder's name."""
    return Path(image).parent.name


def check_doors(outcome: Outcome) -> None:
    """No wrong door: every unlock went to the compartment of the person in front of the camera.

    A deposit's unlock goes to the compartment it was assigned; a retrieval's unlock (during a ``show``)
    goes to a compartment whose current depositor is among the people shown in that step.
    """
    run, owners, deposits = outcome.run, {}, []
    steps = {step.index: step for step in run.scenario.steps}
    results = {r.index: r for r in run.results}
    unlocks_by_step: dict[int, list[int]] = {}
    for index, compartment in run.unlock_steps:
        unlocks_by_step.setdefault(index, []).append(compartment)
    for index, step in sorted(steps.items()):
        unlocked = unlocks_by_step.get(index, [])
        if step.kind == "deposit" and results[index].ok:
            assigned = int(results[index].detail.rsplit(" ", 1)[-1])
            deposits.append(assigned)
            owners[assigned] = {person(name) for name in step.arg}
            assert len(owners[assigned]) == 1, f"step {index}: a deposit shows one person"
            assert unlocked == [assigned], f"step {index}: deposit to {assigned} unlocked {unlocked}"
        elif step.kind == "show":
            shown = {person(name) for name in step.arg}
            for compartment in unlocked:
                assert owners.get(compartment, set()) & shown, (
                    f"step {index}: {sorted(shown)} opened compartment {compartment} of {owners.get(compartment)}"
                )
        elif step.kind == "pin" and unlocked:
            # A PIN opens the compartment of the deposit that issued it, and nothing else.
            assert "from_deposit" in step.arg, f"step {index}: a made-up code opened {unlocked}"
            assert unlocked == [deposits[step.arg["from_deposit"] - 1]], f"step {index}: PIN opened {unlocked}"
        elif step.kind == "operator" and "unlock" in step.arg:
            assert unlocked == [step.arg["unlock"]], f"step {index}: maintenance unlock opened {unlocked}"
        else:
            assert not unlocked, f"step {index} ({step.kind}) sent unlocks {unlocked}"


def assert_passed(outcome: Outcome) -> None:
    """Every expectation of the file held, and the invariants hold."""
    assert not outcome.failures(), "\n".join(outcome.failures())
    check_invariants(outcome)
    check_doors(outcome)


def confirmations(outcome: Outcome) -> list[tuple[str, float]]:
    """(compartment, distance) of every identity confirmation, in order."""
    return [(e.compartment_id, e.evidence.distance) for e in outcome.of_type(ev.IdentityConfirmed)]
