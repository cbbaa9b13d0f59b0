"""Event store benchmark: durable appends (vs raw sqlite3 and vs ``eventsourcing``), checkpoints, replay+verify.

    python benchmarks/event_store.py --json [--events 1000000] [--new-events 10000] [--appends 2000] [--workers 2]

Not a test: it prints figures. ``replay_verify`` runs ``lockers audit verify`` itself
(``controller.app.audit.verify.verify_log``): every link and hash of the chain, contiguous versions, and the replay of
every event through the compartment state machine, spread over ``--workers`` processes.
``replay_verify_per_cpu_s`` divides by the CPU time used, so it stays meaningful on a shared machine.
``since_checkpoint_s`` is ``lockers audit verify --since-checkpoint`` (the anchor check, then the links, hashes
and versions of the ``--new-events`` appended after a checkpoint of the ``--events`` log; goal < 1 s).

Single durable appends are timed in interleaved rounds (ours, raw sqlite3, the ``eventsourcing`` library's
SQLite recorder: ``pip install -e .[bench]``), so that load from other processes hits all three alike;
``*_cpu_us`` are CPU microseconds per append. ``eventsourcing`` runs with its own settings (WAL and SQLite's
default ``synchronous``, read back into ``eventsourcing_synchronous``: 2 is FULL, as ours).
``append_checkpointed`` appends with the daemon's checkpoints every ``--checkpoint-every`` events, written here
on the appending thread (the daemon uses its own thread): an upper bound. ``checkpoint_ms`` is one checkpoint
(sign, append to the anchor file, fsync), timed ``--checkpoints`` times; ``checkpoint_cost`` is that time over
the time of the ``--checkpoint-every`` appends it covers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and benchmarks/recognition.py shadows the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.app.audit.anchors import anchor_check, head_from_log, write_checkpoint  # noqa: E402
from controller.app.audit.keys import AuditSettings, load_signer, make_signing_key  # noqa: E402
from controller.app.audit.verify import verify_log, verify_since  # noqa: E402
from controller.app.config.loader import load_config  # noqa: E402
from controller.domain import events as ev  # noqa: E402
from controller.domain.evidence import Evidence  # noqa: E402
from controller.service.anchors import ChainHead  # noqa: E402
from storage.audit_reader import AuditReader  # noqa: E402
from storage.engine import BUSY_TIMEOUT_MS  # noqa: E402
from storage.event_store import SqlEventStore  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cycle(cid: str, start: int) -> list[ev.Event]:
    """One deposit and one retrieval of compartment ``cid``: 11 events, versions ``start + 1`` on."""
    n = start
    t = T0 + timedelta(seconds=start * 7)
    base: Callable[[int], dict[str, Any]] = lambda i: dict(  # noqa: E731
        compartment_id=cid, version=n + i, occurred_at=t + timedelta(seconds=i), correlation_id=f"req-{cid}-{n}"
    )
    return [
        ev.DepositStarted(**base(1), subject_id=f"subj-{n}", template_ref=f"tpl-{cid}-{n}", model_version="facenet@1",
                       unlock_id=f"u-{cid}-{n}", pulse_ms=500),
        ev.UnlockPulseSent(**base(2), unlock_id=f"u-{cid}-{n}"),
        ev.DoorOpened(**base(3)),
        ev.DoorClosed(**base(4)),
        ev.ItemDeposited(**base(5)),
        ev.VerificationStarted(**base(6), evidence=Evidence(subject_id=f"subj-{n}", distance=0.3512, threshold=0.6,
                                                         model_version="facenet@1")),
        ev.IdentityConfirmed(**base(7), evidence=Evidence(subject_id=f"subj-{n}", distance=0.3121,
                                                       runner_up_distance=0.9134, threshold=0.6, margin=0.1,
                                                       frames_agreeing=3, frames_considered=5,
                                                       model_version="facenet@1"),
                          unlock_id=f"v-{cid}-{n}", pulse_ms=500),
        ev.UnlockPulseSent(**base(8), unlock_id=f"v-{cid}-{n}"),
        ev.DoorOpened(**base(9)),
        ev.DoorClosed(**base(10)),
        ev.ItemRetrieved(**base(11), template_ref=f"tpl-{cid}-{n}"),
    ]  # fmt: skip


class Timer:
    """Wall and CPU seconds accumulated over several timed blocks."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.count = 0

    def time(self, block: Callable[[], int]) -> None:
        """Run ``block`` (which returns how many appends it made) and add up its time."""
        wall, cpu = time.perf_counter(), time.process_time()
        self.count += block()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu

    def rates(self, name: str) -> dict[str, float]:
        """``{name}_per_s`` and ``{name}_cpu_us``."""
        return {f"{name}_per_s": self.count / self.wall, f"{name}_cpu_us": 1e6 * self.cpu / self.count}


