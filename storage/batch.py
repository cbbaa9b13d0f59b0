"""What every store does before writing: validate a batch, encode it and link it into the chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.domain.chain import content_hash
from controller.domain.events import Event
from controller.ports import RawRecord
from storage.errors import EventEncodingError
from storage.serialization import EncodedEvent, EventSerializer


@dataclass(frozen=True, slots=True)
class LinkedRow:
    """An encoded event with its place in the hash chain: ready to insert."""

    encoded: EncodedEvent
    event_hash: str
    previous_hash: str

    def record(self, position: int) -> RawRecord:
        """The row as stored at ``position``."""
        item = self.encoded
        return RawRecord(
            position,
            item.compartment_id,
            item.version,
            item.occurred_at,
            item.event_type,
            item.schema_version,
            item.payload_json,
            item.correlation_id,
            self.event_hash,
            self.previous_hash,
        )


def encode_batch(
    serializer: EventSerializer, compartment_id: str, expected_version: int, events: Sequence[Event]
) -> list[EncodedEvent]:
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


def link(head_hash: str, encoded: Sequence[EncodedEvent]) -> list[LinkedRow]:
    """Chain ``encoded`` after the event whose hash is ``head_hash`` (``GENESIS_HASH`` for none)."""
    rows = []
    previous = head_hash
    for item in encoded:
        current = _hash(previous, item)
        rows.append(LinkedRow(item, current, previous))
        previous = current
    return rows


def _hash(previous: str, item: EncodedEvent) -> str:
    try:
        return content_hash(previous, item)
    except UnicodeEncodeError as exc:  # a lone surrogate: such text cannot be stored or hashed
        raise EventEncodingError(f"{item.event_type} text is not valid Unicode: {exc.reason}") from exc
