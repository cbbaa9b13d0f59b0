"""One-time PIN hashes in the template vault: salted scrypt, matched in constant time, shredded by ref.

A mixin of ``storage.templates.SqliteTemplateStore``: the ``pins`` table lives in the vault's SQLite
file beside the templates, and ``destroy(ref)`` deletes a PIN row exactly as it deletes a template row
(``secure_delete`` on), so a PIN is shredded with its deposit. Only the hash is kept: scrypt
(memory-hard, 16 MiB per hash with the parameters below) over the PIN with a random 16-byte salt per
PIN; the cost parameters are stored per row so that a later release can raise them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

SALT_BYTES = 16
HASH_BYTES = 32
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""About 80 ms and 16 MiB per hash on a 2-core VM: 10^8 PINs cost years of CPU offline, per PIN."""

PINS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS pins (ref TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL, "
    "n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL)"
)
_DUMMY_SALT = b"\x00" * SALT_BYTES


def pin_hash(pin: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    """The scrypt hash of a PIN under ``salt``."""
    memory = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=HASH_BYTES)


class PinHashes:
    """The vault's PIN operations (mixed into the template store, which supplies ``_transaction``)."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # pragma: no cover - the template store's

    def put_pin(self, pin: str) -> str:
        """Hash and store a PIN under a fresh random ref; return the ref (the PIN itself is not kept)."""
        ref = "pin-" + secrets.token_urlsafe(18)
        salt = secrets.token_bytes(SALT_BYTES)
        digest = pin_hash(pin, salt)
        with self._transaction() as db:
            db.execute("INSERT INTO pins VALUES (?, ?, ?, ?, ?, ?)", (ref, salt, digest, SCRYPT_N, SCRYPT_R, SCRYPT_P))
        return ref

    def match_pin(self, pin: str, refs: Sequence[str]) -> str | None:
        """The ref among ``refs`` whose PIN this is, or None.

        Every candidate is hashed and compared with ``hmac.compare_digest`` whether or not one matched
        already, and one hash is computed even when there is no candidate, so the time taken tells
        neither whether nor where the PIN matched.
        """
        rows = list(self._rows(refs))
        found = None
        for ref, salt, digest, n, r, p in rows:
            if hmac.compare_digest(pin_hash(pin, salt, n, r, p), digest):
                found = ref
        if not rows:
            pin_hash(pin, _DUMMY_SALT)
        return found

    def pin_refs(self) -> list[str]:
        """The refs of every stored PIN hash, sorted."""
        with self._transaction() as db:
            return [row[0] for row in db.execute("SELECT ref FROM pins ORDER BY ref")]

    def _rows(self, refs: Sequence[str]) -> Iterator[tuple[str, bytes, bytes, int, int, int]]:
        with self._transaction() as db:
            rows = [db.execute("SELECT ref, salt, hash, n, r, p FROM pins WHERE ref = ?", (ref,)).fetchone()
                    for ref in refs]
        for row in rows:
            if row is not None:
                ref, salt, digest, n, r, p = row
                yield str(ref), bytes(salt), bytes(digest), int(n), int(r), int(p)
