"""The centre's queue of commands for its banks: stored signed, delivered on each pull until an outcome comes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, insert, select, update

from fleet.schema import commands
from fleet.store import CentralStore, now_text

OUTCOMES = ("done", "refused", "expired", "unknown")


class CommandQueue:
    """Commands of every bank in the centre's database."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store

    def add(self, command_id: str, bank_id: str, body: str, signature: str, expires_at: str) -> None:
        """Queue a signed command for ``bank_id`` (its id is the command's own)."""
        self.store.bank(bank_id)  # UnknownBank for an id nobody enrolled
        with self.store.engine.begin() as db:
            db.execute(insert(commands).values(id=command_id, bank_id=bank_id, body=body, signature=signature,
                                               created_at=now_text(), expires_at=expires_at))

    def pull(self, bank_id: str) -> list[dict[str, str]]:
        """Every command of ``bank_id`` without an outcome yet, counted as delivered once more."""
        pending = and_(commands.c.bank_id == bank_id, commands.c.outcome.is_(None))
        with self.store.engine.begin() as db:
            rows = db.execute(select(commands.c.body, commands.c.signature).where(pending)
                              .order_by(commands.c.created_at)).all()
            db.execute(update(commands).where(pending).values(delivered=commands.c.delivered + 1))
        return [{"body": body, "signature": signature} for body, signature in rows]

    def report(self, bank_id: str, command_id: str, outcome: str, detail: str) -> bool:
        """Record the bank's outcome of a command (the first report counts); False for an unknown or settled id."""
        open_one = and_(commands.c.id == command_id, commands.c.bank_id == bank_id, commands.c.outcome.is_(None))
        with self.store.engine.begin() as db:
            changed = db.execute(update(commands).where(open_one).values(
                outcome=outcome if outcome in OUTCOMES else "unknown", detail=detail[:2000], reported_at=now_text()))
            return bool(changed.rowcount == 1)

    def of_bank(self, bank_id: str) -> list[dict[str, Any]]:
        """Every command of ``bank_id``, oldest first, with its delivery count and outcome."""
        query = (select(commands.c.id, commands.c.body, commands.c.created_at, commands.c.expires_at,
                        commands.c.delivered, commands.c.outcome, commands.c.detail)
                 .where(commands.c.bank_id == bank_id).order_by(commands.c.created_at))
        with self.store.engine.begin() as db:
            return [dict(row._mapping) for row in db.execute(query)]
