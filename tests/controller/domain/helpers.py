"""Builders for core tests: commands with sensible defaults and a tiny in-test event log."""

from __future__ import annotations

from typing import Any

from hypothesis import event as hypothesis_event
from transitions import Machine

from controller.domain import commands as c
from controller.domain import events as ev
from controller.domain.compartment import Compartment, Policy
from controller.domain.events import Event
from controller.domain.evidence import Evidence
from controller.ports import FixedClock

CID = "1"


class Driven:
    """A compartment driven by commands, keeping every event it produced (the log of one stream)."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.clock = FixedClock()
        self.compartment = Compartment(CID, policy)
        self.log: list[Event] = []

    def do(self, command: c.Command) -> list[Event]:
        events = self.compartment.decide(command, self.clock)
        self.log.extend(events)
        return events

    def names(self, command: c.Command) -> list[str]:
        return [type(e).__name__ for e in self.do(command)]

    @property
    def state(self) -> str:
        return str(self.compartment.state)


def deposit(unlock_id: str = "u-1", subject: str = "alice") -> c.StartDeposit:
    return c.StartDeposit(
        compartment_id=CID, subject_id=subject, template_ref=f"tpl-{subject}", model_version="m@1", unlock_id=unlock_id
    )


def sent(unlock_id: str = "u-1", outcome: str = "sent") -> c.RecordUnlockOutcome:
    return c.RecordUnlockOutcome(compartment_id=CID, unlock_id=unlock_id, outcome=outcome)


def door(is_open: bool) -> c.ObserveDoor:
    return c.ObserveDoor(compartment_id=CID, is_open=is_open)


def verify(distance: float = 0.3) -> c.StartVerification:
    evidence = Evidence(subject_id="alice", distance=distance, threshold=0.45, model_version="m@1")
    return c.StartVerification(compartment_id=CID, evidence=evidence)


def confirm(unlock_id: str = "u-2", subject: str = "alice", distance: float = 0.3) -> c.ConfirmIdentity:
    return c.ConfirmIdentity(
        compartment_id=CID,
        evidence=Evidence(
            subject_id=subject,
            distance=distance,
            runner_up_distance=0.9,
            threshold=0.45,
            margin=0.1,
            frames_agreeing=3,
            frames_considered=4,
            model_version="m@1",
        ),
        unlock_id=unlock_id,
    )


def reject() -> c.RejectIdentity:
    evidence = Evidence(distance=0.6, threshold=0.45, model_version="m@1")
    return c.RejectIdentity(compartment_id=CID, reason="no_agreement", evidence=evidence)


def clear(release: bool = False) -> c.ClearAlarm:
    return c.ClearAlarm(compartment_id=CID, operator_id="ops-1", note="checked", release=release)


def occupied(driven: Driven) -> Driven:
    for command in (deposit(), sent(), door(True), door(False)):
        driven.do(command)
    return driven


# ------------------------------------------------- the property test's judges (test_machine_properties)
def armed_by_current_flow(log: list[Event], command: c.Command) -> bool:
    """Whether the flow that armed ``command`` is still the live one, judged from the log alone."""
    if isinstance(command, c.ExpireDoorOpen):
        after = [e for e in log if e.version > command.opening_version]
        return not any(isinstance(e, ev.DoorClosed) for e in after)
    if isinstance(command, c.ExpireVerification):
        ends = (ev.IdentityRejected, ev.IdentityConfirmed, ev.PinConfirmed, ev.VerificationTimedOut, ev.AlarmRaised)
        return not any(isinstance(e, ends) for e in log if e.version > command.attempt_version)
    assert isinstance(command, c.ExpireUnlock)
    decisions = [e for e in log if isinstance(e, ev.DepositStarted | ev.IdentityConfirmed | ev.PinConfirmed)]
    if not decisions or decisions[-1].unlock_id != command.unlock_id:
        return False
    ends = (ev.DoorOpened, ev.UnlockExpired, ev.AlarmRaised)
    return not any(isinstance(e, ends) for e in log if e.version > decisions[-1].version)


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
    "opening_version",
    "attempt_version",
    "used_unlock_ids",
    "board_fault_only",
    "pin_ref",
    "face_erased",
    "pin_verified",
    "deposit_version",
    "deposited_at",
)


def vars_of(compartment: Compartment) -> tuple[object, ...]:
    return tuple(getattr(compartment, name) for name in FIELDS)


FLOWS = frozenset({
    "owner confirmed while verifying",
    "non-owner refused while verifying",
    "verification timed out while verifying",
    "item retrieved",
    "retrieval by PIN",
    "face and PIN: PIN then face",
    "face and PIN: face alone refused",
    "face and PIN: an unused opening asks for the PIN again",
    "stale timer ignored",
    "alarm cleared by an operator",
    "restart mid-flow",
})
"""The flows the invariants need: each must be reached by some run, or an invariant could not fail."""
REACHED: set[str] = set()


def reached(flow: str) -> None:
    """Record a flow this run reached (for the statistics and for the coverage check)."""
    assert flow in FLOWS, flow
    REACHED.add(flow)
    hypothesis_event(flow)


ALARM_PATIENCE = 3
"""Steps a run may spend in alarm before only alarm-ending rules may run."""


def not_stuck_in_alarm(machine: Any) -> bool:
    """Whether a flow rule may run: not after ``ALARM_PATIENCE`` steps in alarm."""
    return bool(machine.alarm_steps < ALARM_PATIENCE)
