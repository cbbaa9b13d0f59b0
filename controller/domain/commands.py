"""Commands: imperative requests to one compartment. Timeouts are commands too, so replay is deterministic.

A timeout names what armed it: the unlock id of an access, or the stream version of the event that
began an opening or a verification attempt (unique per compartment, so no payload needs a new id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controller.domain.evidence import EnrolmentLiveness, Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command: the target compartment and a correlation id that ties one flow together."""

    compartment_id: str
    correlation_id: str = ""
    observed_at: datetime | None = None
    """When the fact this command reports was seen (a buffered door change); None: it is decided now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartDeposit(Command):
    """Assign a free compartment to a depositor whose template is already stored; unlock it."""

    subject_id: str
    template_ref: str
    model_version: str
    unlock_id: str
    enrolment_liveness: EnrolmentLiveness = EnrolmentLiveness()
    pin_ref: str = ""
    consent_version: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordUnlockOutcome(Command):
    """What the lock driver said about an unlock pulse: ``sent``, ``not_sent`` or ``unknown``."""

    unlock_id: str
    outcome: str
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserveDoor(Command):
    """A debounced door sensor reading."""

    is_open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordStaleFace(Command):
    """A face seen at ``observed_at`` that could not be recorded within its time to live: record it, act on nothing."""

    evidence: Evidence
    ttl_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StartVerification(Command):
    """A face near this compartment's template was seen: begin verifying."""

    evidence: Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmIdentity(Command):
    """Identification holds (threshold, margin, k-of-n frames): unlock for retrieval."""

    evidence: Evidence
    unlock_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectIdentity(Command):
    """Identification failed for a compartment under verification."""

    reason: str
    evidence: Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireVerification(Command):
    """Timeout: the verification window of the attempt begun at stream version ``attempt_version`` closed."""

    attempt_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireUnlock(Command):
    """Timeout: the door was not opened within the access window after ``unlock_id``."""

    unlock_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireDoorOpen(Command):
    """Timeout: the door opened at stream version ``opening_version`` has stayed open longer than allowed."""

    opening_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportBoardFault(Command):
    """The lock board serving this compartment stopped answering."""

    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconcile(Command):
    """Boot check: compare the folded state with the door sensor; disagreement is an alarm."""

    door_is_open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearAlarm(Command):
    """An operator clears an alarm; ``release`` means they emptied the compartment."""

    operator_id: str
    note: str = ""
    release: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveBoardFault(Command):
    """The compartment's lock board answers again; ``door_is_open`` is what its door reads now."""

    door_is_open: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceUnlock(Command):
    """An operator sends one unlock pulse for maintenance (recorded; an alarm until cleared)."""

    operator_id: str
    unlock_id: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeOutOfService(Command):
    """An operator takes the compartment out of service (an alarm until cleared)."""

    operator_id: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmPin(Command):
    """The deposit's one-time PIN was entered at ``kiosk`` (matched by the service): unlock for retrieval."""

    unlock_id: str
    kiosk: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyPin(Command):
    """The deposit's PIN was entered where the site asks for face and PIN: the face must still confirm."""

    kiosk: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportWrongPins(Command):
    """Wrong PINs entered while this compartment held a PIN reached the site's limit: an alarm."""

    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EraseFace(Command):
    """Erase the owner's face template now, keeping the item (``proof``: face, pin or operator)."""

    requested_by: str
    proof: str
    operator_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpireRental(Command):
    """Timeout: the rental period of the deposit completed at stream version ``deposit_version`` ended."""

    deposit_version: int
