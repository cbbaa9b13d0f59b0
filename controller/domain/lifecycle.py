"""The deposit's lifecycle beyond the face: one-time PINs, the rental period, erasure on request.

A mixin of ``Compartment`` (``controller.domain.compartment``): its ``record_*`` methods are the
transition table's ``before`` callbacks for the PIN, erasure and rental rows, its ``_on_*`` methods
decide the matching commands. The PIN itself never reaches the core: the service matches it against
the vault's hashes and tells the compartment only that its PIN was entered.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from controller.domain import commands as cmd
from controller.domain import events as ev
from controller.domain.errors import Refusal, TransitionRejected
from controller.domain.states import CompartmentState


class Retrieval(StrEnum):
    """What opens a compartment for retrieval at this site (``[policy] retrieval``)."""

    FACE_ONLY = "face_only"
    FACE_OR_PIN = "face_or_pin"
    FACE_AND_PIN = "face_and_pin"


class EventSink(Protocol):
    """Where a decision adds its events (``compartment._EventBuilder``)."""

    def add(self, event_type: type[ev.Event], **fields: Any) -> None:
        """Build, apply and keep the next event."""
        ...


class LifecyclePolicy(Protocol):
    """The site rules the lifecycle decisions read (``compartment.Policy``)."""

    @property
    def pulse_ms(self) -> int:
        """Unlock pulse length."""
        ...

    @property
    def retrieval(self) -> str:
        """A ``Retrieval`` value."""
        ...


OWNER, OPERATOR = "owner", "operator"
PROOFS = {OWNER: ("face", "pin"), OPERATOR: ("operator",)}
"""Who may ask for an erasure, and how each proves it."""


class DepositLifecycle:
    """PIN, erasure and rental facts of a compartment, and the decisions about them."""

    compartment_id: str
    state: CompartmentState
    policy: LifecyclePolicy
    template_ref: str
    purpose: str
    failed_attempts: int
    attacks: int
    used_unlock_ids: set[str]

    def _init_lifecycle(self) -> None:
        self.pin_ref = ""
        self.consent_version = ""
        self.pin_verified = False
        self.face_erased = False
        self.deposit_version = 0
        self.deposited_at: datetime | None = None

    def _await_unlock(self, unlock_id: str) -> None:
        raise NotImplementedError  # pragma: no cover - Compartment's

    def _require(self, command: cmd.Command, *states: CompartmentState) -> None:
        raise NotImplementedError  # pragma: no cover - Compartment's

    def _require_fresh_unlock(
        self, command: cmd.StartDeposit | cmd.ConfirmIdentity | cmd.ConfirmPin | cmd.MaintenanceUnlock
    ) -> None:
        if not command.unlock_id or command.unlock_id in self.used_unlock_ids:
            raise self._reject(command, f"unlock id {command.unlock_id!r} is empty or was used before")

    def _reject(
        self, command: cmd.Command, reason: str, code: Refusal = Refusal.NOT_ALLOWED_NOW
    ) -> TransitionRejected:
        return TransitionRejected(self.compartment_id, self.state, type(command).__name__, reason, code)

    # ------------------------------------------------------------- recorders
    def record_confirm_pin(self, event: ev.PinConfirmed) -> None:
        """The PIN was entered: unlock for retrieval."""
        self._unlock_for_retrieval(event.unlock_id)

    def _unlock_for_retrieval(self, unlock_id: str) -> None:
        """The owner is proven (face or PIN): failures forgotten, a PIN's vouching spent, the unlock awaited."""
        self.purpose, self.failed_attempts, self.attacks = ev.Purpose.RETRIEVAL, 0, 0
        self.pin_verified = False
        self._await_unlock(unlock_id)

    def record_verify_pin(self, event: ev.PinVerified) -> None:
        """The PIN vouches for the owner's face to come."""
        self.pin_verified = True

    def record_erase_face(self, event: ev.FaceErased) -> None:
        """The face template is gone; the item (and its PIN) stay."""
        self.face_erased = True

    def record_deposit_facts(self, event: ev.DepositStarted) -> None:
        """The deposit's PIN reference and consent version."""
        self.pin_ref, self.consent_version = event.pin_ref, event.consent_version
        self.pin_verified = self.face_erased = False

    def record_deposit_done(self, event: ev.ItemDeposited) -> None:
        """When the rental period began, and the version a rental timer names."""
        self.deposit_version, self.deposited_at = event.version, event.occurred_at

    # --------------------------------------------------------------- decide
    def _require_pin(self, command: cmd.ConfirmPin | cmd.VerifyPin, mode: Retrieval) -> None:
        if self.policy.retrieval != mode:
            raise self._reject(command, f"the site's retrieval policy is {self.policy.retrieval}")
        self._require(command, CompartmentState.OCCUPIED, CompartmentState.VERIFYING)
        if not self.pin_ref:
            raise self._reject(command, "this deposit has no PIN")

    def _on_confirm_pin(self, command: cmd.ConfirmPin, out: EventSink) -> None:
        self._require_pin(command, Retrieval.FACE_OR_PIN)
        self._require_fresh_unlock(command)
        out.add(ev.PinConfirmed, unlock_id=command.unlock_id, pulse_ms=self.policy.pulse_ms, kiosk=command.kiosk)

    def _on_verify_pin(self, command: cmd.VerifyPin, out: EventSink) -> None:
        self._require_pin(command, Retrieval.FACE_AND_PIN)
        out.add(ev.PinVerified, kiosk=command.kiosk)

    def needs_pin(self) -> bool:
        """Whether a face alone may not open this compartment now (face and PIN, PIN not yet entered)."""
        return self.policy.retrieval == Retrieval.FACE_AND_PIN and bool(self.pin_ref) and not self.pin_verified

    def _on_report_wrong_pins(self, command: cmd.ReportWrongPins, out: EventSink) -> None:
        if not self.pin_ref or self.state == CompartmentState.ALARM:
            return  # no PIN of its own was at stake, or an operator is already called
        detail = f"{command.count} wrong PINs entered while it held a PIN"
        out.add(ev.AlarmRaised, reason=ev.AlarmReason.LOCKOUT, detail=detail)

    def _on_erase_face(self, command: cmd.EraseFace, out: EventSink) -> None:
        self._require(command, CompartmentState.OCCUPIED, CompartmentState.ALARM)
        if command.proof not in PROOFS.get(command.requested_by, ()):
            raise self._reject(command, f"{command.requested_by!r} cannot ask for erasure with {command.proof!r}")
        if command.requested_by == OPERATOR and not command.operator_id:
            raise self._reject(command, "an operator id is required")
        if not self.template_ref or self.face_erased:
            raise self._reject(command, "there is no face template to erase", Refusal.NO_FACE_TEMPLATE)
        out.add(
            ev.FaceErased,
            template_ref=self.template_ref,
            requested_by=command.requested_by,
            proof=command.proof,
            operator_id=command.operator_id,
        )

    def _on_expire_rental(self, command: cmd.ExpireRental, out: EventSink) -> None:
        at_rest = self.state in (CompartmentState.OCCUPIED, CompartmentState.VERIFYING)
        if at_rest and command.deposit_version == self.deposit_version:
            out.add(ev.AlarmRaised, reason=ev.AlarmReason.DEPOSIT_EXPIRED, detail="the rental period ended")