class OurAppends:
    """Single-event appends to ``SqlEventStore``, optionally with the daemon's checkpoints every N events."""

    def __init__(self, url: str, checkpoint_every: int = 0, folder: Path | None = None) -> None:
        self.store = SqlEventStore.from_url(url)
        self.version = 0
        self.every = checkpoint_every
        self.checkpoints = Timer()
        if checkpoint_every and folder is not None:
            config = load_config(overrides={"bank": {"data_dir": str(folder)}})
            self.settings = AuditSettings.from_config(config)
            make_signing_key(self.settings)
            self.signer = load_signer(self.settings)
            self.head = ChainHead()

    def __call__(self, count: int) -> int:
        for event in cycles("single", self.version, count):
            stored = self.store.append("single", event.version - 1, [event])
            if self.every:
                self.head.advance(stored)
                if event.version % self.every == 0:
                    self.checkpoints.time(self.checkpoint)
        self.version += count
        return count

    def checkpoint(self) -> int:
        """Sign the head and append it to the anchor file (with its fsync)."""
        write_checkpoint(self.settings, self.signer, self.head)
        return 1


def cycles(cid: str, start: int, count: int) -> list[ev.Event]:
    """``count`` events of compartment ``cid`` after version ``start``."""
    first = start - start % 11
    events = [e for k in range(first, start + count + 11, 11) for e in cycle(cid, k)]
    return events[start - first : start - first + count]


class RawAppends:
    """Raw ``sqlite3``: same table (made by the migrations), same pragmas, one INSERT per transaction."""

    SQL = (
        "INSERT INTO events (compartment_id, version, occurred_at, event_type, schema_version, payload,"
        " correlation_id, event_hash, previous_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def __init__(self, path: Path) -> None:
        SqlEventStore.from_url(f"sqlite:///{path}").close()
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.version = 0

    def __call__(self, count: int) -> int:
        for _ in range(count):
            self.version += 1
            self.connection.execute("BEGIN IMMEDIATE")
            values = ("raw", self.version, T0.isoformat(), "ev.UnlockPulseSent", 1, '{"unlock_id":"u-1"}', "", "h" * 64)
            self.connection.execute(self.SQL, (*values, "p" * 64))
            self.connection.execute("COMMIT")
        return count


class LibraryAppends:
    """The ``eventsourcing`` library: one aggregate event saved per call through its SQLite recorder."""

    def __init__(self, path: Path) -> None:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event

        class Locker(Aggregate):
            @event("PulseSent")
            def pulse(self, unlock_id: str) -> None:
                self.unlock_id = unlock_id

        self.app: Any = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})
        self.locker = Locker()
        self.app.save(self.locker)

    def synchronous(self) -> int:
        """The ``synchronous`` pragma the library's connections run with."""
        with self.app.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            return int(cursor.fetchone()[0])

    def __call__(self, count: int) -> int:
        for index in range(count):
            self.locker.pulse(unlock_id=f"u-{index}")
            self.app.save(self.locker)
        return count


