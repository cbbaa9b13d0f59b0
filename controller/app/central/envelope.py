"""Signed requests from a bank to its centre: canonical JSON bodies, an Ed25519 signature in a header.

Every body carries the bank's id, a random nonce and the time it was sent; the centre checks the signature
against the bank's pinned key, refuses a body older than ``MAX_AGE_S`` and a nonce it has seen (a captured
request replayed). The formats: ``lockers-sync/1`` (a batch of the log) and ``lockers-heartbeat/1``.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.app.audit.keys import sign_bytes, verifies
from controller.domain.chain import canonical_json
from fleet.errors import refused

BATCH: Final = "lockers-sync/1"
HEARTBEAT: Final = "lockers-heartbeat/1"
PULL: Final = "lockers-pull/1"
OUTCOME: Final = "lockers-outcome/1"
COMMAND: Final = "lockers-command/1"
BANK_HEADER: Final = "x-lockers-bank"
SIGNATURE_HEADER: Final = "x-lockers-signature"
MAX_AGE_S: Final = 300.0
"""How old (or how far ahead) a signed body may be; nonces are remembered at least this long."""


def seal(document: dict[str, Any], bank_id: str, signer: Ed25519PrivateKey) -> tuple[bytes, dict[str, str]]:
    """The body (``document`` with the bank's id, a nonce and the time) and the headers that sign it."""
    stamped = {**document, "bank_id": bank_id, "nonce": secrets.token_hex(16), "sent_at": datetime.now(UTC).isoformat()}
    body = canonical_json(stamped).encode()
    headers = {"content-type": "application/json", BANK_HEADER: bank_id, SIGNATURE_HEADER: sign_bytes(body, signer)}
    return body, headers


def unseal(body: bytes, bank_id: str, signature: str, verifier: Ed25519PublicKey, expected: str) -> dict[str, Any]:
    """The signed document of format ``expected`` from ``bank_id``; ``SyncRefused`` when it cannot be trusted."""
    if not verifies(body, signature, verifier):
        raise refused("bad_signature.request", bank=bank_id)
    try:
        document = json.loads(body)
        sent_at = datetime.fromisoformat(document["sent_at"])
        named, nonce, kind = document["bank_id"], document["nonce"], document["format"]
    except (ValueError, KeyError, TypeError) as exc:
        raise refused("bad_signature.unreadable", format=expected, error=repr(exc)) from None
    if named != bank_id or kind != expected or not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
        raise refused("bad_signature.names", named=repr(named), format=repr(kind))
    if abs(datetime.now(UTC) - sent_at) > timedelta(seconds=MAX_AGE_S):
        raise refused("replay.stale", sent_at=str(document["sent_at"]))
    return dict(document)
