"""A fleet bank runs the centre's commands: pulled (no open port), checked, at most once, outcome reported.

Each pulled command must be signed by the centre's key the bank pinned (``[fleet] central_public_key``),
name this bank, and not be expired. Its id goes into ``<data_dir>/fleet-commands.db`` before it runs, so a
command delivered again (a lost report, a restarted centre) is answered with its recorded outcome and never
runs twice; one that started but has no outcome (the bank stopped mid-way) is reported ``unknown`` (an alarm
at the centre), never retried. It runs through the bank's own controller, so the bank's log records it with
the operator's name (``central:NAME``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.app.audit.keys import load_public_key, verifies
from controller.app.central.envelope import COMMAND, OUTCOME, PULL
from controller.app.config.loader import Config
from controller.app.run.fleet_link import FleetLink
from controller.domain.errors import LockerError, UnlockOutcomeUnknown
from controller.service.bank import LockerBank

LEDGER_FILE = "fleet-commands.db"
Outcome = tuple[str, str]


class LedgerError(LockerError):
    """The command ledger cannot be read or written: the command does not run (logged, tried again later)."""


class CommandLedger:
    """Every command id the bank took, and its outcome once known (a small SQLite file in the data dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, taken_at TEXT NOT NULL,"
                       " outcome TEXT, detail TEXT)")

    def recorded(self, command_id: str) -> Outcome | None:
        """The outcome of a command taken before (``unknown`` if it never finished); None for a new one."""
        with self._connect() as db:
            row = db.execute("SELECT outcome, detail FROM commands WHERE id = ?", (command_id,)).fetchone()
        if row is None:
            return None
        return (row[0], row[1]) if row[0] else ("unknown", "the bank stopped while it ran; not retried")

    def take(self, command_id: str) -> None:
        """Record that the command starts (committed before it runs)."""
        with self._connect() as db:
            db.execute("INSERT INTO commands (id, taken_at) VALUES (?, ?)", (command_id, datetime.now(UTC).isoformat()))

    def settle(self, command_id: str, outcome: Outcome) -> None:
        """Record its outcome."""
        with self._connect() as db:
            db.execute("UPDATE commands SET outcome = ?, detail = ? WHERE id = ?", (*outcome, command_id))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
            try:
                connection.execute("PRAGMA synchronous = FULL")
                yield connection
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise LedgerError(f"the command ledger {self.path}: {exc}") from exc


@dataclass
class CommandRunner:
    """Pulls the bank's commands every sync interval and runs each at most once."""

    link: FleetLink
    bank: LockerBank
    verifier: Ed25519PublicKey
    ledger: CommandLedger

    @classmethod
    def start(cls, config: Config, link: FleetLink, bank: LockerBank) -> CommandRunner | None:
        """The runner of a bank that pinned its centre's key; None without ``[fleet] central_public_key``."""
        settings = config.site.fleet
        if settings is None or settings.central_public_key is None:
            return None
        verifier = load_public_key(Path(settings.central_public_key), kind="centre", command="lockers central run")
        return cls(link, bank, verifier, CommandLedger(config.data_dir / LEDGER_FILE))

    async def run(self) -> None:
        """Pull forever; a centre away is logged by the link, never raised."""
        while True:
            await self.link.attempt(self.pull_once)
            await asyncio.sleep(self.link.settings.sync_interval_s)

    async def pull_once(self) -> int:
        """Run every pending command and report each outcome; how many came."""
        answer = await asyncio.to_thread(self.link.post, "/commands/pull", {"format": PULL})
        pulled = answer.get("commands") or []
        for item in pulled:
            command_id, outcome = await self.execute(item)
            report = {"format": OUTCOME, "id": command_id, "outcome": outcome[0], "detail": outcome[1]}
            await asyncio.to_thread(self.link.post, "/commands/outcome", report)
        return len(pulled)

    async def execute(self, item: dict[str, Any]) -> tuple[str, Outcome]:
        """Check one delivered command and run it unless it ran before; its id and outcome."""
        body, signature = str(item.get("body", "")), str(item.get("signature", ""))
        try:
            command = json.loads(body)
            command_id = str(command["id"])
        except (ValueError, KeyError, TypeError):
            return "", ("refused", "not a command")
        if not verifies(body.encode(), signature, self.verifier):
            return command_id, ("refused", "not signed by the centre's pinned key")
        if command.get("format") != COMMAND or command.get("bank_id") != self.link.settings.bank_id:
            return command_id, ("refused", f"a command for bank {command.get('bank_id')!r}, not this one")
        prior = self.ledger.recorded(command_id)
        if prior is not None:
            return command_id, prior  # delivered again: never run twice
        self.ledger.take(command_id)
        outcome = await self._run(command)
        self.ledger.settle(command_id, outcome)
        return command_id, outcome

    async def _run(self, command: dict[str, Any]) -> Outcome:
        if datetime.now(UTC) > datetime.fromisoformat(command["expires_at"]):
            return ("expired", f"expired at {command['expires_at']}")
        actions: dict[str, Callable[[str, str, str], Awaitable[None]]] = {
            "maintenance_unlock": self.bank.maintenance_unlock,
            "clear_alarm": self.bank.clear_alarm,
            "out_of_service": self.bank.take_out_of_service,
        }
        action = actions.get(command.get("action", ""))
        if action is None:
            return ("refused", f"unknown action {command.get('action')!r}")
        try:
            await action(str(command["compartment_id"]), f"central:{command['operator']}", str(command["note"]))
        except UnlockOutcomeUnknown as exc:
            return ("unknown", str(exc))
        except LockerError as exc:
            return ("refused", str(exc))
        return ("done", "")
