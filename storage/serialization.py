"""Events to log rows and back, with upcasting of old payload versions.

A row stores the payload as canonical JSON (``controller.domain.chain.canonical_json``): the very text
that the hash chain covers. When an event's payload changes, bump its ``schema_version`` and
register an upcaster from the old version here; stored rows are never rewritten::

    @DEFAULT_UPCASTERS.register("IdentityRejected", from_version=1)
    def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "camera_id": ""}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controller.domain.chain import canonical_json
from controller.domain.events import EVENT_TYPES, Event
from controller.ports import RawRecord
from storage.errors import CorruptRecord, EventEncodingError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

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


class UpcasterRegistry:
    """Upcasters keyed by ``(event_type, from_version)``; each lifts a payload by one version."""

    def __init__(self) -> None:
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``fn`` turns a ``from_version`` payload into a ``from_version + 1`` payload."""

        def add(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._upcasters:
                raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
            self._upcasters[key] = fn
            return fn

        return add

    def upcast(self, event_type: str, version: int, target: int, payload: dict[str, Any]) -> dict[str, Any]:
        """Apply upcasters from ``version`` up to ``target``; raise ``LookupError`` on a missing step."""
        if version > target:
            raise LookupError(f"schema version {version} is newer than this software's {target}")
        for step in range(version, target):
            upcaster = self._upcasters.get((event_type, step))
            if upcaster is None:
                raise LookupError(f"no upcaster for {event_type} from schema version {step}")
            payload = upcaster(dict(payload))
        return payload


DEFAULT_UPCASTERS = UpcasterRegistry()
"""The project's upcasters."""


def _with_full_evidence(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 face events recorded only distance, threshold and model version: the rest was not kept."""
    unknown = {"subject_id": "", "runner_up_distance": None, "margin": 0.0}
    return {**unknown, "frames_agreeing": 0, "frames_considered": 0, **payload}


DEFAULT_UPCASTERS.register("VerificationStarted", from_version=1)(_with_full_evidence)
DEFAULT_UPCASTERS.register("IdentityRejected", from_version=1)(_with_full_evidence)


def _with_liveness(payload: dict[str, Any]) -> dict[str, Any]:
    """Face events before liveness was judged: nothing was recorded about it (``liveness`` = "")."""
    return {"liveness": "", "liveness_score": None, "liveness_method": "", "liveness_model": "", **payload}


DEFAULT_UPCASTERS.register("VerificationStarted", from_version=2)(_with_liveness)
DEFAULT_UPCASTERS.register("IdentityRejected", from_version=2)(_with_liveness)
DEFAULT_UPCASTERS.register("IdentityConfirmed", from_version=1)(_with_liveness)
DEFAULT_UPCASTERS.register("DepositStarted", from_version=1)(_with_liveness)


@DEFAULT_UPCASTERS.register("DepositStarted", from_version=2)
def _deposit_without_pin(payload: dict[str, Any]) -> dict[str, Any]:
    """Deposits before one-time PINs and consent versions: no PIN was issued, no consent version kept."""
    return {"pin_ref": "", "consent_version": "", **payload}


@DEFAULT_UPCASTERS.register("ItemRetrieved", from_version=1)
def _retrieved_without_pin(payload: dict[str, Any]) -> dict[str, Any]:
    """Retrievals before one-time PINs: there was no PIN to destroy."""
    return {"pin_ref": "", **payload}


def _released_without_pin(payload: dict[str, Any]) -> dict[str, Any]:
    """Releases before one-time PINs: there was no PIN to destroy."""
    return {"released_pin_ref": "", **payload}


DEFAULT_UPCASTERS.register("UnlockExpired", from_version=1)(_released_without_pin)
DEFAULT_UPCASTERS.register("AlarmCleared", from_version=1)(_released_without_pin)


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """An event as row fields, before it is linked into the chain."""

    compartment_id: str
    version: int
    occurred_at: str
    event_type: str
    schema_version: int
    payload_json: str
    correlation_id: str


def format_time(moment: datetime) -> str:
    """ISO-8601 text in UTC; naive datetimes are refused because their instant is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventEncodingError(f"occurred_at must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat()


class EventSerializer:
    """Encodes events to ``EncodedEvent`` and decodes stored rows, upcasting old payloads."""

    def __init__(
        self,
        event_types: Mapping[str, type[Event]] = EVENT_TYPES,
        upcasters: UpcasterRegistry = DEFAULT_UPCASTERS,
    ) -> None:
        self._types = dict(event_types)
        self._names = {cls: name for name, cls in self._types.items()}
        self._upcasters = upcasters

    def encode(self, event: Event) -> EncodedEvent:
        """The row fields of ``event``; raise ``EventEncodingError`` when it cannot be stored."""
        name = self._names.get(type(event))
        if name is None:
            raise EventEncodingError(f"{type(event).__name__} is not a registered event type")
        try:
            payload_json = canonical_json(event.payload())
        except (TypeError, ValueError) as exc:
            raise EventEncodingError(f"{name} payload is not JSON-safe: {exc}") from exc
        return EncodedEvent(
            compartment_id=event.compartment_id,
            version=event.version,
            occurred_at=format_time(event.occurred_at),
            event_type=name,
            schema_version=event.schema_version,
            payload_json=payload_json,
            correlation_id=event.correlation_id,
        )

    def decode(self, record: RawRecord) -> Event:
        """The event a stored row holds; raise ``CorruptRecord`` naming its position otherwise."""
        return self.decode_fields(
            record.position,
            record.compartment_id,
            record.version,
            record.occurred_at,
            record.event_type,
            record.schema_version,
            record.payload_json,
            record.correlation_id,
        )

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
        """``decode`` from loose fields: the fast path for bulk reads, which skip building records."""
        cls = self._types.get(event_type)
        if cls is None:
            raise CorruptRecord(position, f"unknown event type {event_type!r}")
        try:
            payload = parse_payload(payload_json)
            if schema_version != cls.schema_version:
                payload = self._upcasters.upcast(event_type, schema_version, cls.schema_version, payload)
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
