"""Named operator accounts in a small SQLite file beside the bank's data (``operators.db``).

Passwords are hashed with scrypt (memory-hard, standard library); API tokens for scripts are
random and only their SHA-256 is kept. Roles: ``operator`` (acts on compartments) and ``auditor``
(reads the log, the grid and the metrics, changes nothing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
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
"""


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
        if len(password) < MIN_PASSWORD:
            raise OperatorError(f"the password must have at least {MIN_PASSWORD} characters")
        with self._connect() as db:
            try:
                db.execute("INSERT INTO operators VALUES (?, ?, ?, ?)", (name, role, hash_password(password), _now()))
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
        row = self._row("SELECT name, role, password_hash FROM operators WHERE name = ?", name)
        stored = row[2] if row else _dummy_hash()
        if check_password(password, stored) and row:
            return Principal(row[0], row[1], "session")
        return None

    def issue_token(self, name: str) -> str:
        """A new API token for ``name`` (shown once; only its SHA-256 is kept)."""
        if self._row("SELECT name FROM operators WHERE name = ?", name) is None:
            raise OperatorError(f"no operator {name!r}: add it first with `lockers operators add {name}`")
        token = secrets.token_urlsafe(32)
        with self._connect() as db:
            db.execute("INSERT INTO api_tokens VALUES (?, ?, ?)", (token_digest(token), name, _now()))
        return token

    def by_token(self, token: str) -> Principal | None:
        """The account an API token belongs to."""
        query = (
            "SELECT o.name, o.role FROM api_tokens t JOIN operators o ON o.name = t.operator WHERE t.token_sha256 = ?"
        )
        row = self._row(query, token_digest(token))
        return Principal(row[0], row[1], "token") if row else None

    def _row(self, query: str, value: str) -> tuple[str, ...] | None:
        if not self.path.exists():
            return None
        with self._connect() as db:
            row = db.execute(query, (value,)).fetchone()
        return tuple(str(v) for v in row) if row else None


@cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def _now() -> str:
    return datetime.now(UTC).isoformat()
