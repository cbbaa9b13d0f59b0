"""What every store does before writing: validate a batch, encode it and link it into the chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from controller.domain.chain import RawRecord, content_hash
from controller.domain.events import Event
from storage.errors import EventEncodingError
from storage.serialization import EventSerializer


def encode_batch(
    serializer: EventSerializer, compartment_id: str, expected_version: int, events: Sequence[Event]
) -> list[RawRecord]:
    """Encode ``events``, which must belong to ``compartment_id`` and follow ``expected_version``."""
    encoded = []
    for offset, event in enumerate(events, start=1):
        if event.compartment_id != compartment_id:
            raise EventEncodingError(
                f"event for compartment {event.compartment_id} appended to stream {compartment_id}"
            )
        if event.version != expected_version + offset:
            raise EventEncodingError(
                f"compartment {compartment_id}: event version {event.version} does not follow "
                f"version {expected_version + offset - 1}"
            )
        encoded.append(serializer.encode(event))
    return encoded


def link(head_hash: str, encoded: Sequence[RawRecord]) -> list[RawRecord]:
    """Chain ``encoded`` after the event whose hash is ``head_hash`` (``GENESIS_HASH`` for none); still unplaced."""
    rows = []
    previous = head_hash
    for row in encoded:
        current = _hash(previous, row)
        rows.append(replace(row, event_hash=current, previous_hash=previous))
        previous = current
    return rows


def _hash(previous: str, row: RawRecord) -> str:
    try:
        return content_hash(previous, row)
    except UnicodeEncodeError as exc:  # a lone surrogate: such text cannot be stored or hashed
        raise EventEncodingError(f"{row.event_type} text is not valid Unicode: {exc.reason}") from exc
