"""Which bank a log belongs to: the one row of the ``bank`` table (migration 0002), written once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from storage.engine import open_engine, parse_url, unavailable_as_storage_error
from storage.schema import bank, events


def log_identity(url: str) -> tuple[str | None, int]:
    """The bank id the log at ``url`` records (None before any controller claimed it) and its event count."""
    parsed = parse_url(url)
    engine = open_engine(parsed)
    try:
        with unavailable_as_storage_error(parsed), engine.connect() as connection:
            bank_id = connection.execute(select(bank.c.bank_id)).scalar_one_or_none()
            count = connection.execute(select(func.count()).select_from(events)).scalar_one()
            return bank_id, int(count)
    finally:
        engine.dispose()


def claim_log(url: str, bank_id: str) -> None:
    """Record ``bank_id`` as the log's owner: once (a second claim conflicts; the row refuses UPDATE, DELETE)."""
    parsed = parse_url(url)
    engine = open_engine(parsed)
    try:
        with unavailable_as_storage_error(parsed), engine.connect() as connection:
            connection.exec_driver_sql("BEGIN")
            connection.execute(insert(bank).values(slot=1, bank_id=bank_id, claimed_at=datetime.now(UTC).isoformat()))
            connection.exec_driver_sql("COMMIT")
    finally:
        engine.dispose()
