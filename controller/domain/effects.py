"""Effects: what the outside world must do after events are durably committed, as plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.domain.events import (
    AlarmCleared,
    DepositStarted,
    Event,
    FaceErased,
    IdentityConfirmed,
    ItemRetrieved,
    MaintenanceUnlocked,
    PinConfirmed,
    UnlockExpired,
)


@dataclass(frozen=True, slots=True)
class Unlock:
    """Send exactly one unlock pulse for ``unlock_id`` (never retried)."""

    compartment_id: str
    unlock_id: str
    pulse_ms: int


@dataclass(frozen=True, slots=True)
class DestroyTemplate:
    """Crypto-shred a vault entry (a face template or a PIN hash) that no longer guards an item."""

    template_ref: str


Effect = Unlock | DestroyTemplate


def effects_of(events: Sequence[Event]) -> list[Effect]:
    """The effects that committed events call for; replay never calls this."""
    effects: list[Effect] = []
    for event in events:
        if isinstance(event, DepositStarted | IdentityConfirmed | PinConfirmed | MaintenanceUnlocked):
            effects.append(Unlock(event.compartment_id, event.unlock_id, event.pulse_ms))
        else:
            effects.extend(DestroyTemplate(ref) for ref in _released_refs(event) if ref)
    return effects


def _released_refs(event: Event) -> tuple[str, ...]:
    """The vault entries an event lets go of (the PIN hash goes with the item, the face may go earlier)."""
    if isinstance(event, ItemRetrieved):
        return event.template_ref, event.pin_ref
    if isinstance(event, UnlockExpired | AlarmCleared):
        return event.released_template_ref, event.released_pin_ref
    if isinstance(event, FaceErased):
        return (event.template_ref,)
    return ()
