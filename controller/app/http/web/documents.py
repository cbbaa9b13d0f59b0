"""Events as JSON documents for the live stream, the console's timeline and the export."""

from __future__ import annotations

from typing import Any

from controller.domain.events import Event
from controller.ports import StoredEvent


def event_document(event: Event) -> dict[str, Any]:
    """One event: where it belongs, when, its type and its payload."""
    return {
        "compartment_id": event.compartment_id,
        "version": event.version,
        "occurred_at": event.occurred_at.isoformat(),
        "correlation_id": event.correlation_id,
        "type": type(event).__name__,
        "payload": event.payload(),
    }


def stored_document(record: StoredEvent) -> dict[str, Any]:
    """One stored event with its global position first."""
    return {"position": record.position, **event_document(record.event)}
