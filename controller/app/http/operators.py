"""Named operator accounts in a small SQLite file beside the bank's data (``operators.db``).

Passwords are hashed with scrypt (memory-hard, standard library); API tokens for scripts are
random and only their SHA-256 is kept, with an expiry (tokens issued before expiries existed keep working
until revoked: a script that ran yesterday must not stop at an upgrade). A disabled account neither logs in
nor acts through its tokens. Roles: ``operator`` (acts on compartments) and ``auditor``
(reads the log, the grid and the metrics, changes nothing). At a centre an account may be limited to some
banks (``operator_banks``; no row: every bank); a bank's own API has one bank and ignores the limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Final

from controller.domain.errors import LockerError

ROLES: Final = ("operator", "auditor")
NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD: Final = 10
# scrypt cost: 2^15 x 8 x 128 B = 32 MiB per check (OWASP's minimum is 2^17 x 8 x 1 ~ 128 MiB with p=1;
# this kiosk computer also runs face recognition, so we take n=2^15 and say so).
SCRYPT_N: Final = 1 << 15
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('operator', 'auditor')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    token_sha256 TEXT PRIMARY KEY,
    operator TEXT NOT NULL REFERENCES operators(name),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_banks (
    operator TEXT NOT NULL REFERENCES operators(name),
    bank_id TEXT NOT NULL,
    PRIMARY KEY (operator, bank_id)
);
"""
# Columns added after the first release, to files made before it (NULL expiry: never expires).
_ADDED_COLUMNS: Final = (
    ("operators", "disabled", "INTEGER NOT NULL DEFAULT 0"),
    ("api_tokens", "expires_at", "TEXT"),
)


class OperatorError(LockerError):
    """A refused account change (bad name, role or password, or a duplicate)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an operator account, the kiosk, or the legacy shared token."""

    name: str
    role: str
    via: str


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)


def token_digest(token: str) -> str:
    """SHA-256 hex of a bearer token (what is stored and configured)."""
    return hashlib.sha256(token.encode()).hexdigest()


class OperatorDirectory:
    """The accounts file; opened per use, so the CLI and the daemon can share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schema_made = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._schema_made:  # once per process, not on every authenticated request
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path)
        try:
            if not self._schema_made:
                connection.executescript(_SCHEMA)
                _add_missing_columns(connection)
                self._schema_made = True
            with connection:
                yield connection
        finally:
            connection.close()

    def add(self, name: str, password: str, role: str = "operator") -> None:
        """Create an account (refuses a bad name or role, a short password, a taken name)."""
        if not NAME_PATTERN.match(name):
            raise OperatorError(f"operator name {name!r} must be 1-64 letters, digits or . _ @ - (no spaces)")
        if role not in ROLES:
            raise OperatorError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        _check_password_length(password)
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO operators (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    (name, role, hash_password(password), _now()),
                )
            except sqlite3.IntegrityError:
                raise OperatorError(f"operator {name!r} already exists") from None
        self.path.chmod(0o600)

    def names(self) -> list[tuple[str, str]]:
        """Every (name, role), by name."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            return [(str(n), str(r)) for n, r in db.execute("SELECT name, role FROM operators ORDER BY name")]

    def authenticate(self, name: str, password: str) -> Principal | None:
        """The account when the password is right, else None (a missing name costs a hash too)."""
        row = self._row("SELECT name, role, password_hash FROM operators WHERE name = ? AND disabled = 0", name)
        stored = row[2] if row else _dummy_hash()
        if check_password(password, stored) and row:
            return Principal(row[0], row[1], "session")
        return None

    def issue_token(self, name: str, expires_in: timedelta | None = None) -> str:
        """A new API token for ``name`` (shown once; only its SHA-256 is kept); ``None``: it never expires."""
        self._require(name)
        token = secrets.token_urlsafe(32)
        expires_at = (datetime.now(UTC) + expires_in).isoformat() if expires_in is not None else None
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_tokens (token_sha256, operator, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (token_digest(token), name, _now(), expires_at),
            )
        return token

    def by_token(self, token: str) -> Principal | None:
        """The enabled account an unexpired, unrevoked API token belongs to."""
        query = (
            "SELECT o.name, o.role FROM api_tokens t JOIN operators o ON o.name = t.operator"
            " WHERE t.token_sha256 = ? AND o.disabled = 0 AND (t.expires_at IS NULL OR t.expires_at > ?)"
        )
        row = self._row(query, token_digest(token), _now())
        return Principal(row[0], row[1], "token") if row else None

    def is_enabled(self, name: str) -> bool:
        """True while the account exists and is not disabled (a live session ends when this turns false)."""
        return self._row("SELECT name FROM operators WHERE name = ? AND disabled = 0", name) is not None

    def remove(self, name: str) -> None:
        """Delete an account and every token of it."""
        self._require(name)
        with self._connect() as db:
            db.execute("DELETE FROM api_tokens WHERE operator = ?", (name,))
            db.execute("DELETE FROM operator_banks WHERE operator = ?", (name,))
            db.execute("DELETE FROM operators WHERE name = ?", (name,))

    def set_disabled(self, name: str, disabled: bool) -> None:
        """Disable an account (no login, its tokens refused) or enable it again."""
        self._require(name)
        with self._connect() as db:
            db.execute("UPDATE operators SET disabled = ? WHERE name = ?", (int(disabled), name))

    def set_banks(self, name: str, bank_ids: Sequence[str]) -> None:
        """Limit an account to ``bank_ids`` at a centre (an empty list: every bank)."""
        self._require(name)
        with self._connect() as db:
            db.execute("DELETE FROM operator_banks WHERE operator = ?", (name,))
            db.executemany("INSERT INTO operator_banks (operator, bank_id) VALUES (?, ?)",
                           [(name, bank_id) for bank_id in sorted(set(bank_ids))])

    def banks_of(self, name: str) -> frozenset[str]:
        """The banks an account is limited to; empty when it sees every bank."""
        if not self.path.exists():
            return frozenset()
        with self._connect() as db:
            rows = db.execute("SELECT bank_id FROM operator_banks WHERE operator = ?", (name,))
            return frozenset(str(bank_id) for (bank_id,) in rows)

    def set_password(self, name: str, password: str) -> None:
        """Replace an account's password."""
        self._require(name)
        _check_password_length(password)
        with self._connect() as db:
            db.execute("UPDATE operators SET password_hash = ? WHERE name = ?", (hash_password(password), name))

    def revoke_tokens(self, name: str, token: str | None = None) -> int:
        """Revoke one token of ``name`` (``token``) or all of them; how many were revoked."""
        self._require(name)
        with self._connect() as db:
            if token is None:
                return db.execute("DELETE FROM api_tokens WHERE operator = ?", (name,)).rowcount
            query = "DELETE FROM api_tokens WHERE operator = ? AND token_sha256 = ?"
            return db.execute(query, (name, token_digest(token))).rowcount

    def _require(self, name: str) -> None:
        if self._row("SELECT name FROM operators WHERE name = ?", name) is None:
            raise OperatorError(f"no operator {name!r}: add it first with `lockers operators add {name}`")

    def _row(self, query: str, *values: str) -> tuple[str, ...] | None:
        if not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute(query, values).fetchone()
        return tuple(str(v) for v in row) if row else None


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password must have at least {MIN_PASSWORD} characters")


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    for table, column, declaration in _ADDED_COLUMNS:
        present = {str(row[1]) for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


@cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def _now() -> str:
    return datetime.now(UTC).isoformat()
