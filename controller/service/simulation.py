"""Random but valid command sequences through the real core: demo logs, benchmarks, audits."""

from __future__ import annotations

import random
from collections.abc import Callable

from controller.domain import commands as c
from controller.domain.compartment import Compartment
from controller.domain.errors import TransitionRejected
from controller.domain.evidence import Evidence
from controller.domain.states import CompartmentState as S
from controller.ports import EventStore, FixedClock
from controller.service.bank import LockerBank
from controller.service.compartments import CompartmentService

SUBJECTS = ("alice", "bob", "chen", "dae-jung", "eun-ji", "farid", "grace", "hiro")
MODEL = "simulated@1"


class ForgetfulVault:
    """Simulated histories hold no real templates: destroying one is a no-op."""

    def destroy(self, template_ref: str) -> None:
        """Nothing to shred."""


class NoGallery:
    """Simulated histories identify nobody."""

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        """Nothing to compare with."""

    def remove(self, compartment_id: str) -> None:
        """Nothing to forget."""


def resume_clock(store: EventStore) -> FixedClock:
    """A simulated clock that continues after the newest event of the log (or starts at its default)."""
    clock = FixedClock()
    for stored in store.read_all():
        clock.current = max(clock.current, stored.event.occurred_at)
    return clock


def _serial(generated_id: str) -> int:
    """The counter in an id this simulator made (``unlock-17`` is 17); 0 for any other id."""
    tail = generated_id.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


class HistorySimulator:
    """Picks, for a random compartment, a command that makes sense in its state, and runs it."""

    def __init__(self, service: CompartmentService, clock: FixedClock, seed: int) -> None:
        self.service = service
        self.clock = clock
        self.rng = random.Random(seed)
        # Continue after the ids the log already holds, so a restarted history never reuses an unlock id.
        self.ids = max((_serial(u) for k in service.compartments.values() for u in k.used_unlock_ids), default=0)

    @classmethod
    def of_bank(cls, bank: LockerBank, clock: FixedClock, seed: int) -> HistorySimulator:
        """A simulator that drives ``bank``'s compartments directly, past its flows."""
        return cls(bank._service, clock, seed)  # the service is private to this layer, not to the bank

    def _next_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}-{self.ids}"

    async def run(self, steps: int) -> int:
        """Run ``steps`` commands; returns how many were rejected (stale timeouts and the like)."""
        rejected = 0
        compartment_ids = sorted(self.service.compartments)
        for _ in range(steps):
            self.clock.advance(self.rng.uniform(0.5, 30.0))
            compartment = self.service.get(self.rng.choice(compartment_ids))
            try:
                await self.service.handle(self._command_for(compartment))
            except TransitionRejected:
                rejected += 1
        return rejected

    def _command_for(self, compartment: Compartment) -> c.Command:
        choices: dict[S, Callable[[Compartment], c.Command]] = {
            S.FREE: self._when_free,
            S.OPEN: self._when_open,
            S.OCCUPIED: self._when_occupied,
            S.VERIFYING: self._when_verifying,
            S.ALARM: self._when_alarm,
        }
        return choices[compartment.state](compartment)

    def _door(self, compartment: Compartment, is_open: bool) -> c.Command:
        return c.ObserveDoor(compartment_id=compartment.compartment_id, is_open=is_open)

    def _when_free(self, compartment: Compartment) -> c.Command:
        if self.rng.random() < 0.02:
            return self._door(compartment, True)
        subject = self.rng.choice(SUBJECTS)
        return c.StartDeposit(
            compartment_id=compartment.compartment_id,
            correlation_id=self._next_id("flow"),
            subject_id=subject,
            template_ref=self._next_id("tpl"),
            model_version=MODEL,
            unlock_id=self._next_id("unlock"),
        )

    def _when_open(self, compartment: Compartment) -> c.Command:
        roll = self.rng.random()
        cid = compartment.compartment_id
        if compartment.door_open:
            expire = c.ExpireDoorOpen(compartment_id=cid, opening_version=compartment.opening_version)
            return expire if roll < 0.05 else self._door(compartment, False)
        if roll < 0.08:
            return c.ExpireUnlock(compartment_id=cid, unlock_id=compartment.unlock_id)
        return self._door(compartment, True)

    def _when_occupied(self, compartment: Compartment) -> c.Command:
        if self.rng.random() < 0.02:
            return c.ReportBoardFault(compartment_id=compartment.compartment_id, detail="simulated timeout")
        distance = round(self.rng.uniform(0.2, 0.6), 4)
        evidence = Evidence(subject_id=compartment.subject_id, distance=distance, threshold=0.45, model_version=MODEL)
        return c.StartVerification(compartment_id=compartment.compartment_id, evidence=evidence)

    def _when_verifying(self, compartment: Compartment) -> c.Command:
        roll, cid = self.rng.random(), compartment.compartment_id
        if roll < 0.2:
            evidence = Evidence(distance=0.52, threshold=0.45, model_version=MODEL)
            return c.RejectIdentity(compartment_id=cid, reason="no_agreement", evidence=evidence)
        if roll < 0.3:
            return c.ExpireVerification(compartment_id=cid, attempt_version=compartment.attempt_version)
        return c.ConfirmIdentity(
            compartment_id=cid,
            correlation_id=self._next_id("flow"),
            evidence=Evidence(
                subject_id=compartment.subject_id,
                distance=round(self.rng.uniform(0.15, 0.4), 4),
                runner_up_distance=round(self.rng.uniform(0.6, 1.0), 4),
                threshold=0.45,
                margin=0.1,
                frames_agreeing=3,
                frames_considered=4,
                model_version=MODEL,
            ),
            unlock_id=self._next_id("unlock"),
        )

    def _when_alarm(self, compartment: Compartment) -> c.Command:
        if compartment.door_open:
            return self._door(compartment, False)
        return c.ClearAlarm(
            compartment_id=compartment.compartment_id,
            operator_id="ops-sim",
            note="simulated check",
            release=self.rng.random() < 0.3,
        )
