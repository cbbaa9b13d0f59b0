"""The hash chain and its row: each stored event's hash covers its canonical content and the previous hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from json.encoder import encode_basestring
from typing import Any, Final

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same bytes for the same content, everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def chain_hash(
    previous_hash: str,
    *,
    compartment_id: str,
    version: int,
    occurred_at: str,
    event_type: str,
    schema_version: int,
    payload_json: str,
    correlation_id: str,
) -> str:
    """SHA-256 over the previous hash and the event's canonical content (position is not part of it).

    ``payload_json`` must already be canonical (``canonical_json``) so that what is hashed is exactly
    what is stored.
    """
    # Exactly canonical_json() of these seven keys, spelled out: it runs for every event of every audit.
    content = (
        f'{{"compartment_id":{encode_basestring(compartment_id)},"correlation_id":{encode_basestring(correlation_id)},'
        f'"event_type":{encode_basestring(event_type)},"occurred_at":{encode_basestring(occurred_at)},'
        f'"payload":{encode_basestring(payload_json)},"schema_version":{int(schema_version)},"version":{int(version)}}}'
    )
    return hashlib.sha256(f"{previous_hash}\n{content}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A log row as stored, undecoded: what ``audit verify`` hashes, so a corrupt payload is still checkable.

    The one definition of the row: the table's columns, every store's reads and writes and the audits
    follow its fields, in this order. A row about to be stored is unplaced until then: ``position`` 0,
    and empty hashes until it is linked into the chain.
    """

    position: int
    compartment_id: str
    version: int
    occurred_at: str
    event_type: str
    schema_version: int
    payload_json: str
    correlation_id: str
    event_hash: str
    previous_hash: str


ROW_FIELDS: Final = tuple(f.name for f in fields(RawRecord))
"""The row's fields in order: the columns of the log table and of every read and write of it."""


def content_hash(previous_hash: str, row: RawRecord) -> str:
    """``chain_hash`` of a row's content after ``previous_hash``: the one place writers and auditors hash."""
    return chain_hash(
        previous_hash,
        compartment_id=row.compartment_id,
        version=row.version,
        occurred_at=row.occurred_at,
        event_type=row.event_type,
        schema_version=row.schema_version,
        payload_json=row.payload_json,
        correlation_id=row.correlation_id,
    )
