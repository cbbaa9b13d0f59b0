"""The centre's store takes a batch in one transaction: rows copied byte for byte, its nonce claimed in it.

Real PostgreSQL (``LOCKERS_TEST_POSTGRES_URL``), a schema of its own per test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from controller.domain.chain import RawRecord
from controller.service.anchors import ChainHead
from fleet.errors import SyncRefused
from fleet.store import CentralStore, Claim
from tests.support.central import chain

pytestmark = pytest.mark.postgres
KEY = "-----BEGIN PUBLIC KEY-----\nbank-a\n-----END PUBLIC KEY-----\n"
NONCE, OTHER_NONCE = "a" * 32, "b" * 32


@pytest.fixture
def store(pg_url: str) -> Iterator[CentralStore]:
    opened = CentralStore.open(pg_url)
    opened.enrol("bank-a", KEY, "kid")
    try:
        yield opened
    finally:
        opened.close()


def claim(log: Sequence[RawRecord]) -> Claim:
    """A checkpoint's claim of ``log`` as it stands (the store compares it; the desk checks its signature)."""
    head = ChainHead()
    for row in log:
        head.take(row.position, row.compartment_id, row.version, row.event_hash)
    return Claim(head.position, head.head_hash, head.events, head.log_id, f"checkpoint at {head.position}")


def refusal(store: CentralStore, after: int, rows: Sequence[RawRecord], log: Sequence[RawRecord], **kw: str) -> str:
    with pytest.raises(SyncRefused) as raised:
        store.ingest("bank-a", after, rows, claim(log), **kw)
    return raised.value.kind


def test_rows_are_stored_as_sent_whatever_characters_their_payloads_hold(store: CentralStore) -> None:
    awkward = "tab\there, new\nline, back\\slash, \\N, 'quote' \"dq\", 한국어, \x7f, \r"
    rows = chain(250, note=awkward)
    first = store.ingest("bank-a", 0, rows[:100], claim(rows[:100]), nonce=NONCE, key=KEY)
    rest = store.ingest("bank-a", 100, rows[100:], claim(rows), nonce=OTHER_NONCE, key=KEY)
    assert (first.acknowledged, first.stored, rest.acknowledged, rest.stored) == (100, 100, 250, 150)
    assert list(store.rows("bank-a")) == rows
    assert store.checkpoints("bank-a") == ["checkpoint at 100", "checkpoint at 250"]
    again = store.ingest("bank-a", 0, rows[:100], claim(rows[:100]))  # a resend: stored once
    assert (again.acknowledged, again.stored, again.duplicates) == (250, 0, 100)
    assert store.event_counts() == {"bank-a": 250}


def test_a_refused_batch_keeps_its_nonce_so_its_replay_is_a_replay(store: CentralStore) -> None:
    rows = chain(6)
    forged = [*rows[:3], replace(rows[3], payload_json=rows[3].payload_json.replace("op", "ox"))]
    assert refusal(store, 0, forged, forged, nonce=NONCE) == "hash"
    assert refusal(store, 0, rows, rows, nonce=NONCE) == "replay"
    assert list(store.rows("bank-a")) == []
    store.ingest("bank-a", 0, rows[:3], claim(rows[:3]), nonce=OTHER_NONCE)
    assert refusal(store, 3, rows[3:], rows, nonce=OTHER_NONCE) == "replay"  # an accepted batch's nonce too
    assert store.bank("bank-a").head.position == 3


def test_a_batch_checked_against_a_key_the_bank_does_not_have_is_refused(store: CentralStore) -> None:
    rows = chain(3)
    assert refusal(store, 0, rows, rows, nonce=NONCE, key=KEY.replace("bank-a", "other")) == "bad_signature"
    assert list(store.rows("bank-a")) == []
    assert store.ingest("bank-a", 0, rows, claim(rows), nonce=NONCE, key=KEY).stored == 3  # nothing was claimed
