"""Errors of the storage adapters.

Hierarchy::

    LockerError
    └── StorageError                  the store could not do what was asked
        ├── DatabaseUrlError          the database URL is malformed or names an unsupported backend
        ├── DatabaseUnavailable       the database is missing or does not answer
        ├── SchemaError               the schema is missing, behind the migrations, or differs from them
        ├── EventEncodingError        an event cannot be written (e.g. a naive datetime)
        ├── CorruptRecord             a stored row cannot be decoded
        └── VersionConflict           (also a ``ConcurrencyError``) the stream is not at the expected version
"""

from __future__ import annotations

from controller.domain.errors import ConcurrencyError, LockerError, StoreUnavailable


class StorageError(LockerError):
    """Root of the storage errors."""


class DatabaseUrlError(StorageError):
    """The database URL cannot be used."""


class DatabaseUnavailable(StoreUnavailable, StorageError):
    """The database does not exist or cannot be reached (also the core's ``StoreUnavailable``)."""


class SchemaError(StorageError):
    """The database schema does not match what this version of LOCKERS needs."""


class EventEncodingError(StorageError):
    """An event cannot be turned into a log row."""


class CorruptRecord(StorageError):
    """A stored row cannot be turned back into an event."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"corrupt event at position {position}: {reason}")


class VersionConflict(ConcurrencyError, StorageError):
    """Another writer appended to the stream first: reload it and decide again."""

    def __init__(self, compartment_id: str, expected: int, actual: int | None) -> None:
        self.compartment_id = compartment_id
        self.expected = expected
        self.actual = actual
        found = "a concurrent append" if actual is None else f"version {actual}"
        super().__init__(f"compartment {compartment_id}: expected version {expected}, found {found}")
