"""The centre's PostgreSQL store: enrolled banks, their copied logs, checkpoints, fleet alarms and nonces.

A batch is taken in one transaction (one commit) that first locks its bank's row and claims the request's
nonce: two batches of one bank never interleave, a crash mid-batch leaves nothing of it, and each event is
stored once (the primary key is the bank and the position).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from controller.domain.chain import RawRecord
from fleet import migration
from fleet.append import append_rows, claim_nonce, keep_checkpoint
from fleet.continuity import Head, new_rows
from fleet.details import AlarmDetail
from fleet.errors import EnrolmentRefused, SyncRefused, UnknownBank, refused, replayed
from fleet.schema import ROW_COLUMNS, alarms, banks, checkpoints, events, nonces
from storage.engine import create_engine_or_explain, parse_url, unavailable_as_storage_error

PAGE = 10_000


@dataclass(frozen=True)
class Claim:
    """What a batch's signed checkpoint says of the bank's log after the batch (checked against the rows)."""

    position: int
    head_hash: str
    events: int
    log_id: str
    line: str


@dataclass(frozen=True)
class Ingested:
    """The outcome of a batch: the highest contiguous position the centre now holds, what was new."""

    acknowledged: int
    stored: int
    duplicates: int


@dataclass(frozen=True)
class BankRecord:
    """One enrolled bank as the centre knows it."""

    bank_id: str
    public_key: str
    head: Head
    last_seen: str | None
    heartbeat_s: float | None
    health: dict[str, Any] | None
    checkpoint: str | None


def now_text() -> str:
    """UTC now, ISO-8601 (the centre's time format)."""
    return datetime.now(UTC).isoformat()


class CentralStore:
    """The centre's database; ``open`` migrates it to the newest revision first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> CentralStore:
        """Upgrade the database at ``url`` (PostgreSQL) and open it."""
        parsed = parse_url(url)
        migration.upgrade(parsed)
        return cls(create_engine_or_explain(parsed, pool_pre_ping=True))

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # ------------------------------------------------------------ enrolment and identity
    def enrol(self, bank_id: str, public_key: str, key_id: str) -> bool:
        """Pin ``bank_id``'s public key; True when new, False when already enrolled with this very key."""
        with self._begin() as db:
            found = db.execute(select(banks.c.public_key).where(banks.c.bank_id == bank_id)).scalar()
            if found is not None:
                if found.strip() != public_key.strip():
                    raise EnrolmentRefused(f"bank {bank_id!r} is enrolled with another public key (not replaced)")
                return False
            db.execute(insert(banks).values(bank_id=bank_id, public_key=public_key, key_id=key_id,
                                            enrolled_at=now_text()))
            return True

    def bank(self, bank_id: str) -> BankRecord:
        """One enrolled bank; ``UnknownBank`` otherwise."""
        with self._begin() as db:
            row = db.execute(select(banks).where(banks.c.bank_id == bank_id)).one_or_none()
        if row is None:
            raise UnknownBank(bank_id)
        return _record(row._mapping)

    def banks(self) -> list[BankRecord]:
        """Every enrolled bank, by id."""
        with self._begin() as db:
            return [_record(row._mapping) for row in db.execute(select(banks).order_by(banks.c.bank_id))]

    def public_keys(self) -> dict[str, str]:
        """Every enrolled bank's pinned public key (PEM), by bank id."""
        with self._begin() as db:
            return {str(bank): str(pem) for bank, pem in db.execute(select(banks.c.bank_id, banks.c.public_key))}

    def claim_nonce(self, bank_id: str, nonce: str) -> bool:
        """Record a signed request's nonce; False when it was seen before (a replayed request)."""
        with self._begin() as db:
            return claim_nonce(db, bank_id, nonce, now_text())

    def forget_nonces(self, before: str) -> int:
        """Drop nonces seen before ``before`` (requests that old are refused by their time anyway)."""
        with self._begin() as db:
            return db.execute(nonces.delete().where(nonces.c.seen_at < before)).rowcount

    # ------------------------------------------------------------ sync and heartbeats
    def ingest(self, bank_id: str, after: int, rows: Sequence[RawRecord], claim: Claim | None, *,
               nonce: str | None = None, key: str | None = None) -> Ingested:
        """Store the rows the centre lacks, once, if they continue its chain and agree with ``claim``.

        One transaction: ``nonce`` (the signed request's) is claimed in it, a replay refused, and a refused
        batch's nonce stays claimed; ``key``, the pinned key the request was verified with, must still be it.
        """
        with self._begin() as db:
            head = self._locked_head(db, bank_id, key)
            if nonce is not None and not claim_nonce(db, bank_id, nonce, now_text()):
                raise replayed(nonce)
            try:
                fresh = new_rows(head, after, rows, self._held(db, bank_id, rows, head))
                if fresh:
                    _check_claim(head, fresh, claim)
            except SyncRefused as error:
                refused = error  # leave the with block normally: the claimed nonce is committed
            else:
                return _append(db, bank_id, head, fresh, claim, len(rows))
        raise refused

    def heartbeat(self, bank_id: str, health: dict[str, Any], interval_s: float) -> Head:
        """Record that the bank is alive and how its parts are; the head the centre holds of it."""
        with self._begin() as db:
            head = self._locked_head(db, bank_id)
            db.execute(update(banks).where(banks.c.bank_id == bank_id).values(
                last_seen=now_text(), heartbeat_s=interval_s, health=json.dumps(health, sort_keys=True)))
            return head

    # ------------------------------------------------------------ reads
    def rows(self, bank_id: str, after: int = 0) -> Iterator[RawRecord]:
        """The bank's copied log after ``after``, in position order, a page at a time."""
        while True:
            query = (select(*ROW_COLUMNS).where(and_(events.c.bank_id == bank_id, events.c.position > after))
                     .order_by(events.c.position).limit(PAGE))
            with self._begin() as db:
                page = [RawRecord(*row) for row in db.execute(query)]
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].position

    def event_counts(self) -> dict[str, int]:
        """How many rows the centre holds of each bank (counted, not the head's counter)."""
        query = select(events.c.bank_id, func.count()).group_by(events.c.bank_id)
        with self._begin() as db:
            return {str(bank): int(count) for bank, count in db.execute(query)}

    def checkpoints(self, bank_id: str) -> list[str]:
        """Every signed checkpoint line the bank sent, by position."""
        query = select(checkpoints.c.line).where(checkpoints.c.bank_id == bank_id).order_by(checkpoints.c.position)
        with self._begin() as db:
            return [str(line) for line in db.execute(query).scalars()]

    # ------------------------------------------------------------ fleet alarms
    def raise_alarm(self, bank_id: str, kind: str, detail: str | AlarmDetail) -> None:
        """A fleet alarm for ``bank_id`` (a refused batch, a bank gone offline) unless one of its kind is open.

        A detail given as an ``AlarmDetail`` keeps its code and arguments too (the console words them).
        """
        open_one = select(alarms.c.id).where(and_(alarms.c.bank_id == bank_id, alarms.c.kind == kind,
                                                  alarms.c.cleared_at.is_(None)))
        coded = {} if isinstance(detail, str) else {
            "detail": detail.text, "detail_code": detail.code, "detail_args": json.dumps(dict(detail.args))}
        values = {"bank_id": bank_id, "kind": kind, "detail": detail, "raised_at": now_text(), **coded}
        with self._begin() as db:
            if db.execute(open_one.limit(1)).first() is None:
                db.execute(insert(alarms).values(values))

    def open_alarms(self) -> list[dict[str, Any]]:
        """Every open fleet alarm, oldest first."""
        query = select(alarms).where(alarms.c.cleared_at.is_(None)).order_by(alarms.c.id)
        with self._begin() as db:
            return [dict(row._mapping) for row in db.execute(query)]

    def cleared_alarms(self, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` fleet alarms cleared last, newest clear first, with who cleared them, when and why."""
        query = select(alarms).where(alarms.c.cleared_at.is_not(None)).order_by(alarms.c.cleared_at.desc(),
                                                                               alarms.c.id.desc())
        with self._begin() as db:
            return [dict(row._mapping) for row in db.execute(query.limit(limit))]

    def alarm(self, alarm_id: int) -> dict[str, Any] | None:
        """One fleet alarm, open or cleared; None when there is none of that id."""
        with self._begin() as db:
            row = db.execute(select(alarms).where(alarms.c.id == alarm_id)).one_or_none()
        return None if row is None else dict(row._mapping)

    def clear_alarm(self, alarm_id: int, operator: str, note: str = "") -> bool:
        """Clear an open fleet alarm, keeping the operator, the time and the note; False when none is open."""
        statement = (update(alarms).where(and_(alarms.c.id == alarm_id, alarms.c.cleared_at.is_(None)))
                     .values(cleared_at=now_text(), cleared_by=operator, cleared_note=note))
        with self._begin() as db:
            return db.execute(statement).rowcount == 1

    # ------------------------------------------------------------ helpers
    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One connection and transaction, committed on success; a failure to connect is ``StorageError``."""
        with unavailable_as_storage_error(self.engine.url), self.engine.begin() as connection:
            yield connection

    @staticmethod
    def _locked_head(db: Any, bank_id: str, key: str | None = None) -> Head:
        query = select(banks.c.head_position, banks.c.head_hash, banks.c.events, banks.c.log_id,
                       banks.c.public_key).where(banks.c.bank_id == bank_id).with_for_update()
        row = db.execute(query).one_or_none()
        if row is None:
            raise UnknownBank(bank_id)
        if key is not None and key != row[4]:
            raise refused("bad_signature.key_changed", bank=bank_id)
        return Head(int(row[0]), str(row[1]), int(row[2]), row[3])

    @staticmethod
    def _held(db: Any, bank_id: str, rows: Sequence[RawRecord], head: Head) -> dict[int, str]:
        overlap = [row.position for row in rows if row.position <= head.position]
        if not overlap:
            return {}
        query = select(events.c.position, events.c.event_hash).where(and_(
            events.c.bank_id == bank_id, events.c.position >= overlap[0], events.c.position <= overlap[-1]))
        return {int(position): str(digest) for position, digest in db.execute(query)}


def _append(db: Connection, bank_id: str, head: Head, fresh: Sequence[RawRecord], claim: Claim | None,
            sent: int) -> Ingested:
    """Write the new rows, the checkpoint and the bank's new head (three statements whatever the batch's size)."""
    if not fresh:
        return Ingested(head.position, 0, sent)
    assert claim is not None  # _check_claim refused a batch of new rows without one
    received, last = now_text(), fresh[-1]
    append_rows(db, bank_id, fresh, received)
    keep_checkpoint(db, bank_id, claim.position, claim.line, received)
    db.execute(update(banks).where(banks.c.bank_id == bank_id).values(
        head_position=last.position, head_hash=last.event_hash, events=head.events + len(fresh),
        log_id=head.log_id or fresh[0].event_hash, checkpoint=claim.line, last_seen=received))
    return Ingested(last.position, len(fresh), sent - len(fresh))


def _check_claim(head: Head, fresh: Sequence[RawRecord], claim: Claim | None) -> None:
    """The signed checkpoint must describe the log as the batch leaves it."""
    if claim is None:
        raise refused("checkpoint.missing")
    last, log_id = fresh[-1], head.log_id or fresh[0].event_hash
    expected = {"position": last.position, "head_hash": last.event_hash, "events": head.events + len(fresh),
                "log_id": log_id}
    for name, value in expected.items():
        if getattr(claim, name) != value:
            raise refused("checkpoint.mismatch", field=name, claimed=repr(getattr(claim, name)), expected=repr(value))


def _record(row: Any) -> BankRecord:
    head = Head(int(row["head_position"]), str(row["head_hash"]), int(row["events"]), row["log_id"])
    health = json.loads(row["health"]) if row["health"] else None
    return BankRecord(row["bank_id"], row["public_key"], head, row["last_seen"], row["heartbeat_s"], health,
                      row["checkpoint"])
