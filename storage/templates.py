"""Encrypted biometric template store: one data key per template, sealed by a rotated vault key.

Layout (one SQLite file, separate from the event log)::

    meta(name, value)                       the master key's check value, the vault key's fingerprint
    templates(ref, model_version, dimensions, created_at, sealed_key, key_nonce, nonce, ciphertext)

Each template is encrypted with AES-256-GCM under its own random data key; the data key is sealed
(AES-256-GCM) under the vault key, which lives in ``<vault>.key`` wrapped by the master key from
configuration (see ``storage.vault_keys``). Both carry the template ref (and model version) as
associated data, so a row copied under another ref or a tampered byte fails to open. ``destroy``
deletes the row with ``secure_delete`` on; ``rotate`` re-seals the live data keys under a new vault
key and destroys the old one, so a copy of the vault taken before a release cannot be opened with the
keys that exist afterwards (crypto-shredding that outlives backups). A vault from before vault keys
(data keys sealed by the master key itself) is rotated onto a vault key when first opened.

Errors (all ``TemplateError``, a ``LockerError``)::

    TemplateError
    ├── MasterKeyError       the master key is malformed or is not the one the store was sealed with
    ├── VaultKeyMismatch     the vault key file is missing, damaged or does not belong to this vault
    ├── TemplateNotFound     no template under this ref (never stored, or destroyed)
    ├── TemplateCorrupt      authentication failed: the row was tampered with or damaged
    └── VaultUnavailable     the vault file cannot be written now (a full disk, a lock): also ``DatabaseUnavailable``
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.domain.errors import LockerError
from storage.errors import DatabaseUnavailable
from storage.pins import PINS_SCHEMA, PinHashes
from storage.vault_keys import (
    VaultKeyError,
    install,
    key_file_for,
    key_id,
    pending_file_for,
    read_key,
    wrap,
    write_secret_file,
)

Embedding = npt.NDArray[np.float32]

KEY_BYTES = 32
NONCE_BYTES = 12
_CHECK_LABEL = b"lockers-template-store/master-key-check/v1"
NEXT_KEY_WRITTEN = "next_key_written"
"""A rotation's step: the new key is durable in ``<key>.next``; the vault still uses the old key."""
SWITCHED = "switched"
"""A rotation's step: the vault is committed under the new key; the key file still holds the old one."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS templates (
        ref TEXT PRIMARY KEY, model_version TEXT NOT NULL, dimensions INTEGER NOT NULL,
        created_at TEXT NOT NULL, sealed_key BLOB NOT NULL, key_nonce BLOB NOT NULL,
        nonce BLOB NOT NULL, ciphertext BLOB NOT NULL)""",
    PINS_SCHEMA,
)


class TemplateError(LockerError):
    """Root of the template store's errors."""


class VaultKeyMismatch(TemplateError, VaultKeyError):
    """The vault key file is missing or is not the key this vault's templates are sealed with."""


class MasterKeyError(TemplateError):
    """The master key is malformed, or the store was sealed with a different one."""


class VaultUnavailable(TemplateError, DatabaseUnavailable):
    """The vault cannot be written now (a full disk, a lock held elsewhere): retry later, nothing changed."""


class TemplateNotFound(TemplateError):
    """No template under this ref: never stored, or destroyed."""


class TemplateCorrupt(TemplateError):
    """A template failed authentication: its row was tampered with or damaged."""


def generate_master_key() -> str:
    """A fresh random master key, base64-encoded, for the configuration file."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_master_key(encoded: str) -> bytes:
    """Decode a base64 master key from configuration; it must be exactly 32 bytes."""
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError("template master key is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"template master key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What can be known about a template without decrypting it."""

    ref: str
    model_version: str
    dimensions: int
    created_at: str


