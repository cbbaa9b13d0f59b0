"""The compartment's fold: the table's conditions and ``record_*`` callbacks, and the machine firing them.

``Compartment.apply`` fires an event's trigger on a ``CompartmentMachine``; the matching row's
conditions and ``before`` callback (``record_<trigger>``) run here and only copy facts from the event
onto the model (no IO, no clock), so a replay is a pure fold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from transitions import Event, EventData, Machine, MachineError, Transition

from controller.domain import events as ev
from controller.domain.lifecycle import DepositLifecycle
from controller.domain.states import CompartmentState

# transitions warns once per method it leaves unbound under model_override; that is the intent here.
logging.getLogger("transitions.core").setLevel(logging.ERROR)


class FoldTransition(Transition):
    """A ``transitions`` transition executed the way this table uses it, without unused plumbing.

    The table has no ``prepare``/``after``/``on_enter``/``on_exit`` callbacks; its conditions and
    ``before`` callbacks are model methods taking the event. Executing just those keeps a replay at a
    few microseconds per event instead of tens, which an audit of a million events needs.
    """

    def execute(self, event_data: Any) -> bool:
        """Check the conditions, record the event's facts, move to ``dest`` (None: stay)."""
        model, event = event_data.model, event_data.kwargs["event"]
        for condition in self.conditions:
            if bool(_call(model, condition.func, event)) != condition.target:
                return False
        for callback in self.before:
            _call(model, callback, event)
        if self.dest:
            machine = event_data.machine
            setattr(model, machine.model_attribute, machine.states[self.dest].value)
        return True


def _call(model: Any, func: str | Callable[..., Any], event: ev.Event) -> Any:
    """Run a table callback as ``transitions`` resolves it: a name is a method of the model."""
    return getattr(model, func)(event) if isinstance(func, str) else func(event)


class FoldEvent(Event):
    """A ``transitions`` trigger run at once (this machine never queues), first matching transition wins."""

    def trigger(self, model: Any, *args: Any, **kwargs: Any) -> bool:
        """Fire the trigger on ``model``; an invalid source state raises ``MachineError``."""
        state = getattr(model, self.machine.model_attribute)
        candidates = self.transitions.get(state.name)
        if not candidates:
            raise MachineError(f"Can't trigger event {self.name} from state {state.name}!")
        event_data = EventData(None, self, self.machine, model, args=args, kwargs=kwargs)
        return any(transition.execute(event_data) for transition in candidates)


class CompartmentMachine(Machine):
    """The ``transitions`` machine of one compartment (see ``FoldTransition`` and ``FoldEvent``)."""

    transition_cls = FoldTransition
    event_cls = FoldEvent


