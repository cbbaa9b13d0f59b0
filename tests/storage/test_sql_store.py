"""What is specific to the SQL store: URLs, opening, pragmas, corrupt rows, serialization errors."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy.engine import make_url

from controller.domain.events import AlarmRaised, DoorOpened, Event, IdentityRejected, VerificationStarted
from controller.domain.evidence import Evidence
from storage.config import default_url
from storage.errors import (
    CorruptRecord,
    DatabaseUnavailable,
    DatabaseUrlError,
    EventEncodingError,
    SchemaError,
    StorageError,
)
from storage.event_store import SqlEventStore
from storage.serialization import EventSerializer
from tests.support.events import T0, flow


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u:p@host/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg://u:p@host", "no database file or name in 'postgresql\\+psycopg://u:\\*\\*\\*@host'"),
        ("mysql://u:secret@host/db", "unsupported database 'mysql' in 'mysql://u:\\*\\*\\*@host/db'"),
        ("sqlite://", "InMemoryEventStore"),
        ("sqlite:///:memory:", "InMemoryEventStore"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        SqlEventStore.from_url(url)


def test_plain_postgresql_urls_use_psycopg3() -> None:
    from storage.engine import parse_url

    assert parse_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert parse_url("postgres://u:p@h/db").drivername == "postgresql+psycopg"


def test_missing_sqlite_file_is_not_created_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="no database at .*lockers db upgrade"):
        SqlEventStore.from_url(f"sqlite:///{tmp_path}/absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_opening_a_fresh_file_creates_folders_and_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/a/b/events.db"
    SqlEventStore.from_url(url).close()
    reopened = SqlEventStore.from_url(url, create=False)
    assert reopened.stream_ids() == []
    reopened.close()


def test_a_database_behind_the_migrations_is_refused_when_only_reading(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(SchemaError, match="revision none, not 0002: run `lockers db upgrade`"):
        SqlEventStore.from_url(f"sqlite:///{tmp_path}/empty.db", create=False)


def test_unreachable_postgres_is_a_storage_error() -> None:
    with pytest.raises(
        DatabaseUnavailable, match="cannot use database postgresql\\+psycopg://u:\\*\\*\\*@127.0.0.1:1/db"
    ):
        SqlEventStore.from_url("postgresql+psycopg://u:secret@127.0.0.1:1/db")


def test_missing_postgres_driver_is_one_clear_storage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the [postgres] extra were not installed
    with pytest.raises(DatabaseUnavailable, match="driver is not installed .*pip install 'lockers\\[postgres\\]'"):
        SqlEventStore.from_url("postgresql+psycopg://u:secret@127.0.0.1:1/db")


def test_default_url_is_a_file_in_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKERS_DATA_DIR", str(tmp_path / "data"))
    assert default_url() == f"sqlite:///{tmp_path}/data/lockers.db"
    monkeypatch.delenv("LOCKERS_DATA_DIR")
    assert default_url() == f"sqlite:///{Path('var').resolve()}/lockers.db"


def test_sqlite_connections_are_durable_wal(sqlite_url: str) -> None:
    store = SqlEventStore.from_url(sqlite_url)
    store.append("1", 0, flow("1", 0, 1))
    with store._cursor() as cursor:
        settings = [cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "synchronous")]
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    assert settings == ["wal", 2]  # 2 = FULL: the WAL is synced on every commit
    assert busy >= 1000
    store.close()


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("payload", "{not json", "AlarmRaised: Expecting property name"),
        ("payload", '{"reason": "x"}', "missing 1 required keyword-only argument: 'detail'"),
        ("payload", "[1, 2]", "argument after \\*\\* must be a mapping"),
        ("event_type", "Teleported", "unknown event type 'Teleported'"),
        ("schema_version", 9, "schema version 9 is newer than this software's 1"),
        ("occurred_at", "yesterday", "Invalid isoformat string"),
        ("occurred_at", "2026-01-01T00:00:00", "has no timezone"),
    ],
)
def test_corrupt_rows_name_their_position(sqlite_url: str, column: str, value: object, reason: str) -> None:
    store = SqlEventStore.from_url(sqlite_url)
    store.append("1", 0, flow("1", 0, 1))
    row = dict(
        compartment_id="1", version=2, occurred_at=T0.isoformat(), event_type="AlarmRaised", schema_version=1,
        payload='{"detail":"d","operator_id":"","reason":"forced_open"}', correlation_id="", event_hash="h",
        previous_hash="p",
    )  # fmt: skip
    row[column] = value
    with closing(sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)) as raw:
        raw.execute(f"INSERT INTO events ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    with pytest.raises(CorruptRecord, match=f"corrupt event at position 2: .*{reason}"):
        store.read_stream("1")
    with pytest.raises(CorruptRecord, match="position 2"):
        list(store.read_all())
    assert len(list(store.read_raw())) == 2  # the audit can still read and hash it
    store.close()


def test_missing_upcaster_is_reported_as_corrupt() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Renamed(Event):
        trigger: ClassVar[str] = "x"
        schema_version: ClassVar[int] = 3

    serializer = EventSerializer({"Renamed": Renamed})
    with pytest.raises(CorruptRecord, match="no upcaster for Renamed from schema version 1"):
        serializer.decode_fields(4, "1", 1, T0.isoformat(), "Renamed", 1, "{}", "")


def test_v1_face_events_read_back_with_their_evidence() -> None:
    """Logs written before ``Evidence`` held only distance, threshold and model version; they still read."""
    serializer = EventSerializer()
    v1 = '{"distance":0.41,"model_version":"m1","threshold":0.6}'
    started = serializer.decode_fields(1, "1", 6, T0.isoformat(), "VerificationStarted", 1, v1, "c")
    assert isinstance(started, VerificationStarted)
    assert started.evidence == Evidence(distance=0.41, threshold=0.6, model_version="m1")
    v1 = '{"distance":null,"failed_attempts":2,"model_version":"m1","reason":"r","threshold":0.6}'
    rejected = serializer.decode_fields(2, "1", 7, T0.isoformat(), "IdentityRejected", 1, v1, "c")
    assert isinstance(rejected, IdentityRejected)
    assert (rejected.reason, rejected.failed_attempts, rejected.evidence.distance) == ("r", 2, None)
    assert rejected.payload()["subject_id"] == "" and rejected.payload()["frames_considered"] == 0


def test_confirmations_keep_their_flat_payload() -> None:
    """``IdentityConfirmed`` rows stay flat (evidence fields beside the event's; v2 adds the liveness ones)."""
    confirmed = next(e for e in flow("1", 0, 12) if e.trigger == "confirm_identity")
    assert EventSerializer().encode(confirmed).payload_json == (
        '{"distance":0.3125,"frames_agreeing":3,"frames_considered":5,"liveness":"","liveness_method":"",'
        '"liveness_model":"","liveness_score":null,"margin":0.1,"model_version":"m1",'
        '"pulse_ms":500,"runner_up_distance":null,"subject_id":"s-1","threshold":0.6,"unlock_id":"u-7"}'
    )


def test_rows_written_before_liveness_still_read() -> None:
    """A v1 ``IdentityConfirmed`` row (no liveness fields) reads with liveness "" (not judged then)."""
    confirmed = next(e for e in flow("1", 0, 12) if e.trigger == "confirm_identity")
    encoded = EventSerializer().encode(confirmed)
    payload = {k: v for k, v in json.loads(encoded.payload_json).items() if not k.startswith("liveness")}
    decoded = EventSerializer().decode_fields(
        1, "1", confirmed.version, confirmed.occurred_at.isoformat(), "IdentityConfirmed", 1, json.dumps(payload),
        confirmed.correlation_id,
    )  # fmt: skip
    assert decoded == confirmed and decoded.evidence.liveness == ""


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (AlarmRaised(compartment_id="1", version=1, occurred_at=T0, reason="x", detail=math.nan), "not JSON-safe"),  # type: ignore[arg-type]
        (AlarmRaised(compartment_id="1", version=1, occurred_at=T0, reason="x", detail=object()), "not JSON-safe"),  # type: ignore[arg-type]
        (DoorOpened(compartment_id="1", version=1, occurred_at=T0.replace(tzinfo=None)), "timezone-aware"),
    ],
)
def test_unstorable_events_are_refused(sqlite_url: str, event: Event, message: str) -> None:
    store = SqlEventStore.from_url(sqlite_url)
    with pytest.raises(EventEncodingError, match=message):
        store.append("1", 0, [event])
    store.close()


def test_unregistered_event_classes_are_refused() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Stray(Event):
        trigger: ClassVar[str] = "stray"

    with pytest.raises(EventEncodingError, match="Stray is not a registered event type"):
        EventSerializer().encode(Stray(compartment_id="1", version=1, occurred_at=T0))


def test_locked_database_is_a_storage_error(sqlite_url: str) -> None:
    store = SqlEventStore.from_url(sqlite_url)
    store._engine.dispose()
    with closing(sqlite3.connect(make_url(sqlite_url).database or "", isolation_level=None)) as raw:
        raw.execute("BEGIN EXCLUSIVE")
        quick = SqlEventStore(store._engine)
        with store._cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StorageError, match="database is locked"):
            quick.append("1", 0, flow("1", 0, 1))
        raw.execute("ROLLBACK")
    store.append("1", 0, flow("1", 0, 1))
    store.close()
