from __future__ import annotations

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from controller.domain.chain import canonical_json, chain_hash, content_hash
from controller.ports import FixedClock, RawRecord
from controller.service import audit
from controller.service.compartments import CompartmentService
from controller.service.simulation import ForgetfulVault, HistorySimulator
from plc.fake import FakeLockDriver
from storage.memory import InMemoryEventStore
from storage.serialization import EventSerializer

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(TEXT, TEXT, TEXT, TEXT, TEXT, st.integers(0, 10**6), st.integers(1, 9))
def test_chain_hash_is_the_canonical_json_of_the_row(
    cid: str, occurred: str, kind: str, payload: str, correlation: str, version: int, schema: int
) -> None:
    import hashlib

    expected_content = canonical_json(
        {
            "compartment_id": cid,
            "version": version,
            "occurred_at": occurred,
            "event_type": kind,
            "schema_version": schema,
            "payload": payload,
            "correlation_id": correlation,
        }
    )
    expected = hashlib.sha256(f"{'p' * 64}\n{expected_content}".encode()).hexdigest()
    actual = chain_hash(
        "p" * 64,
        compartment_id=cid,
        version=version,
        occurred_at=occurred,
        event_type=kind,
        schema_version=schema,
        payload_json=payload,
        correlation_id=correlation,
    )
    assert actual == expected


def history(steps: int = 400) -> list[RawRecord]:
    store, clock = InMemoryEventStore(), FixedClock()
    service = CompartmentService(store, FakeLockDriver(5), ForgetfulVault(), clock, [str(k) for k in range(1, 6)])
    asyncio.run(HistorySimulator(service, clock, seed=11).run(steps))
    return list(store.read_raw())


def tamper(records: list[RawRecord], position: int, **changes: object) -> list[RawRecord]:
    from dataclasses import replace

    return [replace(r, **changes) if r.position == position else r for r in records]  # type: ignore[arg-type]


def sharded(records: list[RawRecord], count: int) -> audit.AuditReport:
    decode = EventSerializer().decode
    return audit.merge(audit.verify(records, decode, audit.Shard(i, count)) for i in range(count))


def test_intact_log_verifies_whole_and_sharded() -> None:
    records = history()
    whole = audit.verify(records, EventSerializer().decode)
    assert whole.ok and whole.events == len(records)
    assert sharded(records, 3).to_json() == whole.to_json()


def test_problems_are_found_the_same_way_by_shards() -> None:
    records = history()
    victim = records[40]
    payload = json.loads(victim.payload_json)
    forged = tamper(records, victim.position, payload_json=canonical_json({**payload, "forged": 1}))
    whole = audit.verify(forged, EventSerializer().decode)
    assert whole.first_bad_position == victim.position
    assert sharded(forged, 2).to_json() == whole.to_json()
    assert sharded(forged, 3).to_json() == whole.to_json()


def test_a_deleted_row_breaks_the_chain_and_the_versions() -> None:
    records = history()
    gone = records[100]
    report = audit.verify([r for r in records if r.position != gone.position], EventSerializer().decode)
    assert report.first_bad_position == records[101].position
    assert any("chain broken" in str(p["problem"]) for p in report.problems)
    assert any("not contiguous" in str(p["problem"]) for p in report.problems)


def test_a_reordered_but_rehashed_transition_fails_replay() -> None:
    """Even a log whose hashes were all recomputed cannot hold an impossible transition."""
    from controller.domain.chain import GENESIS_HASH

    records = history(60)
    first = records[0]
    impossible = tamper(records, first.position, event_type="ItemRetrieved", payload_json='{"template_ref":"x"}')
    rehashed, previous = [], GENESIS_HASH
    for r in impossible:
        from dataclasses import replace

        r = replace(r, previous_hash=previous)
        r = replace(r, event_hash=content_hash(previous, r))
        rehashed.append(r)
        previous = r.event_hash
    report = audit.verify(rehashed, EventSerializer().decode)
    assert report.first_bad_position == first.position
    assert "replay failed" in str(report.problems[0]["problem"])
