"""Any event, with any field values its types allow, comes back equal, and its row re-hashes."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.domain.events import BASE_FIELDS, EVENT_TYPES, Event
from controller.domain.evidence import EnrolmentLiveness, Evidence
from storage.errors import EventEncodingError
from storage.event_store import SqlEventStore
from storage.memory import InMemoryEventStore
from tests.support.events import first_bad_position

FLOATS = st.floats(allow_nan=False, allow_infinity=False)
BY_TYPE: dict[object, st.SearchStrategy[object]] = {
    str: st.text(st.characters(exclude_categories=("Cs",))),
    int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    float: FLOATS,
    float | None: st.none() | FLOATS,
}
BY_TYPE[Evidence] = st.builds(
    Evidence,
    subject_id=BY_TYPE[str],
    distance=BY_TYPE[float | None],
    runner_up_distance=BY_TYPE[float | None],
    threshold=FLOATS,
    margin=FLOATS,
    frames_agreeing=BY_TYPE[int],
    frames_considered=BY_TYPE[int],
    model_version=BY_TYPE[str],
    liveness=BY_TYPE[str],
    liveness_score=BY_TYPE[float | None],
    liveness_method=BY_TYPE[str],
    liveness_model=BY_TYPE[str],
)
BY_TYPE[EnrolmentLiveness] = st.builds(
    EnrolmentLiveness,
    liveness=BY_TYPE[str],
    liveness_score=BY_TYPE[float | None],
    liveness_method=BY_TYPE[str],
    liveness_model=BY_TYPE[str],
)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))]),
)


@st.composite
def events(draw: st.DrawFn, version: int = 1) -> Event:
    cls = draw(st.sampled_from(sorted(EVENT_TYPES.values(), key=lambda c: c.__name__)))
    hints = typing.get_type_hints(cls)
    payload = {f.name: draw(BY_TYPE[hints[f.name]]) for f in dataclasses.fields(cls) if f.name not in BASE_FIELDS}
    return cls(
        compartment_id=draw(BY_TYPE[str]),
        version=version,
        occurred_at=draw(TIMES),
        correlation_id=draw(BY_TYPE[str]),
        **payload,
    )


@given(st.lists(events(), min_size=1, max_size=5))
def test_any_events_round_trip_through_the_memory_store(batch: list[Event]) -> None:
    store = InMemoryEventStore()
    for event in batch:
        cid = event.compartment_id
        stored = len(store.read_stream(cid))
        store.append(cid, stored, [dataclasses.replace(event, version=stored + 1)])
    assert [s.event.payload() for s in store.read_all()] == [e.payload() for e in batch]
    assert [s.event.occurred_at for s in store.read_all()] == [e.occurred_at for e in batch]
    assert first_bad_position(store.read_raw()) is None


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlEventStore]:
    path: Path = tmp_path_factory.mktemp("props") / "events.db"
    store = SqlEventStore.from_url(f"sqlite:///{path}")
    yield store
    store.close()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(events())
def test_any_event_round_trips_through_sqlite(sqlite_store: SqlEventStore, event: Event) -> None:
    cid = event.compartment_id
    version = len(sqlite_store.read_stream(cid))
    event = dataclasses.replace(event, version=version + 1)
    (stored,) = sqlite_store.append(cid, version, [event])
    assert sqlite_store.read_stream(cid)[-1] == event
    assert next(sqlite_store.read_all(after=stored.position - 1)).event_hash == stored.event_hash


def test_lone_surrogates_are_refused_cleanly() -> None:
    event = EVENT_TYPES["AlarmRaised"](
        compartment_id="1", version=1, occurred_at=datetime(2026, 1, 1, tzinfo=UTC), reason="x", detail="\ud800"
    )
    with pytest.raises(EventEncodingError, match="not valid Unicode"):
        InMemoryEventStore().append("1", 0, [event])