def bench_appends(folder: Path, count: int, checkpoint_every: int, checkpoints: int, rounds: int) -> dict[str, Any]:
    """All single-append variants in interleaved rounds of ``count / rounds`` appends."""
    variants: dict[str, Callable[[int], int]] = {
        "append": OurAppends(f"sqlite:///{folder}/single.db"),
        "append_checkpointed": OurAppends(f"sqlite:///{folder}/signed.db", checkpoint_every, folder),
        "sqlite3_append": RawAppends(folder / "raw.db"),
    }
    library = _library(folder)
    if library is not None:
        variants["eventsourcing_append"] = library
    timers = {name: Timer() for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            timers[name].time(lambda v=variant: v(max(1, count // rounds)))  # type: ignore[misc]
    results: dict[str, Any] = {}
    for name, timer in timers.items():
        results.update(timer.rates(name))
    signed = variants["append_checkpointed"]
    assert isinstance(signed, OurAppends)
    results["checkpoint_every"] = checkpoint_every
    for _ in range(checkpoints):
        signed.checkpoints.time(signed.checkpoint)
    results["checkpoint_ms"] = 1e3 * signed.checkpoints.wall / signed.checkpoints.count
    append_s = timers["append"].wall / timers["append"].count
    results["checkpoint_cost"] = results["checkpoint_ms"] / 1e3 / (checkpoint_every * append_s)
    results["append_vs_sqlite3"] = results["append_per_s"] / results["sqlite3_append_per_s"]
    if library is not None:
        results["append_vs_eventsourcing"] = results["append_per_s"] / results["eventsourcing_append_per_s"]
        results["eventsourcing_synchronous"] = library.synchronous()
    return results


def _library(folder: Path) -> LibraryAppends | None:
    try:
        return LibraryAppends(folder / "eventsourcing.db")
    except ImportError:
        print("eventsourcing is not installed (pip install -e .[bench]): no comparison with it", file=sys.stderr)
        return None


def fill(
    url: str, total: int, batch_cycles: int = 10, compartments: int = 200, versions: dict[str, int] | None = None
) -> float:
    """Append ``total`` events in batches of ``11 * batch_cycles`` (after ``versions``, which it advances)."""
    store = SqlEventStore.from_url(url)
    versions = dict.fromkeys(map(str, range(1, compartments + 1)), 0) if versions is None else versions
    written, started, turn = 0, time.perf_counter(), 0
    while written < total:
        cid = str(turn % compartments + 1)
        turn += 1
        start = versions[cid]
        events = cycles(cid, start, min(11 * batch_cycles, total - written))  # a cut cycle goes on where it stopped
        store.append(cid, start, events)
        versions[cid] += len(events)
        written += len(events)
    elapsed = time.perf_counter() - started
    store.close()
    return written / elapsed


def replay_verify(url: str, last_position: int, workers: int) -> tuple[float, float, int, int | None]:
    """``lockers audit verify`` itself (chain, hashes, versions, replay of every transition) over the whole log.

    Returns (events/s wall, events per CPU-second of the workers, events, first bad position).
    """
    started, cpu_started = time.perf_counter(), _children_cpu() + time.process_time()
    report = verify_log(url, workers)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() + time.process_time() - cpu_started
    return report.events / elapsed, report.events / max(cpu, 1e-9), report.events, report.first_bad_position


def since_checkpoint(url: str, folder: Path, new_events: int, versions: dict[str, int]) -> dict[str, Any]:
    """``lockers audit verify --since-checkpoint`` after ``new_events`` appended past a checkpoint of the log.

    Timed as the command runs it: the anchor check (key, anchor file, head file, the log against the
    checkpoint) and then the links, hashes and versions of the new events.
    """
    config = load_config(overrides={"bank": {"data_dir": str(folder / "since")}})
    settings = AuditSettings.from_config(config)
    make_signing_key(settings)
    reader = AuditReader.from_url(url)
    try:
        write_checkpoint(settings, load_signer(settings), head_from_log(reader))
    finally:
        reader.close()
    fill(url, new_events, versions=versions)
    started, cpu_started = time.perf_counter(), time.process_time()
    found = anchor_check(config, url)
    assert found.latest is not None and not found.problems, found.problems
    report = verify_since(url, found.latest)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if not report.ok or report.events != new_events:
        raise SystemExit(f"verification since the checkpoint failed: {report.events} events, {report.problems[:3]}")
    return {"since_checkpoint_s": elapsed, "since_checkpoint_cpu_s": cpu, "since_checkpoint_events": report.events}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for replay+verify")
    parser.add_argument("--new-events", type=int, default=10_000, help="events after the checkpoint")
    parser.add_argument("--appends", type=int, default=2000, help="single-event appends to time")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for replay+verify")
    parser.add_argument("--checkpoint-every", type=int, default=1000, help="events between checkpoints")
    parser.add_argument("--checkpoints", type=int, default=50, help="checkpoints to time")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds of single appends")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0]}
        results.update(bench_appends(folder, args.appends, args.checkpoint_every, args.checkpoints, args.rounds))
        big = f"sqlite:///{folder}/big.db"
        versions: dict[str, int] = dict.fromkeys(map(str, range(1, 201)), 0)
        results["append_batch_per_s"] = fill(big, args.events, versions=versions)
        results.update(since_checkpoint(big, folder, args.new_events, versions))
        expected = args.events + args.new_events
        speed, per_cpu_s, total, bad = replay_verify(big, expected, args.workers)
        results.update(
            replay_verify_per_s=speed,
            replay_verify_per_cpu_s=per_cpu_s,  # one core's rate, unaffected by other load on the machine
            replay_verify_events=total,
            replay_verify_workers=args.workers,
        )
        if bad is not None or total != expected:
            raise SystemExit(f"verification failed: {total} events, first bad position {bad}")
    rounded = {k: round(v, 2 if abs(v) >= 1 else 4) if isinstance(v, float) else v for k, v in results.items()}
    print(json.dumps(rounded) if args.json else "\n".join(f"{k:>28}: {v}" for k, v in rounded.items()))


if __name__ == "__main__":
    main()
