"""The centre's side of sync and heartbeats: trust nothing unsigned, store each event once, never merge a fork.

A batch is checked in this order: the bank is enrolled; the body is signed by its pinned key, recent, and
its nonce unseen; the checkpoint is signed by the same key; the rows continue the chain the centre holds
(``fleet.continuity``) and the checkpoint describes the log as they leave it. Any refusal is a fleet alarm
(one open alarm per bank and kind) and nothing of the batch is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.app.audit.keys import is_authentic, parse_public_key
from controller.app.central.envelope import BATCH, HEARTBEAT, MAX_AGE_S, unseal
from controller.domain.chain import ROW_FIELDS, RawRecord, canonical_json
from controller.service.anchors import Checkpoint
from fleet.errors import SyncRefused, refused, replayed
from fleet.store import CentralStore, Claim, Ingested


class SyncDesk:
    """Receives the signed requests of every bank for one centre."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self._keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
        self._pinned: dict[str, str] | None = None  # every bank's key, read in one query on first use

    def batch(self, bank_id: str, body: bytes, signature: str) -> Ingested:
        """Check and store one batch; ``SyncRefused`` (raised as a fleet alarm too) when it is refused."""
        with self._alarmed(bank_id):
            pem, verifier = self._verifier(bank_id)
            document = unseal(body, bank_id, signature, verifier, BATCH)
            rows = [_row(values) for values in document.get("events", [])]
            claim = _claim(document.get("checkpoint"), verifier)
            # The nonce is claimed in the batch's own transaction: one commit per batch. A body refused above
            # (its rows, its checkpoint's signature) leaves its nonce unclaimed: sent again, it is refused again.
            return self.store.ingest(bank_id, int(document["after"]), rows, claim, nonce=document["nonce"],
                                     key=pem)

    def heartbeat(self, bank_id: str, body: bytes, signature: str) -> int:
        """Record a bank's heartbeat; the position the centre holds of its log."""
        with self._alarmed(bank_id):
            document = self._unseal(bank_id, body, signature, HEARTBEAT)
            health = document.get("health") if isinstance(document.get("health"), dict) else {}
            return self.store.heartbeat(bank_id, health, float(document.get("interval_s", 10.0))).position

    def signed(self, bank_id: str, body: bytes, signature: str, kind: str) -> dict[str, Any]:
        """The document of any other signed request of ``kind`` from ``bank_id``, checked like a batch's."""
        with self._alarmed(bank_id):
            return dict(self._unseal(bank_id, body, signature, kind))

    def forget_old_nonces(self) -> int:
        """Drop nonces older than twice the accepted age (their requests are refused by their time)."""
        return self.store.forget_nonces((datetime.now(UTC) - timedelta(seconds=2 * MAX_AGE_S)).isoformat())

    def _verifier(self, bank_id: str) -> tuple[str, Ed25519PublicKey]:
        """The bank's pinned key, read once (a pinned key is never replaced; a batch checks it is still pinned)."""
        cached = self._keys.get(bank_id)
        if cached is None:
            if self._pinned is None:
                self._pinned = self.store.public_keys()
            # A bank enrolled since (or unknown: UnknownBank) is read on its own.
            pem = self._pinned.pop(bank_id, None) or self.store.bank(bank_id).public_key
            cached = (pem, parse_public_key(pem.encode(), f"bank {bank_id}'s enrolled key"))
            self._keys[bank_id] = cached
        return cached

    def _unseal(self, bank_id: str, body: bytes, signature: str, kind: str) -> Any:
        document = unseal(body, bank_id, signature, self._verifier(bank_id)[1], kind)
        if not self.store.claim_nonce(bank_id, document["nonce"]):
            raise replayed(document["nonce"])
        return document

    @contextmanager
    def _alarmed(self, bank_id: str) -> Iterator[None]:
        """A ``SyncRefused`` inside becomes a fleet alarm of the bank, and is raised on."""
        try:
            yield
        except SyncRefused as refusal:
            if refusal.kind == "bad_signature":
                self._keys.pop(bank_id, None)  # read the pinned key afresh next time
            self.store.raise_alarm(bank_id, refusal.kind, refusal.what)
            raise


def _row(values: Any) -> RawRecord:
    try:
        if len(values) != len(ROW_FIELDS):
            raise ValueError(f"{len(values)} fields, not {len(ROW_FIELDS)}")
        position, cid, version, occurred_at, kind, schema, payload, correlation, digest, previous = values
        return RawRecord(int(position), str(cid), int(version), str(occurred_at), str(kind), int(schema),
                         str(payload), str(correlation), str(digest), str(previous))
    except (TypeError, ValueError) as exc:
        raise refused("chain.not_a_row", error=str(exc)) from None


def _claim(raw: Any, verifier: Ed25519PublicKey) -> Claim | None:
    if raw is None:
        return None
    try:
        checkpoint = Checkpoint.from_line(canonical_json(raw))
    except (ValueError, TypeError) as exc:
        raise refused("checkpoint.unreadable", error=str(exc)) from None
    if not is_authentic(checkpoint, verifier):
        raise refused("bad_signature.checkpoint", position=checkpoint.position)
    return Claim(checkpoint.position, checkpoint.head_hash, checkpoint.events, checkpoint.log_id,
                 checkpoint.to_line())
