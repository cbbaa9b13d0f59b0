"""An in-memory event store for unit tests: the same contract as ``SqlEventStore``, no IO."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from itertools import islice

from controller.domain.chain import GENESIS_HASH, RawRecord
from controller.domain.events import Event
from controller.ports import StoredEvent
from storage.batch import encode_batch, link
from storage.errors import VersionConflict
from storage.serialization import EventSerializer


class InMemoryEventStore:
    """Keeps rows as ``RawRecord``s in a list; encodes, chains and decodes exactly like the SQL store."""

    def __init__(self, serializer: EventSerializer | None = None) -> None:
        self._serializer = serializer or EventSerializer()
        self._rows: list[RawRecord] = []
        self._streams: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_records(
        cls, records: Iterable[RawRecord], serializer: EventSerializer | None = None
    ) -> InMemoryEventStore:
        """A store holding ``records`` as they are (e.g. rows read from another store), unchecked."""
        store = cls(serializer)
        for record in records:
            store._rows.append(record)
            store._streams.setdefault(record.compartment_id, []).append(len(store._rows))
        return store

    def append(self, compartment_id: str, expected_version: int, events: Sequence[Event]) -> list[StoredEvent]:
        """Append atomically; raise ``VersionConflict`` when the stream is not at ``expected_version``."""
        encoded = encode_batch(self._serializer, compartment_id, expected_version, events)
        if not encoded:
            return []
        with self._lock:
            stream = self._streams.get(compartment_id, [])
            if len(stream) != expected_version:
                raise VersionConflict(compartment_id, expected_version, len(stream))
            head = self._rows[-1].event_hash if self._rows else GENESIS_HASH
            stored = []
            for event, row in zip(events, link(head, encoded), strict=True):
                position = len(self._rows) + 1
                self._rows.append(replace(row, position=position))
                self._streams.setdefault(compartment_id, []).append(position)
                stored.append(StoredEvent(position, event, row.event_hash, row.previous_hash))
            return stored

    def read_stream(self, compartment_id: str) -> list[Event]:
        """Every event of one compartment, in version order."""
        with self._lock:
            records = [self._rows[p - 1] for p in self._streams.get(compartment_id, [])]
        return [self._serializer.decode(record) for record in records]

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after global position ``after``, in position order."""
        for record in islice(self.read_raw(after), limit):
            event = self._serializer.decode(record)
            yield StoredEvent(record.position, event, record.event_hash, record.previous_hash)

    def read_raw(self, after: int = 0) -> Iterator[RawRecord]:
        """Every row as stored, undecoded, in position order."""
        with self._lock:
            snapshot = self._rows[max(after, 0) :]
        yield from snapshot

    def stream_ids(self) -> list[str]:
        """The ids of every compartment that has events, sorted."""
        with self._lock:
            return sorted(self._streams)

    def close(self) -> None:
        """Nothing to release."""
