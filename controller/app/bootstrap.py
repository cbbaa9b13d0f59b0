"""The composition root: the only core module that imports adapters (storage, plc, recognition)."""

from __future__ import annotations

from collections.abc import Callable

from controller.ports import EventStore
from controller.service.audit import Decoder


def default_database_url() -> str:
    """The log of the default configuration: SQLite in the data directory (``LOCKERS_DATA_DIR``, else ``./var``)."""
    from controller.app.config.location import bank_config, database_url

    return database_url(bank_config(None))


def open_event_store(url: str | None, *, create: bool = True) -> EventStore:
    """The SQL event store at ``url`` (SQLite by default, PostgreSQL for fleets).

    With ``create`` a missing database is made and migrated; without it (audits, status) a missing or
    outdated database is a clear error rather than a new empty log.
    """
    from storage.event_store import SqlEventStore

    return SqlEventStore.from_url(url or default_database_url(), create=create)


def take_writer_lease(url: str | None) -> Callable[[], None]:
    """Hold the one-writer lease on the log at ``url`` (default: the data directory's); returns its release.

    Raises ``storage.lease.LeaseHeld`` (a ``LockerError``) naming the holder when another controller runs.
    """
    from storage.lease import acquire_lease

    return acquire_lease(url or default_database_url()).release


def event_decoder() -> Decoder:
    """Turns stored rows back into events, upcasting old schema versions."""
    from storage.serialization import EventSerializer

    return EventSerializer().decode
