"""Audits: verify the hash chain, the versions and the replay of every stored transition; fold to a point.

Nothing here touches hardware or the network: an audit is a pure fold over what the log holds.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from controller.domain.chain import GENESIS_HASH, content_hash
from controller.domain.compartment import Compartment
from controller.domain.errors import LockerError
from controller.domain.events import BANK_STREAM, Event
from controller.domain.help import HelpDesk
from controller.ports import RawRecord, StoredEvent

Decoder = Callable[[RawRecord], Event]
Stream = Compartment | HelpDesk
"""What a stream folds into during an audit: a compartment, or the bank's help desk."""


@dataclass
class AuditReport:
    """The outcome of ``verify``: ``first_bad_position`` is None when the log is intact."""

    events: int = 0
    first_bad_position: int | None = None
    problems: list[dict[str, object]] = field(default_factory=list)
    anchors: dict[str, object] | None = None

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def flag(self, position: int, check: str, problem: str, kind: str | None = None) -> None:
        """Record a problem found by ``check`` (one of ``CHECKS``); the first fixes ``first_bad_position``.

        ``kind`` names an anchored audit's finding (``controller.service.anchors.KINDS``).
        """
        if self.first_bad_position is None or position < self.first_bad_position:
            self.first_bad_position = position
        found: dict[str, object] = {"position": position, "check": check, "problem": problem}
        self.problems.append(found if kind is None else {**found, "kind": kind})

    def to_json(self) -> dict[str, object]:
        """The JSON shape of ``lockers audit verify --json``."""
        return {
            "ok": self.ok,
            "events": self.events,
            "first_bad_position": self.first_bad_position,
            "problems": self.problems,
        } | ({} if self.anchors is None else {"anchors": self.anchors})


@dataclass(frozen=True, slots=True)
class Shard:
    """One of ``count`` audit workers: it checks every ``count``-th row's hash and the replay of its streams."""

    index: int = 0
    count: int = 1

    def checks_row(self, position: int) -> bool:
        """Whether this worker recomputes the row's link and hash."""
        return position % self.count == self.index

    def replays(self, compartment_id: str) -> bool:
        """Whether this worker replays the compartment's stream."""
        return self.count == 1 or zlib.crc32(compartment_id.encode()) % self.count == self.index


def verify(
    records: Iterable[RawRecord], decode: Decoder, shard: Shard = Shard(), max_problems: int = 100
) -> AuditReport:
    """Check every row: its chain link, its hash, its version, and that replaying it is a valid transition.

    With a ``shard`` only that worker's share is checked; ``merge`` combines the workers' reports.
    """
    report = AuditReport()
    previous_hash = GENESIS_HASH
    compartments: dict[str, Stream | None] = {}
    for record in records:
        report.events += 1
        problems = _chain_problems(record, previous_hash) if shard.checks_row(record.position) else []
        if shard.replays(record.compartment_id):
            problems += _replay_problems(record, decode, compartments)
        for check, problem in problems:
            report.flag(record.position, check, problem)
        previous_hash = record.event_hash
        if len(report.problems) >= max_problems:
            break
    return report


def verify_streams(records: Iterable[RawRecord], decode: Decoder, max_problems: int = 100) -> AuditReport:
    """Each row's own hash, its version and its replay, for rows given stream by stream in version order.

    The links between rows are not checked here: ``link_report`` turns the database's list of broken links
    into problems, so a worker needs only its own streams.
    """
    report = AuditReport()
    compartments: dict[str, Stream | None] = {}
    for record in records:
        report.events += 1
        # The happy path inline: this loop runs once per event of every audit.
        if content_hash(record.previous_hash, record) != record.event_hash:
            report.flag(record.position, *_hash_problems(record)[0])
        for check, problem in _replay_problems(record, decode, compartments):
            report.flag(record.position, check, problem)
            if len(report.problems) >= max_problems:
                return report
    return report


