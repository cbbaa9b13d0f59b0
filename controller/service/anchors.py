"""Checkpoints of the chain head, and how a log is checked against them (pure: no IO, no cryptography).

A checkpoint names the log (the hash of its first event), its head (position and hash), its size and the
head of every compartment's stream. Kept outside the database and signed, it makes detectable what the
hash chain alone cannot: rows cut from the end (``truncated``), a history rewritten and re-chained
(``rewritten_history``), a compartment's stream removed (``erased_stream``), every row gone (``wiped_log``)
and another database put in the log's place (``replaced_database``). Events written after the last
checkpoint are not covered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from controller.domain.chain import canonical_json
from controller.ports import StoredEvent

FORMAT = "lockers-checkpoint/1"
KINDS = (
    "replaced_database", "truncated", "wiped_log", "erased_stream", "rewritten_history", "bad_signature",
    "foreign_key", "missing_key", "missing_anchors", "anchors_behind",
)  # fmt: skip
"""The named problems an anchored audit reports (``kind`` of each ``anchor`` problem)."""


@dataclass(frozen=True)
class Checkpoint:
    """The chain head at one moment; ``signature`` (base64 Ed25519 over ``body``) is empty until signed."""

    log_id: str
    position: int
    head_hash: str
    events: int
    streams: Mapping[str, tuple[int, str]]
    time: str
    key_id: str = ""
    signature: str = ""

    def body(self) -> bytes:
        """The exact bytes that are signed: canonical JSON of everything but the signature."""
        document = {
            "format": FORMAT,
            "log_id": self.log_id,
            "position": self.position,
            "head_hash": self.head_hash,
            "events": self.events,
            "streams": {cid: list(head) for cid, head in self.streams.items()},
            "time": self.time,
            "key_id": self.key_id,
        }
        return canonical_json(document).encode()

    def to_line(self) -> str:
        """One line of the anchor file."""
        return canonical_json({**_loads(self.body()), "signature": self.signature})

    @classmethod
    def from_line(cls, line: str) -> Checkpoint:
        """Parse one anchor-file line; ValueError when it is not a checkpoint."""
        try:
            raw = _loads(line.encode())
            if raw.get("format") != FORMAT:
                raise ValueError(f"format is {raw.get('format')!r}, not {FORMAT!r}")
            streams = {str(cid): (int(head[0]), str(head[1])) for cid, head in raw["streams"].items()}
            return cls(
                str(raw["log_id"]),
                int(raw["position"]),
                str(raw["head_hash"]),
                int(raw["events"]),
                streams,
                str(raw["time"]),
                str(raw["key_id"]),
                str(raw["signature"]),
            )
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"not a checkpoint: {exc!r}") from None


def _loads(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass
class ChainHead:
    """The head of a live log, kept up to date from committed events so a checkpoint costs no query."""

    log_id: str = ""
    position: int = 0
    head_hash: str = ""
    events: int = 0
    streams: dict[str, tuple[int, str]] = field(default_factory=dict)

    def advance(self, committed: Sequence[StoredEvent]) -> None:
        """Take in a batch of events just committed."""
        for stored in committed:
            self.take(stored.position, stored.event.compartment_id, stored.event.version, stored.event_hash)

    def take(self, position: int, compartment_id: str, version: int, event_hash: str) -> None:
        """Take in one row (decoded or raw) just after the head."""
        self.log_id = self.log_id or event_hash
        self.position, self.head_hash = position, event_hash
        self.events += 1
        self.streams[compartment_id] = (version, event_hash)

    def checkpoint(self, time: str) -> Checkpoint:
        """An unsigned checkpoint of this head."""
        return Checkpoint(self.log_id, self.position, self.head_hash, self.events, dict(self.streams), time)


class LogFacts(Protocol):
    """What the check needs to read from the log (``storage.audit_reader.AuditReader`` provides it)."""

    def position_bounds(self) -> tuple[int, int, int]: ...  # noqa: D102
    def hashes_at(self, positions: Iterable[int]) -> dict[int, str]: ...  # noqa: D102
    def stream_heads(self) -> dict[str, tuple[int, str]]: ...  # noqa: D102
    def stream_hashes(self, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]: ...  # noqa: D102


Problem = tuple[int, str, str]
"""(position, kind, description)."""


def check(checkpoints: Sequence[Checkpoint], facts: LogFacts) -> list[Problem]:
    """Everything in the log that contradicts the (already authenticated) checkpoints."""
    checkpoints = [c for c in checkpoints if c.events]  # a checkpoint of an empty log anchors nothing
    if not checkpoints:
        return []
    latest = max(checkpoints, key=lambda c: c.position)
    low, high, count = facts.position_bounds()
    if count == 0:
        return [(latest.position, "wiped_log", f"the log is empty; {_named(latest)} anchored {latest.events} events")]
    first = facts.hashes_at([low]).get(low)
    if first != latest.log_id:
        return [(low, "replaced_database", f"the log's first event is not the one {_named(latest)} names")]
    problems: list[Problem] = []
    if high < latest.position or count < latest.events:
        text = f"the log ends at position {high} with {count} events; {_named(latest)} anchored {latest.events}"
        problems.append((high + 1, "truncated", text))
    problems += _head_problems(checkpoints, facts, high)
    return problems + _stream_problems(latest, facts)


def _head_problems(checkpoints: Sequence[Checkpoint], facts: LogFacts, high: int) -> list[Problem]:
    stored = facts.hashes_at(c.position for c in checkpoints)
    for checkpoint in sorted(checkpoints, key=lambda c: c.position):
        found = stored.get(checkpoint.position)
        if found is None and checkpoint.position <= high:
            return [(checkpoint.position, "rewritten_history", f"the row {_named(checkpoint)} anchored is gone")]
        if found is not None and found != checkpoint.head_hash:
            text = f"the row at position {checkpoint.position} is not the one {_named(checkpoint)} anchored"
            return [(checkpoint.position, "rewritten_history", text)]
    return []


def _stream_problems(latest: Checkpoint, facts: LogFacts) -> list[Problem]:
    heads = facts.stream_heads()
    found = facts.stream_hashes((cid, head[0]) for cid, head in latest.streams.items() if cid in heads)
    problems: list[Problem] = []
    for cid, (version, digest) in sorted(latest.streams.items()):
        where = f"compartment {cid}"
        if cid not in heads:
            problems.append((latest.position, "erased_stream", f"{where}: all {version} anchored events are gone"))
        elif heads[cid][0] < version:
            text = f"{where} ends at version {heads[cid][0]}; {_named(latest)} anchored version {version}"
            problems.append((latest.position, "truncated", text))
        elif found.get((cid, version)) != digest:
            text = f"{where}: version {version} is not the event {_named(latest)} anchored"
            problems.append((latest.position, "rewritten_history", text))
    return problems


def _named(checkpoint: Checkpoint) -> str:
    return f"the checkpoint of {checkpoint.time} (position {checkpoint.position})"
