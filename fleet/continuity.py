"""Whether a batch continues the chain the centre holds for a bank (pure: no IO).

A batch says after which position it starts (``after``: the bank's last acknowledged position when it
read the batch). Rows at or below the centre's head must be the very rows it holds (a resend: each is
stored once); the first new row must link to the centre's head hash; each row must link to the one before
and hash to its own ``event_hash``. Positions may skip numbers (a PostgreSQL sequence value rolled back at
the bank); the hash links are what make the chain contiguous.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.domain.chain import GENESIS_HASH, RawRecord, content_hash
from fleet.errors import refused


@dataclass(frozen=True)
class Head:
    """What the centre holds of one bank's log: the last position, its hash, the row count, the log's id."""

    position: int = 0
    hash: str = GENESIS_HASH
    events: int = 0
    log_id: str | None = None


def new_rows(head: Head, after: int, rows: Sequence[RawRecord], held: Mapping[int, str]) -> list[RawRecord]:
    """The rows of the batch the centre does not hold yet, in order; ``SyncRefused`` when they break the chain.

    ``held`` maps each position of the batch at or below ``head.position`` to the hash the centre holds there.
    """
    if after > head.position:
        raise refused("gap.after_held", after=after, held=head.position)
    previous_position, previous_hash = after, None
    fresh: list[RawRecord] = []
    for row in rows:
        if row.position <= previous_position:
            raise refused("chain.out_of_order", position=row.position, previous=previous_position)
        if previous_hash is not None and row.previous_hash != previous_hash:
            raise refused("chain.unlinked", position=row.position)
        if content_hash(row.previous_hash, row) != row.event_hash:
            raise refused("hash.mismatch", position=row.position)
        if row.position <= head.position:
            if held.get(row.position) != row.event_hash:
                raise refused("fork.differs", position=row.position)
        elif not fresh and row.previous_hash != head.hash:
            raise refused("fork.off_head", position=row.position, held=head.position)
        if row.position > head.position:
            fresh.append(row)
        previous_position, previous_hash = row.position, row.event_hash
    return fresh
