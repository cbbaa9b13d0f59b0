"""Events to log rows and back, with upcasting of old payload versions.

A row stores the payload as canonical JSON (``controller.domain.chain.canonical_json``): the very text
that the hash chain covers. A row written under an older ``schema_version`` of its event class is
lifted on read by the class's own upcasters, ``upcast_v<N>_v<N+1>`` static methods declared beside its
fields (``controller.domain.events``); stored rows are never rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Final

from controller.domain.chain import ROW_FIELDS, RawRecord, canonical_json
from controller.domain.events import EVENT_TYPES, Event
from storage.errors import CorruptRecord, EventEncodingError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UNPLACED: Final = 0
"""The position of a row not yet stored (positions start at 1)."""

DECODED: Final = slice(0, ROW_FIELDS.index("event_hash"))
"""The row fields ``decode_fields`` takes, in order: all but the hashes, which decoding does not need."""
_decoded_fields: Final = attrgetter(*ROW_FIELDS[DECODED])

# The C scanner behind json.loads, without its per-call wrapper and whitespace regexes (~35% faster).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def parse_payload(text: str) -> Any:
    """Parse stored payload JSON (canonical, so no surrounding whitespace); ValueError if malformed."""
    if text == "{}":
        return {}
    try:
        value, end = _scan_json(text, 0)
    except StopIteration as exc:
        raise ValueError(f"payload is not JSON: {text[:40]!r}") from exc
    if end != len(text):
        raise ValueError(f"payload has trailing data after JSON: {text[:40]!r}")
    return value


def upcast(cls: type[Event], event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Lift a ``version`` payload to ``cls.schema_version`` through ``cls``'s upcasters; ``LookupError`` on a gap."""
    if version > cls.schema_version:
        raise LookupError(f"schema version {version} is newer than this software's {cls.schema_version}")
    for step in range(version, cls.schema_version):
        upcaster: Upcaster | None = getattr(cls, f"upcast_v{step}_v{step + 1}", None)
        if upcaster is None:
            raise LookupError(f"no upcaster for {event_type} from schema version {step}")
        payload = upcaster(dict(payload))
    return payload


def format_time(moment: datetime) -> str:
    """ISO-8601 text in UTC; naive datetimes are refused because their instant is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventEncodingError(f"occurred_at must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat()


class EventSerializer:
    """Encodes events to unplaced ``RawRecord``s and decodes stored rows, upcasting old payloads."""

    def __init__(self, event_types: Mapping[str, type[Event]] = EVENT_TYPES) -> None:
        self._types = dict(event_types)
        self._names = {cls: name for name, cls in self._types.items()}

    def encode(self, event: Event) -> RawRecord:
        """The row of ``event``, unplaced and unlinked; raise ``EventEncodingError`` when it cannot be stored."""
        name = self._names.get(type(event))
        if name is None:
            raise EventEncodingError(f"{type(event).__name__} is not a registered event type")
        try:
            payload_json = canonical_json(event.payload())
        except (TypeError, ValueError) as exc:
            raise EventEncodingError(f"{name} payload is not JSON-safe: {exc}") from exc
        return RawRecord(
            position=UNPLACED,
            compartment_id=event.compartment_id,
            version=event.version,
            occurred_at=format_time(event.occurred_at),
            event_type=name,
            schema_version=event.schema_version,
            payload_json=payload_json,
            correlation_id=event.correlation_id,
            event_hash="",
            previous_hash="",
        )

    def decode(self, record: RawRecord) -> Event:
        """The event a stored row holds; raise ``CorruptRecord`` naming its position otherwise."""
        return self.decode_fields(*_decoded_fields(record))

    def decode_fields(
        self,
        position: int,
        compartment_id: str,
        version: int,
        occurred_at: str,
        event_type: str,
        schema_version: int,
        payload_json: str,
        correlation_id: str,
    ) -> Event:
        """``decode`` from a row's ``DECODED`` fields: the fast path for bulk reads, which skip building records."""
        cls = self._types.get(event_type)
        if cls is None:
            raise CorruptRecord(position, f"unknown event type {event_type!r}")
        try:
            payload = parse_payload(payload_json)
            if schema_version != cls.schema_version:
                payload = upcast(cls, event_type, schema_version, payload)
            moment = datetime.fromisoformat(occurred_at)
            if moment.tzinfo is None:
                raise ValueError(f"occurred_at {occurred_at!r} has no timezone")
            return cls.from_payload(
                payload,
                compartment_id=compartment_id,
                version=version,
                occurred_at=moment,
                correlation_id=correlation_id,
            )
        except (TypeError, ValueError, LookupError) as exc:
            raise CorruptRecord(position, f"{event_type}: {exc}") from exc
