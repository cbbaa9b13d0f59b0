"""A batch continues the centre's chain, or is refused naming why (gap, fork, chain, hash); resends are free."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fleet.continuity import Head, new_rows
from fleet.errors import SyncRefused
from tests.support.central import chain

ROWS = chain(10)
HEAD5 = Head(5, ROWS[4].event_hash, 5, ROWS[0].event_hash)
HELD = {row.position: row.event_hash for row in ROWS[:5]}


def refusal(head: Head, after: int, rows: list, held: dict[int, str] | None = None) -> str:
    with pytest.raises(SyncRefused) as raised:
        new_rows(head, after, rows, held or {})
    return raised.value.kind


def test_a_first_batch_and_a_continuation_are_taken_whole() -> None:
    assert new_rows(Head(), 0, ROWS[:5], {}) == ROWS[:5]
    assert new_rows(HEAD5, 5, ROWS[5:], {}) == ROWS[5:]


def test_a_resend_from_an_older_acknowledgement_stores_only_what_is_new() -> None:
    assert new_rows(HEAD5, 2, ROWS[2:], HELD) == ROWS[5:]
    assert new_rows(HEAD5, 0, ROWS[:5], HELD) == []


def test_positions_may_skip_numbers_where_the_hashes_link() -> None:
    skipping = [replace(row, position=row.position * 2) for row in ROWS[:3]]
    assert new_rows(Head(), 0, skipping, {}) == skipping


def test_a_batch_after_the_centres_head_is_a_gap() -> None:
    assert refusal(HEAD5, 7, ROWS[7:]) == "gap"


def test_a_different_history_is_a_fork_never_merged() -> None:
    other = chain(10, note="rewritten")
    assert refusal(HEAD5, 5, other[5:]) == "fork"  # new rows that do not continue the head
    assert refusal(HEAD5, 0, other[:6], HELD) == "fork"  # rows the centre holds, different, then more
    assert refusal(HEAD5, 0, other[:5], HELD) == "fork"  # only rows the centre holds, different: no duplicate


def test_a_changed_row_or_a_broken_link_is_refused() -> None:
    changed = [*ROWS[5:7], replace(ROWS[7], payload_json=ROWS[7].payload_json.replace("op", "someone")), *ROWS[8:]]
    assert refusal(HEAD5, 5, changed) == "hash"
    assert refusal(HEAD5, 5, [ROWS[5], ROWS[7]]) == "chain"
    assert refusal(HEAD5, 5, [ROWS[6], ROWS[5]]) == "fork"
