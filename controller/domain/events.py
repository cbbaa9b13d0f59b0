"""Domain events: frozen facts in the past tense, one class per transition.

Events hold evidence as primitives (ids, distances, thresholds, reasons), never images or
embeddings. ``trigger`` names the transition in ``controller.domain.machine.TRANSITIONS``;
Face decisions carry one ``Evidence`` value (a deposit, its enrolment's ``Liveness``), flattened into
the payload so that stored rows keep their flat shape.

When a payload changes, its class bumps ``schema_version`` and gains, beside it, the static method
``upcast_v<N>_v<N+1>(payload) -> payload`` that turns an old stored payload into the next version's;
storage calls them in turn on every older row it reads (stored rows are never rewritten).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from controller.domain.evidence import Evidence, Liveness


class AlarmReason(StrEnum):
    """Why a compartment went into ``alarm``."""

    FORCED_OPEN = "forced_open"
    DOOR_LEFT_OPEN = "door_left_open"
    UNLOCK_FAILED = "unlock_failed"
    UNLOCK_OUTCOME_UNKNOWN = "unlock_outcome_unknown"
    LOCKOUT = "lockout"
    LOCK_BOARD_FAULT = "lock_board_fault"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch"
    OUT_OF_SERVICE = "out_of_service"
    PRESENTATION_ATTACK_SUSPECTED = "presentation_attack_suspected"
    MAINTENANCE = "maintenance"
    DEPOSIT_EXPIRED = "deposit_expired"


class Purpose(StrEnum):
    """Why an open compartment was unlocked."""

    DEPOSIT = "deposit"
    RETRIEVAL = "retrieval"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: which stream, which position in it, and when (UTC, for humans)."""

    trigger: ClassVar[str]
    schema_version: ClassVar[int] = 1

    compartment_id: str
    version: int
    occurred_at: datetime
    correlation_id: str = ""

    def payload(self) -> dict[str, Any]:
        """The event's own fields, without the base fields, as JSON-ready primitives (evidence flattened)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name not in BASE_FIELDS:
                value = getattr(self, f.name)
                out.update(value.flat() if isinstance(value, Liveness) else {f.name: value})
        return out

    @classmethod
    def from_payload(cls, payload: dict[str, Any], **base: Any) -> Event:
        """The event from base fields and a flat payload as ``payload()`` writes it (the dict is consumed)."""
        for name, value_type in _FLATTENED.items():
            if name in cls.__dataclass_fields__:
                payload[name] = value_type.take_from(payload)
        return cls(**base, **payload)


BASE_FIELDS = frozenset({"compartment_id", "version", "occurred_at", "correlation_id"})
_FLATTENED: dict[str, type[Liveness]] = {"evidence": Evidence, "enrolment_liveness": Liveness}
"""The fields whose value is stored flat in the payload, and their types."""


def payload_names(event_type: type[Event]) -> tuple[str, ...]:
    """The keys of ``event_type``'s stored payload: its own fields, evidence flattened (for readers' labels)."""
    names: list[str] = []
    for f in fields(event_type):
        flattened = _FLATTENED.get(f.name)
        if f.name not in BASE_FIELDS:
            names.extend([g.name for g in fields(flattened)] if flattened else [f.name])
    return tuple(names)


Payload = dict[str, Any]
"""A stored payload as parsed JSON: what upcasters take and return."""


# Upcasters shared by several classes; each class binds its own beside its fields. Like every upcaster they
# describe a past schema version, so they spell out what it lacked rather than derive it from today's classes.
def _with_full_evidence(payload: Payload) -> Payload:
    """Face events before v2 recorded only distance, threshold and model version: the rest was not kept."""
    unknown = {"subject_id": "", "runner_up_distance": None, "margin": 0.0}
    return {**unknown, "frames_agreeing": 0, "frames_considered": 0, **payload}


def _with_liveness(payload: Payload) -> Payload:
    """Face events before liveness was judged: nothing was recorded about it (``liveness`` = "")."""
    return {"liveness": "", "liveness_score": None, "liveness_method": "", "liveness_model": "", **payload}


def _released_without_pin(payload: Payload) -> Payload:
    """Releases before one-time PINs: there was no PIN to destroy."""
    return {"released_pin_ref": "", **payload}


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositStarted(Event):
    """A free compartment was assigned to a depositor whose template is stored under ``template_ref``.

    ``pin_ref`` names the vault entry of the deposit's one-time PIN hash ("": no PIN was issued); the log
    records only that reference, never the PIN or its hash. ``consent_version`` is the version of the
    consent text shown at enrolment ("": recorded before consent versions existed).
    """

    trigger: ClassVar[str] = "start_deposit"
    schema_version: ClassVar[int] = 3
    upcast_v1_v2 = staticmethod(_with_liveness)
    subject_id: str
    template_ref: str
    model_version: str
    unlock_id: str
    pulse_ms: int
    enrolment_liveness: Liveness = Liveness()
    pin_ref: str = ""
    consent_version: str = ""

    @staticmethod
    def upcast_v2_v3(payload: Payload) -> Payload:
        """Deposits before one-time PINs and consent versions: no PIN was issued, no consent version kept."""
        return {"pin_ref": "", "consent_version": "", **payload}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockPulseSent(Event):
    """The lock board acknowledged the unlock pulse (not yet proof that the door opened)."""

    trigger: ClassVar[str] = "pulse_sent"
    unlock_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorOpened(Event):
    """The door sensor reported the door open while the compartment was unlocked for access."""

    trigger: ClassVar[str] = "door_opened"


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorClosed(Event):
    """The door sensor reported the door closed."""

    trigger: ClassVar[str] = "door_closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDeposited(Event):
    """The depositor closed the door: the compartment holds an item."""

    trigger: ClassVar[str] = "deposit_completed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRetrieved(Event):
    """The verified owner closed the door after access: the compartment is free again."""

    trigger: ClassVar[str] = "retrieval_completed"
    schema_version: ClassVar[int] = 2
    template_ref: str
    pin_ref: str = ""

    @staticmethod
    def upcast_v1_v2(payload: Payload) -> Payload:
        """Retrievals before one-time PINs: there was no PIN to destroy."""
        return {"pin_ref": "", **payload}


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockExpired(Event):
    """The door was never opened after the unlock: the lock relatches and the flow is undone."""

    trigger: ClassVar[str] = "unlock_expired"
    schema_version: ClassVar[int] = 2
    upcast_v1_v2 = staticmethod(_released_without_pin)
    unlock_id: str
    released_template_ref: str
    released_pin_ref: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationStarted(Event):
    """A face in front of the camera resembles this compartment's owner: verification begins."""

    trigger: ClassVar[str] = "start_verification"
    schema_version: ClassVar[int] = 3
    upcast_v1_v2 = staticmethod(_with_full_evidence)
    upcast_v2_v3 = staticmethod(_with_liveness)
    evidence: Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityConfirmed(Event):
    """Verification succeeded; the evidence explains why, the unlock pulse is called for."""

    trigger: ClassVar[str] = "confirm_identity"
    schema_version: ClassVar[int] = 2
    upcast_v1_v2 = staticmethod(_with_liveness)
    evidence: Evidence
    unlock_id: str
    pulse_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityRejected(Event):
    """Verification failed; ``failed_attempts`` counts consecutive failures."""

    trigger: ClassVar[str] = "reject_identity"
    schema_version: ClassVar[int] = 3
    upcast_v1_v2 = staticmethod(_with_full_evidence)
    upcast_v2_v3 = staticmethod(_with_liveness)
    reason: str
    evidence: Evidence
    failed_attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationTimedOut(Event):
    """No decision was reached within the verification window."""

    trigger: ClassVar[str] = "verification_timed_out"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(Event):
    """Something needs an operator; only ``AlarmCleared`` leaves the alarm state."""

    trigger: ClassVar[str] = "raise_alarm"
    reason: str
    detail: str
    operator_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmCleared(Event):
    """An operator cleared the alarm; ``released_template_ref`` is set when they emptied the compartment."""

    trigger: ClassVar[str] = "clear_alarm"
    schema_version: ClassVar[int] = 2
    upcast_v1_v2 = staticmethod(_released_without_pin)
    operator_id: str
    note: str
    resume_state: str
    released_template_ref: str
    released_pin_ref: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardFaultResolved(Event):
    """The lock board answers again and this door reads what the log expects: its fault alarm ends."""

    trigger: ClassVar[str] = "board_fault_resolved"
    detail: str
    resume_state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceUnlocked(Event):
    """An operator unlocked the compartment for maintenance: an alarm until they clear it."""

    trigger: ClassVar[str] = "maintenance_unlock"
    operator_id: str
    unlock_id: str
    pulse_ms: int
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PinConfirmed(Event):
    """The deposit's one-time PIN was entered: unlock for retrieval, resting on the PIN alone (no face)."""

    trigger: ClassVar[str] = "confirm_pin"
    unlock_id: str
    pulse_ms: int
    kiosk: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PinVerified(Event):
    """The deposit's PIN was entered where the site asks for face and PIN: the face must still confirm."""

    trigger: ClassVar[str] = "verify_pin"
    kiosk: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaceErased(Event):
    """The owner's face template was erased on request while the item stays (retrieval by PIN from now on).

    ``requested_by`` is ``owner`` or ``operator``; ``proof`` says how the request was authorised
    (``face``, ``pin`` or ``operator``); ``operator_id`` names the operator when one acted.
    """

    trigger: ClassVar[str] = "erase_face"
    template_ref: str
    requested_by: str
    proof: str
    operator_id: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        DepositStarted,
        UnlockPulseSent,
        DoorOpened,
        DoorClosed,
        ItemDeposited,
        ItemRetrieved,
        UnlockExpired,
        VerificationStarted,
        IdentityConfirmed,
        IdentityRejected,
        VerificationTimedOut,
        AlarmRaised,
        AlarmCleared,
        BoardFaultResolved,
        MaintenanceUnlocked,
        PinConfirmed,
        PinVerified,
        FaceErased,
    )
}