class SqliteTemplateStore(PinHashes):
    """Template vault in a SQLite file (and the deposits' PIN hashes, see ``storage.pins``)."""

    def __init__(self, path: Path | str, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise MasterKeyError(f"template master key must be {KEY_BYTES} bytes, got {len(master_key)}")
        self._master_key = master_key
        self._check = hmac.new(master_key, _CHECK_LABEL, hashlib.sha256).digest()
        self._lock = threading.Lock()
        self.path = Path(path)
        self.key_file = key_file_for(self.path)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._configure()
        self._verify_master_key()
        self._open_vault_key()

    def _configure(self) -> None:
        # secure_delete zeroes freed pages and the rollback journal keeps no copy after commit:
        # a destroyed key is really gone from the file, not just unlinked.
        for pragma in ("secure_delete = ON", "journal_mode = DELETE", "synchronous = FULL"):
            self._db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def _verify_master_key(self) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)", (self._check,))
            elif not hmac.compare_digest(bytes(row[0]), self._check):
                raise MasterKeyError("the template store was sealed with a different master key")

    def _open_vault_key(self) -> None:
        with self._lock:
            stored = self._stored_key_id(self._db)
        if stored is None:  # a new vault, or one sealed by the master key itself: move it onto a vault key
            self._sealer, self._key_id = AESGCM(self._master_key), b""
            self.rotate()
            return
        self._load_key(stored)

    @staticmethod
    def _stored_key_id(db: sqlite3.Connection) -> bytes | None:
        row = db.execute("SELECT value FROM meta WHERE name = 'vault_key_id'").fetchone()
        return None if row is None else bytes(row[0])

    def _load_key(self, wanted: bytes) -> None:
        pending = pending_file_for(self.key_file)
        for candidate in (self.key_file, pending):
            try:
                key = read_key(candidate, self._master_key)
            except VaultKeyError as exc:
                raise VaultKeyMismatch(str(exc)) from exc
            if key is not None and hmac.compare_digest(key_id(key), wanted):
                if candidate == pending:  # a rotation committed, then stopped before installing its key
                    install(pending, self.key_file)
                self._sealer, self._key_id = AESGCM(key), wanted
                return
        raise VaultKeyMismatch(f"vault key {self.key_file} is missing or does not belong to this vault: "
                               "its templates cannot be opened")

    def _follow_rotation(self, db: sqlite3.Connection) -> None:
        # Another process (`lockers keys rotate` beside a running controller) may have rotated the vault.
        stored = self._stored_key_id(db)
        if stored is not None and stored != self._key_id:
            self._load_key(stored)

    def rotate(self, step: Callable[[str], None] | None = None) -> int:
        """Re-seal every live template under a new vault key, then destroy the old key; returns the count.

        Crash-safe: the new key is written to ``<key>.next`` first, the vault switches in one transaction,
        and only then does the new file replace the old one; opening the vault finishes a rotation that
        committed and ignores one that did not, so no template is lost either way. ``step`` is called with
        ``NEXT_KEY_WRITTEN`` and ``SWITCHED`` as the rotation passes them (where crash tests kill it).
        """
        step = step or _no_step
        new_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        pending = pending_file_for(self.key_file)
        with self._lock:
            pending.unlink(missing_ok=True)  # left by a rotation that stopped before committing
            write_secret_file(pending, wrap(self._master_key, new_key))
            step(NEXT_KEY_WRITTEN)
            try:
                with self._begun() as db:
                    if self._key_id:
                        self._follow_rotation(db)
                    count = self._reseal(db, AESGCM(new_key))
                    db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('vault_key_id', ?)",
                               (key_id(new_key),))
            except BaseException:
                pending.unlink(missing_ok=True)
                raise
            self._sealer, self._key_id = AESGCM(new_key), key_id(new_key)
            step(SWITCHED)
            install(pending, self.key_file)
        return count

    def _reseal(self, db: sqlite3.Connection, sealer: AESGCM) -> int:
        rows = db.execute("SELECT ref, model_version, dimensions, sealed_key, key_nonce FROM templates").fetchall()
        for ref, model_version, dimensions, sealed_key, key_nonce in rows:
            aad = _associated_data(ref, model_version, dimensions)
            try:
                data_key = self._sealer.decrypt(key_nonce, sealed_key, aad)
            except InvalidTag as exc:
                raise TemplateCorrupt(f"key rotation stopped, nothing changed: template {ref!r} failed "
                                      "authentication (tampered or damaged)") from exc
            nonce = secrets.token_bytes(NONCE_BYTES)
            db.execute("UPDATE templates SET sealed_key = ?, key_nonce = ? WHERE ref = ?",
                       (sealer.encrypt(nonce, data_key, aad), nonce, ref))
        return len(rows)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._begun() as db:
            yield db

    @contextmanager
    def _begun(self) -> Iterator[sqlite3.Connection]:
        # The caller holds self._lock.
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back by itself after a full disk
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise VaultUnavailable(f"template vault {self.path}: {exc}") from exc

    def put(self, embedding: Embedding, model_version: str) -> str:
        """Encrypt and store a template; return its opaque random ref."""
        vector = _as_vector(embedding)
        ref = secrets.token_urlsafe(18)
        data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        key_nonce, nonce = secrets.token_bytes(NONCE_BYTES), secrets.token_bytes(NONCE_BYTES)
        aad = _associated_data(ref, model_version, vector.size)
        ciphertext = AESGCM(data_key).encrypt(nonce, vector.astype("<f4").tobytes(), aad)
        with self._transaction() as db:  # sealed under the lock: a rotation cannot slip in between
            self._follow_rotation(db)
            sealed_key = self._sealer.encrypt(key_nonce, data_key, aad)
            row = (ref, model_version, vector.size, datetime.now(UTC).isoformat(), sealed_key, key_nonce)
            db.execute("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, nonce, ciphertext))
        return ref

    def get(self, ref: str) -> Embedding:
        """Decrypt one template; raise ``TemplateNotFound`` or ``TemplateCorrupt``."""
        with self._transaction() as db:  # one snapshot: the row and the key it is sealed under
            self._follow_rotation(db)
            row = db.execute(
                "SELECT model_version, dimensions, sealed_key, key_nonce, nonce, ciphertext "
                "FROM templates WHERE ref = ?",
                (ref,),
            ).fetchone()
            sealer = self._sealer
        if row is None:
            raise TemplateNotFound(f"no template under ref {ref!r}")
        model_version, dimensions, sealed_key, key_nonce, nonce, ciphertext = row
        aad = _associated_data(ref, model_version, dimensions)
        try:
            data_key = sealer.decrypt(key_nonce, sealed_key, aad)
            plain = AESGCM(data_key).decrypt(nonce, ciphertext, aad)
        except InvalidTag as exc:
            raise TemplateCorrupt(f"template {ref!r} failed authentication (tampered or damaged)") from exc
        return np.frombuffer(plain, dtype="<f4").astype(np.float32)

    def info(self, ref: str) -> TemplateInfo:
        """A template's metadata, without decrypting it."""
        with self._lock:
            row = self._db.execute(
                "SELECT ref, model_version, dimensions, created_at FROM templates WHERE ref = ?", (ref,)
            ).fetchone()
        if row is None:
            raise TemplateNotFound(f"no template under ref {ref!r}")
        return TemplateInfo(*row)

    def destroy(self, template_ref: str) -> None:
        """Crypto-shred a template (its sealed key and ciphertext) or a PIN hash; durable and idempotent."""
        with self._transaction() as db:
            db.execute("DELETE FROM templates WHERE ref = ?", (template_ref,))
            db.execute("DELETE FROM pins WHERE ref = ?", (template_ref,))

    def refs(self) -> list[str]:
        """The refs of every stored template, sorted."""
        with self._lock:
            return [row[0] for row in self._db.execute("SELECT ref FROM templates ORDER BY ref")]

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()


def _no_step(name: str) -> None:
    """A rotation step nobody watches."""


def _as_vector(embedding: Embedding) -> Embedding:
    vector = np.asarray(embedding)
    if vector.ndim != 1 or vector.size == 0 or not np.issubdtype(vector.dtype, np.floating):
        shape = f"{vector.dtype}{vector.shape}"
        raise TemplateError(f"a template must be a non-empty 1-d float vector, not {shape}")
    if not np.all(np.isfinite(vector)):
        raise TemplateError("a template must not contain NaN or infinity")
    return vector.astype(np.float32)


def _associated_data(ref: str, model_version: str, dimensions: int) -> bytes:
    return f"{ref}\x00{model_version}\x00{dimensions}".encode()