class CompartmentFacts(DepositLifecycle):
    """What a compartment remembers from its events: the conditions and recorders of the transition table."""

    version: int
    subject_id: str
    model_version: str
    unlock_id: str
    pulse_confirmed: bool
    door_open: bool
    alarm_reason: str
    alarm_detail: str
    board_fault_only: bool
    opening_version: int
    attempt_version: int

    # ------------------------------------------------------------ conditions
    def is_deposit(self, event: ev.Event) -> bool:
        """The compartment is unlocked for a deposit."""
        return self.purpose == ev.Purpose.DEPOSIT

    def is_retrieval(self, event: ev.Event) -> bool:
        """The compartment is unlocked for a retrieval."""
        return self.purpose == ev.Purpose.RETRIEVAL

    def is_expected_unlock(self, event: ev.UnlockPulseSent | ev.UnlockExpired) -> bool:
        """The event speaks of the unlock this compartment is waiting on."""
        return event.unlock_id == self.unlock_id

    def resumes_free(self, event: ev.AlarmCleared) -> bool:
        """Clearing the alarm returns the compartment to ``free``."""
        return event.resume_state == CompartmentState.FREE

    def resumes_occupied(self, event: ev.AlarmCleared) -> bool:
        """Clearing the alarm returns the compartment to ``occupied``."""
        return event.resume_state == CompartmentState.OCCUPIED

    # ------------------------------------------------------------- recorders
    def record_start_deposit(self, event: ev.DepositStarted) -> None:
        """Remember the depositor and the pending unlock."""
        self.subject_id, self.template_ref = event.subject_id, event.template_ref
        self.model_version, self.purpose = event.model_version, ev.Purpose.DEPOSIT
        self.record_deposit_facts(event)
        self._await_unlock(event.unlock_id)

    def record_pulse_sent(self, event: ev.UnlockPulseSent) -> None:
        """The board acknowledged the pulse."""
        self.pulse_confirmed = True

    def record_door_opened(self, event: ev.DoorOpened) -> None:
        """The door is open; this opening is known by its version (what a door-left-open timer names)."""
        self.door_open, self.opening_version = True, event.version

    def record_door_closed(self, event: ev.DoorClosed) -> None:
        """The door is closed."""
        self.door_open = False

    def record_deposit_completed(self, event: ev.ItemDeposited) -> None:
        """The item is inside; the access is over (and the rental period begins)."""
        self.record_deposit_done(event)
        self._end_access()

    def record_start_verification(self, event: ev.VerificationStarted) -> None:
        """Remember the attempt by its version (what its verification timer names)."""
        self.attempt_version = event.version

    def record_confirm_identity(self, event: ev.IdentityConfirmed) -> None:
        """The owner is verified: unlock for retrieval."""
        self._unlock_for_retrieval(event.unlock_id)

    def record_reject_identity(self, event: ev.IdentityRejected) -> None:
        """Count the failure, and the attacks among the consecutive failures (a PIN entered is spent)."""
        self.pin_verified = False
        self.failed_attempts = event.failed_attempts
        self.attacks = self.attacks + 1 if event.evidence.presentation_attack() else 0

    def record_verification_timed_out(self, event: ev.VerificationTimedOut) -> None:
        """Nothing to remember: back to occupied."""

    def record_face_seen_too_late(self, event: ev.FaceSeenTooLate) -> None:
        """Nothing to remember: a stale face decides nothing."""

    def record_retrieval_completed(self, event: ev.ItemRetrieved) -> None:
        """The item is gone and its template with it."""
        self._forget_owner()

    def record_unlock_expired(self, event: ev.UnlockExpired) -> None:
        """The door was never opened: undo the access (and the deposit, if it was one)."""
        if event.released_template_ref:
            self._forget_owner()
        self._end_access()

    def record_raise_alarm(self, event: ev.AlarmRaised) -> None:
        """Remember why (the first reason stays the headline, later ones are in the log)."""
        if not self.alarm_reason:
            self.alarm_reason, self.alarm_detail = event.reason, event.detail
        # Only an alarm that is nothing but board faults, raised outside any access, may end by itself.
        at_rest = self.state in (CompartmentState.FREE, CompartmentState.OCCUPIED) or self.board_fault_only
        self.board_fault_only = at_rest and event.reason == ev.AlarmReason.LOCK_BOARD_FAULT

    def record_maintenance_unlock(self, event: ev.MaintenanceUnlocked) -> None:
        """An operator opened it: an alarm (its door may open freely) until they clear it."""
        if not self.alarm_reason:
            self.alarm_reason, self.alarm_detail = ev.AlarmReason.MAINTENANCE, event.note or "maintenance unlock"
        self.board_fault_only = False
        self._await_unlock(event.unlock_id)

    def record_board_fault_resolved(self, event: ev.BoardFaultResolved) -> None:
        """The board is back and the door agrees with the log: the compartment resumes."""
        self._end_alarm()

    def record_clear_alarm(self, event: ev.AlarmCleared) -> None:
        """An operator resolved it; the compartment resumes, emptied if they released it."""
        if event.released_template_ref:
            self._forget_owner()
        self._end_alarm()

    def _end_alarm(self) -> None:
        self._end_access()
        self.alarm_reason = self.alarm_detail = ""
        self.failed_attempts, self.attacks, self.board_fault_only = 0, 0, False

    def _await_unlock(self, unlock_id: str) -> None:
        self.unlock_id, self.pulse_confirmed = unlock_id, False
        self.used_unlock_ids.add(unlock_id)

    def _end_access(self) -> None:
        self.purpose, self.unlock_id, self.pulse_confirmed = "", "", False

    def _forget_owner(self) -> None:
        self.subject_id = self.template_ref = self.model_version = ""
        self._init_lifecycle()
