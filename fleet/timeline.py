"""A bank's recent events from the centre's copy, newest last: the fleet console's timeline and evidence."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy import select

from controller.domain.chain import RawRecord
from fleet.schema import events
from fleet.store import CentralStore

# RawRecord's fields in order, as the centre's columns (the payload column is named for what it holds).
_COLUMNS = [events.c["payload" if field.name == "payload_json" else field.name] for field in fields(RawRecord)]


def recent_rows(store: CentralStore, bank_id: str, limit: int, compartment_id: str | None = None) -> list[RawRecord]:
    """The last ``limit`` events of ``bank_id`` (of one compartment when given), in position order."""
    query = select(*_COLUMNS).where(events.c.bank_id == bank_id)
    if compartment_id is not None:
        query = query.where(events.c.compartment_id == compartment_id)
    # Newest first on the (bank, position) key, so a long log is never read whole; then turned back.
    query = query.order_by(events.c.position.desc()).limit(limit)
    with store.engine.connect() as db:
        rows = [RawRecord(*row) for row in db.execute(query)]
    return rows[::-1]
