"""The EventStore contract, run against the in-memory store, a SQLite file and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest

from controller.domain.chain import GENESIS_HASH, canonical_json
from controller.domain.errors import ConcurrencyError, LockerError
from controller.domain.events import DoorOpened, Event
from controller.ports import EventStore
from storage.errors import EventEncodingError
from storage.event_store import SqlEventStore
from storage.memory import InMemoryEventStore
from storage.serialization import EVENT_TYPES, EventSerializer
from tests.support.events import T0, first_bad_position, flow


@dataclass(frozen=True, slots=True, kw_only=True)
class BinEmptied(Event):
    """A test-only event whose payload gained ``weight_g`` in schema version 2."""

    trigger: ClassVar[str] = "empty_bin"
    schema_version: ClassVar[int] = 2
    operator_id: str
    weight_g: int

    @staticmethod
    def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "weight_g": 0}


@dataclass(frozen=True, slots=True, kw_only=True)
class BinEmptiedV1(Event):
    """How ``BinEmptied`` looked when its old rows were written."""

    trigger: ClassVar[str] = "empty_bin"
    operator_id: str


class EventStoreContract:
    """Every EventStore implementation must pass these; subclasses provide ``create_store``."""

    def create_store(self, serializer: EventSerializer | None = None) -> EventStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        store = self.create_store()
        yield store
        store.close()

    def test_append_assigns_positions_and_chains_hashes(self, store: EventStore) -> None:
        first = store.append("1", 0, flow("1", 0, 3))
        second = store.append("2", 0, flow("2", 0, 2))
        stored = first + second
        assert [s.position for s in stored] == [1, 2, 3, 4, 5]
        assert stored[0].previous_hash == GENESIS_HASH
        for before, after in zip(stored, stored[1:], strict=False):
            assert after.previous_hash == before.event_hash
        assert len({s.event_hash for s in stored}) == 5

    def test_read_stream_returns_equal_events_in_version_order(self, store: EventStore) -> None:
        events = flow("7", 0, 11)
        store.append("7", 0, events[:4])
        store.append("8", 0, flow("8", 0, 2))
        store.append("7", 4, events[4:])
        assert store.read_stream("7") == events
        assert store.read_stream("unknown") == []

    def test_every_event_type_round_trips(self, store: EventStore) -> None:
        events = flow("1", 0, 22)
        assert {type(e).__name__ for e in events} >= set(EVENT_TYPES) - {"UnlockExpired", "VerificationTimedOut"}
        store.append("1", 0, events)
        assert [s.event for s in store.read_all()] == events

    def test_stale_expected_version_is_a_concurrency_error(self, store: EventStore) -> None:
        store.append("1", 0, flow("1", 0, 2))
        with pytest.raises(ConcurrencyError, match="expected version 1, found version 2"):
            store.append("1", 1, flow("1", 1, 1))
        assert len(store.read_stream("1")) == 2

    def test_expected_version_ahead_of_the_stream_is_refused(self, store: EventStore) -> None:
        store.append("1", 0, flow("1", 0, 1))
        with pytest.raises(ConcurrencyError):
            store.append("1", 5, flow("1", 5, 1))
        assert [r.version for r in store.read_raw()] == [1]

    def test_bad_event_in_a_batch_writes_nothing(self, store: EventStore) -> None:
        events = flow("1", 0, 3)
        naive = DoorOpened(compartment_id="1", version=3, occurred_at=datetime(2026, 1, 1))
        with pytest.raises(EventEncodingError, match="timezone-aware"):
            store.append("1", 0, [*events[:2], naive])
        assert list(store.read_raw()) == []

    def test_events_must_belong_to_the_stream_and_follow_its_version(self, store: EventStore) -> None:
        with pytest.raises(EventEncodingError, match="appended to stream 2"):
            store.append("2", 0, flow("1", 0, 1))
        with pytest.raises(LockerError, match="does not follow"):
            store.append("1", 0, flow("1", 1, 1))

    def test_empty_append_writes_nothing(self, store: EventStore) -> None:
        assert store.append("1", 0, []) == []
        assert list(store.read_all()) == []

    def test_read_all_after_and_limit(self, store: EventStore) -> None:
        for cid in "123":
            store.append(cid, 0, flow(cid, 0, 4))
        assert [s.position for s in store.read_all(after=5)] == list(range(6, 13))
        assert [s.position for s in store.read_all(after=2, limit=7)] == list(range(3, 10))
        assert list(store.read_all(after=12)) == []
        assert list(store.read_all(limit=0)) == []

    def test_read_raw_holds_exactly_what_was_hashed(self, store: EventStore) -> None:
        events = flow("1", 0, 6)
        store.append("1", 0, events)
        raw = list(store.read_raw())
        assert [r.payload_json for r in raw] == [canonical_json(e.payload()) for e in events]
        assert [r.event_type for r in raw] == [type(e).__name__ for e in events]
        assert first_bad_position(raw) is None
        assert [r.position for r in store.read_raw(after=4)] == [5, 6]

    def test_times_are_stored_as_utc_iso_text(self, store: EventStore) -> None:
        plus_two = timezone(timedelta(hours=2))
        event = DoorOpened(compartment_id="1", version=1, occurred_at=datetime(2026, 5, 1, 14, 0, tzinfo=plus_two))
        store.append("1", 0, [event])
        (raw,) = store.read_raw()
        assert raw.occurred_at == "2026-05-01T12:00:00+00:00"
        assert store.read_stream("1")[0].occurred_at == event.occurred_at

    def test_stream_ids_lists_each_stream_once(self, store: EventStore) -> None:
        for cid in ("b", "a", "c"):
            store.append(cid, 0, flow(cid, 0, 2))
        assert store.stream_ids() == ["a", "b", "c"]

    def test_old_payloads_are_upcast_on_read(self) -> None:
        old = EventSerializer({**EVENT_TYPES, "BinEmptied": BinEmptiedV1})
        new = EventSerializer({**EVENT_TYPES, "BinEmptied": BinEmptied})
        writer = self.create_store(serializer=old)
        writer.append("1", 0, [BinEmptiedV1(compartment_id="1", version=1, occurred_at=T0, operator_id="op")])
        (row,) = writer.read_raw()
        assert (row.event_type, row.schema_version, row.payload_json) == ("BinEmptied", 1, '{"operator_id":"op"}')
        reader = self.reopen_with(writer, new)
        try:
            expected = BinEmptied(compartment_id="1", version=1, occurred_at=T0, operator_id="op", weight_g=0)
            assert reader.read_stream("1") == [expected]
            assert [s.event for s in reader.read_all()] == [expected]
        finally:
            writer.close()
            reader.close()

    def reopen_with(self, store: EventStore, serializer: EventSerializer) -> EventStore:
        """The same log, read with another serializer (a newer version of the software)."""
        raise NotImplementedError

    def test_concurrent_writers_never_fork_the_chain(self, store: EventStore) -> None:
        def writer(cid: str) -> None:
            for version in range(0, 20, 2):
                store.append(cid, version, flow(cid, version, 2))
            for _ in range(10):
                self._append_with_retry(store, "shared")

        threads = [threading.Thread(target=writer, args=(str(n),)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        raw = list(store.read_raw())
        assert len(raw) == 4 * 20 + 40
        assert [r.position for r in raw] == list(range(1, len(raw) + 1))
        assert first_bad_position(raw) is None
        assert [e.version for e in store.read_stream("shared")] == list(range(1, 41))

    def test_a_tailing_reader_never_skips_a_position(self, store: EventStore) -> None:
        def writer(cid: str) -> None:
            for version in range(0, 60, 3):
                store.append(cid, version, flow(cid, version, 3))

        writers = [threading.Thread(target=writer, args=(cid,)) for cid in "abc"]
        for thread in writers:
            thread.start()
        seen: list[int] = []
        while True:
            finished = not any(t.is_alive() for t in writers)  # checked before the last read
            seen.extend(s.position for s in store.read_all(after=seen[-1] if seen else 0))
            if finished:
                break
        assert seen == list(range(1, 181))

    @staticmethod
    def _append_with_retry(store: EventStore, cid: str) -> None:
        while True:
            version = len(store.read_stream(cid))
            try:
                store.append(cid, version, flow(cid, version, 1))
                return
            except ConcurrencyError:
                continue


class TestInMemoryEventStore(EventStoreContract):
    def create_store(self, serializer: EventSerializer | None = None) -> EventStore:
        return InMemoryEventStore(serializer)

    def reopen_with(self, store: EventStore, serializer: EventSerializer) -> EventStore:
        return InMemoryEventStore.from_records(store.read_raw(), serializer)


class SqlContract(EventStoreContract):
    """Small pages, so that reads cross page boundaries."""

    url: str

    def create_store(self, serializer: EventSerializer | None = None) -> EventStore:
        opened = SqlEventStore.from_url(self.url, serializer=serializer)
        return SqlEventStore(opened._engine, serializer, page_size=3)

    def reopen_with(self, store: EventStore, serializer: EventSerializer) -> EventStore:
        return SqlEventStore.from_url(self.url, serializer=serializer)


class TestSqliteEventStore(SqlContract):
    @pytest.fixture(autouse=True)
    def _database(self, sqlite_url: str) -> None:
        self.url = sqlite_url


@pytest.mark.postgres
class TestPostgresEventStore(SqlContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = pg_url
