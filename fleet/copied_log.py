"""One bank's copy at the centre, read the way an anchored audit reads a log (``LogFacts``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, select, tuple_

from fleet.schema import events
from fleet.store import CentralStore


class CopiedLog:
    """The facts a checkpoint check needs about ``bank_id``'s copy: bounds, hashes, stream heads."""

    def __init__(self, store: CentralStore, bank_id: str) -> None:
        self._store = store
        self._bank = events.c.bank_id == bank_id

    def position_bounds(self) -> tuple[int, int, int]:
        """(lowest position, highest position, row count); zeros for an empty copy."""
        query = select(func.min(events.c.position), func.max(events.c.position), func.count()).where(self._bank)
        with self._store.engine.connect() as db:
            low, high, count = db.execute(query).one()
        return (low or 0, high or 0, count or 0)

    def hashes_at(self, positions: Iterable[int]) -> dict[int, str]:
        """The event hash at each of ``positions`` that exists."""
        query = select(events.c.position, events.c.event_hash).where(
            and_(self._bank, events.c.position.in_(sorted(set(positions)))))
        with self._store.engine.connect() as db:
            return {int(position): str(digest) for position, digest in db.execute(query)}

    def stream_heads(self) -> dict[str, tuple[int, str]]:
        """Each compartment's last version and that event's hash."""
        last = (select(events.c.compartment_id, func.max(events.c.version).label("version")).where(self._bank)
                .group_by(events.c.compartment_id).subquery())
        query = select(events.c.compartment_id, events.c.version, events.c.event_hash).where(and_(
            self._bank, tuple_(events.c.compartment_id, events.c.version).in_(select(last.c.compartment_id,
                                                                                        last.c.version))))
        with self._store.engine.connect() as db:
            return {str(cid): (int(version), str(digest)) for cid, version, digest in db.execute(query)}

    def stream_hashes(self, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The hash of each (compartment, version) in ``wanted`` that exists."""
        pairs = list(wanted)
        if not pairs:
            return {}
        query = select(events.c.compartment_id, events.c.version, events.c.event_hash).where(
            and_(self._bank, tuple_(events.c.compartment_id, events.c.version).in_(pairs)))
        with self._store.engine.connect() as db:
            return {(str(cid), int(version)): str(digest) for cid, version, digest in db.execute(query)}