def verify_tail(
    records: Iterable[RawRecord], previous_hash: str, versions: Mapping[str, int], max_problems: int = 100
) -> AuditReport:
    """The rows after a trusted checkpoint, in position order: links, hashes and versions continuing its heads.

    ``previous_hash`` is the anchored head's hash and ``versions`` each compartment's anchored version. The
    rows before the checkpoint are vouched for by the checkpoint's signature over the chain head; replay, which
    needs every stream from its start, is left to the full verify.
    """
    report, last = AuditReport(), dict(versions)
    for record in records:
        report.events += 1
        problems = _chain_problems(record, previous_hash)
        expected = last.get(record.compartment_id, 0) + 1
        if record.version != expected:
            problems.append(("version", f"version {record.version} follows {expected - 1}: versions not contiguous"))
        last[record.compartment_id] = record.version
        previous_hash = record.event_hash
        for check, problem in problems:
            report.flag(record.position, check, problem)
        if len(report.problems) >= max_problems:
            break
    return report


def link_report(broken_positions: Iterable[int]) -> AuditReport:
    """Problems for the rows whose ``previous_hash`` is not the hash of the row before them."""
    report = AuditReport()
    for position in broken_positions:
        report.flag(position, "chain", CHAIN_BROKEN)
    return report


def assign_streams(sizes: Mapping[str, int], workers: int) -> list[list[str]]:
    """Streams spread over ``workers`` so that each gets about as many rows: largest first, to the lightest."""
    shares: list[list[str]] = [[] for _ in range(max(1, workers))]
    loads = [0] * len(shares)
    for cid in sorted(sizes, key=lambda c: (-sizes[c], c)):
        lightest = loads.index(min(loads))
        shares[lightest].append(cid)
        loads[lightest] += sizes[cid]
    return shares


def merge(reports: Iterable[AuditReport], events: int | None = None) -> AuditReport:
    """One report from the reports of every shard of the same log (``events``: default the largest count)."""
    merged = AuditReport()
    problems: list[dict[str, object]] = []
    for report in reports:
        merged.events = max(merged.events, report.events)
        problems += report.problems
    merged.events = merged.events if events is None else events
    for problem in sorted(problems, key=lambda p: (int(str(p["position"])), CHECKS.index(str(p["check"])))):
        merged.flag(int(str(problem["position"])), str(problem["check"]), str(problem["problem"]))
    return merged


CHECKS = ("anchor", "chain", "hash", "version", "replay")
"""The checks in the order they run on one row."""

Problems = list[tuple[str, str]]


CHAIN_BROKEN = "chain broken: previous_hash does not match the hash of the row before"


def _chain_problems(record: RawRecord, previous_hash: str) -> Problems:
    problems = [("chain", CHAIN_BROKEN)] if record.previous_hash != previous_hash else []
    return problems + _hash_problems(record)


def _hash_problems(record: RawRecord) -> Problems:
    if content_hash(record.previous_hash, record) != record.event_hash:
        return [("hash", "hash mismatch: the row's content was changed after it was written")]
    return []


def _replay_problems(record: RawRecord, decode: Decoder, compartments: dict[str, Stream | None]) -> Problems:
    """Version and replay checks; after its first failure a stream is not replayed further (no cascade)."""
    cid = record.compartment_id
    if cid not in compartments:
        # The bank's own stream (help requests) folds into a help desk, every other into a compartment.
        compartments[cid] = HelpDesk() if cid == BANK_STREAM else Compartment(cid)
    compartment = compartments[cid]
    if compartment is None:
        return []
    if record.version != compartment.version + 1:
        compartments[cid] = None
        return [("version", f"version {record.version} follows {compartment.version}: versions not contiguous")]
    try:
        compartment.apply(decode(record))
    except (LockerError, ValueError, TypeError, KeyError) as exc:
        compartments[cid] = None
        return [("replay", f"replay failed: {exc}")]
    return []


def fold(
    events: Iterable[StoredEvent],
    until: Callable[[StoredEvent], bool] | None = None,
    into: dict[str, Compartment] | None = None,
) -> dict[str, Compartment]:
    """The state of every compartment after the events for which ``until`` holds (all, by default).

    ``into``: compartments folded so far, taken further by ``events`` (a fold kept up to date as a log grows).
    The bank stream's events are skipped: ``HelpDesk.replay`` folds those.
    """
    compartments: dict[str, Compartment] = {} if into is None else into
    for stored in events:
        if until is not None and not until(stored):
            break
        cid = stored.event.compartment_id
        if cid == BANK_STREAM:
            continue  # the bank's own events (help requests) change no compartment
        if cid not in compartments:
            compartments[cid] = Compartment(cid)
        compartments[cid].apply(stored.event)
    return compartments
