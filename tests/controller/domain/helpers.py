"""Builders for core tests: commands with sensible defaults and a tiny in-test event log."""

from __future__ import annotations

from controller.domain import commands as c
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
