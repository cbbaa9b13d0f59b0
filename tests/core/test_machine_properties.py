"""Hypothesis drives random command sequences through the real core and checks its invariants."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from transitions import Machine

from controller.domain import commands as c
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import Unlock, effects_of
from controller.domain.errors import TransitionRejected
from controller.domain.events import AlarmCleared, DepositStarted, Event, IdentityConfirmed
from controller.domain.evidence import Evidence
from controller.ports import FixedClock
from tests.core.helpers import CID

SUBJECTS = st.sampled_from(["alice", "bob"])


class CompartmentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock()
        self.live = Compartment(CID, Policy(max_failed_verifications=3))
        self.log: list[Event] = []
        self.unlock_ids: list[str] = []
        self.counter = 0

    def _next_id(self) -> str:
        self.counter += 1
        return f"u-{self.counter}"

    def _try(self, command: c.Command) -> None:
        before = self.live.state
        try:
            events = self.live.decide(command, self.clock)
        except TransitionRejected:
            return
        self.log.extend(events)
        for unlock in (e for e in effects_of(events) if isinstance(e, Unlock)):
            self.unlock_ids.append(unlock.unlock_id)
        if before == "alarm" and self.live.state != "alarm":
            assert any(isinstance(e, AlarmCleared) for e in events), "left alarm without an operator"

    @rule(subject=SUBJECTS)
    def deposit(self, subject: str) -> None:
        self._try(
            c.StartDeposit(
                compartment_id=CID,
                subject_id=subject,
                template_ref=f"t-{subject}",
                model_version="m",
                unlock_id=self._next_id(),
            )
        )

    @rule(outcome=st.sampled_from(["sent", "sent", "not_sent", "unknown"]))
    def unlock_outcome(self, outcome: str) -> None:
        self._try(c.RecordUnlockOutcome(compartment_id=CID, unlock_id=self.live.unlock_id, outcome=outcome))

    @rule(is_open=st.booleans())
    def door(self, is_open: bool) -> None:
        self._try(c.ObserveDoor(compartment_id=CID, is_open=is_open))

    @rule(distance=st.floats(0.0, 1.0))
    def start_verification(self, distance: float) -> None:
        evidence = Evidence(distance=distance, threshold=0.45, model_version="m")
        self._try(c.StartVerification(compartment_id=CID, evidence=evidence))

    @rule(subject=SUBJECTS, distance=st.floats(0.0, 1.0))
    def confirm(self, subject: str, distance: float) -> None:
        self._try(
            c.ConfirmIdentity(
                compartment_id=CID,
                evidence=Evidence(
                    subject_id=subject,
                    distance=distance,
                    threshold=0.45,
                    margin=0.1,
                    frames_agreeing=3,
                    frames_considered=3,
                    model_version="m",
                ),
                unlock_id=self._next_id(),
            )
        )

    @rule()
    def reject(self) -> None:
        evidence = Evidence(distance=None, threshold=0.45, model_version="m")
        self._try(c.RejectIdentity(compartment_id=CID, reason="x", evidence=evidence))

    @rule(kind=st.sampled_from(["verification", "unlock", "door"]))
    def timeout(self, kind: str) -> None:
        command: c.Command = {
            "verification": c.ExpireVerification(compartment_id=CID),
            "unlock": c.ExpireUnlock(compartment_id=CID, unlock_id=self.live.unlock_id),
            "door": c.ExpireDoorOpen(compartment_id=CID),
        }[kind]
        self._try(command)

    @rule(release=st.booleans())
    def operator(self, release: bool) -> None:
        self._try(c.ClearAlarm(compartment_id=CID, operator_id="ops", release=release))

    @rule()
    def board_fault(self) -> None:
        self._try(c.ReportBoardFault(compartment_id=CID, detail="lost"))

    @invariant()
    def replay_equals_live(self) -> None:
        replayed = Compartment.replay(CID, self.log)
        assert replayed.state == self.live.state
        assert vars_of(replayed) == vars_of(self.live)

    @invariant()
    def lean_machine_agrees_with_stock_transitions(self) -> None:
        reference = ReferenceCompartment.replay(CID, self.log)
        assert vars_of(reference) == vars_of(self.live)
        assert reference.state == self.live.state

    @invariant()
    def versions_are_contiguous(self) -> None:
        assert [e.version for e in self.log] == list(range(1, len(self.log) + 1))

    @invariant()
    def every_unlock_has_a_cause_and_is_unique(self) -> None:
        caused = [e.unlock_id for e in self.log if isinstance(e, DepositStarted | IdentityConfirmed)]
        assert self.unlock_ids == caused
        assert len(set(caused)) == len(caused)
        for event in self.log:
            if isinstance(event, IdentityConfirmed):
                assert event.evidence.within_threshold()


class ReferenceCompartment(Compartment):
    """The same table run by transitions' stock Machine, Event and Transition classes."""

    machine_cls = Machine


FIELDS = (
    "version",
    "subject_id",
    "template_ref",
    "purpose",
    "unlock_id",
    "pulse_confirmed",
    "door_open",
    "failed_attempts",
    "alarm_reason",
)


def vars_of(compartment: Compartment) -> tuple[object, ...]:
    return tuple(getattr(compartment, name) for name in FIELDS)


CompartmentMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestCompartmentMachine = CompartmentMachine.TestCase
