"""The compartment aggregate: ``decide`` turns a command into events, ``apply`` folds one event.

``apply`` is the only place where state changes; it fires the event's trigger on a ``transitions``
machine whose callbacks only copy facts from the event. ``decide`` validates, builds events with
time from the injected clock, applies them and returns them; the service appends them and only
then runs the effects they call for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.errors import Refusal, TransitionRejected
from controller.domain.fold import CompartmentFacts, CompartmentMachine
from controller.domain.lifecycle import Retrieval
from controller.domain.machine import TRANSITIONS, with_recorders
from controller.domain.states import CompartmentState
from controller.ports import Clock


@dataclass(frozen=True, slots=True)
class Policy:
    """Site rules the core applies when it decides."""

    pulse_ms: int = 500
    max_failed_verifications: int = 3
    max_presentation_attacks: int = 2
    """Consecutive attempts judged attacks (photograph, screen, replay) that raise an alarm."""
    retrieval: str = Retrieval.FACE_OR_PIN
    """What opens a compartment for retrieval: a ``lifecycle.Retrieval`` value."""


class Compartment(CompartmentFacts):
    """One compartment: its state, the facts that state rests on, and its stream version."""

    state: CompartmentState
    policy: Policy
    machine_cls: type[Machine] = CompartmentMachine

    def __init__(self, compartment_id: str, policy: Policy | None = None) -> None:
        self.compartment_id = compartment_id
        self.policy = policy or Policy()
        self.version = 0
        self.subject_id = ""
        self.template_ref = ""
        self.model_version = ""
        self.purpose = ""
        self.unlock_id = ""
        self.pulse_confirmed = False
        self.door_open = False
        self.failed_attempts = 0
        self.attacks = 0
        self.alarm_reason = ""
        self.alarm_detail = ""
        self.flow_id = ""
        self.board_fault_only = False
        self.opening_version = 0
        self.attempt_version = 0
        self.used_unlock_ids: set[str] = set()
        self._init_lifecycle()
        self.machine_cls(
            model=self,
            states=CompartmentState,
            transitions=with_recorders(TRANSITIONS),
            initial=CompartmentState.FREE,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            model_override=True,
        )

    def trigger(self, trigger_name: str, **kwargs: Any) -> bool:
        """Fire a transition (bound by ``transitions`` at construction)."""
        raise NotImplementedError  # pragma: no cover - replaced by the machine

    # ------------------------------------------------------------------ fold
    @classmethod
    def replay(cls, compartment_id: str, events: Iterable[ev.Event], policy: Policy | None = None) -> Compartment:
        """A fresh compartment with every event applied in order."""
        compartment = cls(compartment_id, policy)
        for event in events:
            compartment.apply(event)
        return compartment

    def apply(self, event: ev.Event) -> None:
        """Fold one event into the state; reject it if the table does not allow it here."""
        if event.compartment_id != self.compartment_id or event.version != self.version + 1:
            raise TransitionRejected(
                self.compartment_id,
                self.state,
                type(event).__name__,
                f"expected version {self.version + 1} of {self.compartment_id}, "
                f"got {event.version} of {event.compartment_id}",
            )
        try:
            moved = self.trigger(event.trigger, event=event)
        except MachineError as exc:
            raise TransitionRejected(self.compartment_id, self.state, type(event).__name__, exc.value) from exc
        if not moved:
            raise TransitionRejected(
                self.compartment_id, self.state, type(event).__name__, "its conditions do not hold"
            )
        self.version = event.version
        self.flow_id = event.correlation_id or self.flow_id

    # ---------------------------------------------------------------- decide
    def decide(self, command: cmd.Command, clock: Clock) -> list[ev.Event]:
        """Validate a command, build its events, apply them, return them (empty: nothing changed)."""
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise TransitionRejected(self.compartment_id, self.state, type(command).__name__, "unknown command")
        builder = _EventBuilder(self, command, clock)
        handler(self, command, builder)
        return builder.events

    def _require(self, command: cmd.Command, *states: CompartmentState) -> None:
        if self.state not in states:
            allowed = ", ".join(states)
            raise self._reject(command, f"only allowed in {allowed}")

    def _on_start_deposit(self, command: cmd.StartDeposit, out: _EventBuilder) -> None:
        self._require(command, CompartmentState.FREE)
        self._require_fresh_unlock(command)
        out.add(
            ev.DepositStarted,
            subject_id=command.subject_id,
            template_ref=command.template_ref,
            model_version=command.model_version,
            unlock_id=command.unlock_id,
            pulse_ms=self.policy.pulse_ms,
            enrolment_liveness=command.enrolment_liveness,
            pin_ref=command.pin_ref,
            consent_version=command.consent_version,
        )

    def _on_unlock_outcome(self, command: cmd.RecordUnlockOutcome, out: _EventBuilder) -> None:
        waiting = self.state in (CompartmentState.OPEN, CompartmentState.ALARM) and not self.pulse_confirmed
        if not command.unlock_id or command.unlock_id != self.unlock_id or not waiting:
            raise self._reject(command, f"no pending unlock {command.unlock_id!r}")
        if command.outcome == "sent":
            out.add(ev.UnlockPulseSent, unlock_id=command.unlock_id)
            return
        reasons = {"not_sent": ev.AlarmReason.UNLOCK_FAILED, "unknown": ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN}
        if command.outcome not in reasons:
            raise self._reject(command, f"unknown unlock outcome {command.outcome!r}")
        out.add(ev.AlarmRaised, reason=reasons[command.outcome], detail=command.detail)

    def _on_observe_door(self, command: cmd.ObserveDoor, out: _EventBuilder) -> None:
        if command.is_open == self.door_open:
            return
        if not command.is_open:
            out.add(ev.DoorClosed)
            if self.state == CompartmentState.OPEN:
                self._complete_access(out)
            return
        if self.state not in (CompartmentState.OPEN, CompartmentState.ALARM):
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.FORCED_OPEN, detail=f"door opened while {self.state}")
        out.add(ev.DoorOpened)

    def _complete_access(self, out: _EventBuilder) -> None:
        if self.purpose == ev.Purpose.DEPOSIT:
            out.add(ev.ItemDeposited)
        else:
            out.add(ev.ItemRetrieved, template_ref=self.template_ref, pin_ref=self.pin_ref)

    def _on_start_verification(self, command: cmd.StartVerification, out: _EventBuilder) -> None:
        self._require(command, CompartmentState.OCCUPIED)
        out.add(ev.VerificationStarted, evidence=command.evidence)

    def _on_confirm_identity(self, command: cmd.ConfirmIdentity, out: _EventBuilder) -> None:
        self._require(command, CompartmentState.VERIFYING)
        evidence = command.evidence
        if evidence.subject_id != self.subject_id:
            raise self._reject(command, "the identified subject does not own this compartment")
        if not evidence.within_threshold():
            seen = "unknown" if evidence.distance is None else f"{evidence.distance:.4f}"
            raise self._reject(command, f"distance {seen} is above {evidence.threshold:.4f}")
        if self.needs_pin():
            raise self._reject(command, "the site asks for the deposit's PIN as well as the face")
        self._require_fresh_unlock(command)
        out.add(
            ev.IdentityConfirmed,
            evidence=evidence,
            unlock_id=command.unlock_id,
            pulse_ms=self.policy.pulse_ms,
        )

    def _on_reject_identity(self, command: cmd.RejectIdentity, out: _EventBuilder) -> None:
        self._require(command, CompartmentState.VERIFYING)
        out.add(
            ev.IdentityRejected,
            reason=command.reason,
            evidence=command.evidence,
            failed_attempts=self.failed_attempts + 1,
        )
        # The rejection is applied already (record_reject_identity counts failures and consecutive attacks).
        if self.attacks >= self.policy.max_presentation_attacks:
            detail = f"{self.attacks} attempts judged presentation attacks ({command.evidence.liveness})"
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.PRESENTATION_ATTACK_SUSPECTED, detail=detail)
        elif self.failed_attempts >= self.policy.max_failed_verifications:
            detail = f"{self.failed_attempts} failed verifications"
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.LOCKOUT, detail=detail)

    # A timeout whose flow has moved on (another attempt, another opening, another unlock, or the
    # flow ended) is not an error: the timer simply lost its object, so it decides nothing.
    def _on_expire_verification(self, command: cmd.ExpireVerification, out: _EventBuilder) -> None:
        if self.state == CompartmentState.VERIFYING and command.attempt_version == self.attempt_version:
            out.add(ev.VerificationTimedOut)

    def _on_expire_unlock(self, command: cmd.ExpireUnlock, out: _EventBuilder) -> None:
        if self.state != CompartmentState.OPEN or command.unlock_id != self.unlock_id or self.door_open:
            return
        deposit = self.purpose == ev.Purpose.DEPOSIT
        out.add(
            ev.UnlockExpired,
            unlock_id=command.unlock_id,
            released_template_ref=self.template_ref if deposit else "",
            released_pin_ref=self.pin_ref if deposit else "",
        )

    def _on_expire_door_open(self, command: cmd.ExpireDoorOpen, out: _EventBuilder) -> None:
        if not self.door_open or self.state == CompartmentState.ALARM:
            return
        if command.opening_version == self.opening_version:
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.DOOR_LEFT_OPEN, detail="door left open too long")

    def _on_board_fault(self, command: cmd.ReportBoardFault, out: _EventBuilder) -> None:
        out.add(ev.AlarmRaised, reason=ev.AlarmReason.LOCK_BOARD_FAULT, detail=command.detail)

    def _on_reconcile(self, command: cmd.Reconcile, out: _EventBuilder) -> None:
        if self.state == CompartmentState.ALARM and self.alarm_reason == ev.AlarmReason.LOCK_BOARD_FAULT:
            self._board_back(command.door_is_open, out)  # a fault left by the last run: the board answers now
            return
        problems = []
        if command.door_is_open != self.door_open:
            seen, folded = _door_word(command.door_is_open), _door_word(self.door_open)
            problems.append(f"door is {seen} but the log says {folded}")
        if self.state == CompartmentState.OPEN and not self.pulse_confirmed:
            problems.append(f"unlock {self.unlock_id} was requested but never acknowledged before restart")
        if problems:
            reason = (
                ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN
                if self.state == CompartmentState.OPEN and not self.pulse_confirmed
                else ev.AlarmReason.RECONCILIATION_MISMATCH
            )
            out.add(ev.AlarmRaised, reason=reason, detail="; ".join(problems))

    def _on_clear_alarm(self, command: cmd.ClearAlarm, out: _EventBuilder) -> None:
        self._require(command, CompartmentState.ALARM)
        if not command.operator_id:
            raise self._reject(command, "an operator id is required")
        if self.door_open:
            raise self._reject(command, "close the door before clearing the alarm", Refusal.DOOR_OPEN)
        keeps_item = bool(self.template_ref) and not command.release
        out.add(
            ev.AlarmCleared,
            operator_id=command.operator_id,
            note=command.note,
            resume_state=CompartmentState.OCCUPIED if keeps_item else CompartmentState.FREE,
            released_template_ref=self.template_ref if command.release else "",
            released_pin_ref=self.pin_ref if command.release else "",
        )

    def _on_resolve_board_fault(self, command: cmd.ResolveBoardFault, out: _EventBuilder) -> None:
        if self.state != CompartmentState.ALARM or self.alarm_reason != ev.AlarmReason.LOCK_BOARD_FAULT:
            return  # nothing of the board's to resolve here
        self._board_back(command.door_is_open, out)

    def _board_back(self, door_is_open: bool, out: _EventBuilder) -> None:
        """End a board-fault alarm if the door reads as the log says; else record the mismatch."""
        if door_is_open != self.door_open:
            seen, folded = _door_word(door_is_open), _door_word(self.door_open)
            detail = f"board back: door is {seen} but the log says {folded}"
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.RECONCILIATION_MISMATCH, detail=detail)
        elif self.board_fault_only and not self.door_open:
            resume = CompartmentState.OCCUPIED if self.template_ref else CompartmentState.FREE
            out.add(ev.BoardFaultResolved, detail="board answers; door closed as the log expects", resume_state=resume)

    def _on_maintenance_unlock(self, command: cmd.MaintenanceUnlock, out: _EventBuilder) -> None:
        if not command.operator_id:
            raise self._reject(command, "an operator id is required")
        self._require_fresh_unlock(command)
        out.add(
            ev.MaintenanceUnlocked,
            operator_id=command.operator_id,
            unlock_id=command.unlock_id,
            pulse_ms=self.policy.pulse_ms,
            note=command.note,
        )

    def _on_out_of_service(self, command: cmd.TakeOutOfService, out: _EventBuilder) -> None:
        if not command.operator_id:
            raise self._reject(command, "an operator id is required")
        out.add(
            ev.AlarmRaised,
            reason=ev.AlarmReason.OUT_OF_SERVICE,
            detail=command.note or "taken out of service",
            operator_id=command.operator_id,
        )


def _door_word(is_open: bool) -> str:
    return "open" if is_open else "closed"


class _EventBuilder:
    """Builds the next events of one decision with consecutive versions and applies each at once."""

    def __init__(self, compartment: Compartment, command: cmd.Command, clock: Clock) -> None:
        self.compartment = compartment
        self.command = command
        self.occurred_at = clock.now()
        self.events: list[ev.Event] = []

    def add(self, event_type: type[ev.Event], **fields: Any) -> None:
        event = event_type(
            compartment_id=self.compartment.compartment_id,
            version=self.compartment.version + 1,
            occurred_at=self.occurred_at,
            correlation_id=self.command.correlation_id or self.compartment.flow_id,
            **fields,
        )
        self.compartment.apply(event)
        self.events.append(event)


_HANDLERS: dict[type[cmd.Command], Callable[[Compartment, Any, _EventBuilder], None]] = {
    cmd.StartDeposit: Compartment._on_start_deposit,
    cmd.RecordUnlockOutcome: Compartment._on_unlock_outcome,
    cmd.ObserveDoor: Compartment._on_observe_door,
    cmd.StartVerification: Compartment._on_start_verification,
    cmd.ConfirmIdentity: Compartment._on_confirm_identity,
    cmd.RejectIdentity: Compartment._on_reject_identity,
    cmd.ExpireVerification: Compartment._on_expire_verification,
    cmd.ExpireUnlock: Compartment._on_expire_unlock,
    cmd.ExpireDoorOpen: Compartment._on_expire_door_open,
    cmd.ReportBoardFault: Compartment._on_board_fault,
    cmd.Reconcile: Compartment._on_reconcile,
    cmd.ClearAlarm: Compartment._on_clear_alarm,
    cmd.TakeOutOfService: Compartment._on_out_of_service,
    cmd.ResolveBoardFault: Compartment._on_resolve_board_fault,
    cmd.MaintenanceUnlock: Compartment._on_maintenance_unlock,
    cmd.ConfirmPin: Compartment._on_confirm_pin,
    cmd.VerifyPin: Compartment._on_verify_pin,
    cmd.ReportWrongPins: Compartment._on_report_wrong_pins,
    cmd.EraseFace: Compartment._on_erase_face,
    cmd.ExpireRental: Compartment._on_expire_rental,
}
