"""Event store benchmark: durable appends (vs raw sqlite3 with the same pragmas) and replay+verify.

    python benchmarks/event_store.py --json [--events 1000000] [--appends 2000] [--workers 2]

Not a test: it prints figures. ``replay_verify`` runs ``lockers audit verify`` itself
(``controller.app.auditor.verify_log``): every link and hash of the chain, contiguous versions, and the replay of
every event through the compartment state machine, spread over ``--workers`` processes.
``replay_verify_per_cpu_s`` divides by the CPU time used, so it stays meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller.app.auditor import verify_log
from controller.domain.events import (
    DepositStarted,
    DoorClosed,
    DoorOpened,
    Event,
    IdentityConfirmed,
    ItemDeposited,
    ItemRetrieved,
    UnlockPulseSent,
    VerificationStarted,
)
from controller.domain.evidence import Evidence
from storage.engine import BUSY_TIMEOUT_MS
from storage.event_store import SqlEventStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def cycle(cid: str, start: int) -> list[Event]:
    """One deposit and one retrieval of compartment ``cid``: 11 events, versions ``start + 1`` on."""
    n = start
    t = T0 + timedelta(seconds=start * 7)
    base: Callable[[int], dict[str, Any]] = lambda i: dict(  # noqa: E731
        compartment_id=cid, version=n + i, occurred_at=t + timedelta(seconds=i), correlation_id=f"req-{cid}-{n}"
    )
    return [
        DepositStarted(**base(1), subject_id=f"subj-{n}", template_ref=f"tpl-{cid}-{n}", model_version="facenet@1",
                       unlock_id=f"u-{cid}-{n}", pulse_ms=500),
        UnlockPulseSent(**base(2), unlock_id=f"u-{cid}-{n}"),
        DoorOpened(**base(3)),
        DoorClosed(**base(4)),
        ItemDeposited(**base(5)),
        VerificationStarted(**base(6), evidence=Evidence(subject_id=f"subj-{n}", distance=0.3512, threshold=0.6,
                                                         model_version="facenet@1")),
        IdentityConfirmed(**base(7), evidence=Evidence(subject_id=f"subj-{n}", distance=0.3121,
                                                       runner_up_distance=0.9134, threshold=0.6, margin=0.1,
                                                       frames_agreeing=3, frames_considered=5,
                                                       model_version="facenet@1"),
                          unlock_id=f"v-{cid}-{n}", pulse_ms=500),
        UnlockPulseSent(**base(8), unlock_id=f"v-{cid}-{n}"),
        DoorOpened(**base(9)),
        DoorClosed(**base(10)),
        ItemRetrieved(**base(11), template_ref=f"tpl-{cid}-{n}"),
    ]  # fmt: skip


def bench_single_appends(url: str, count: int) -> float:
    store = SqlEventStore.from_url(url)
    events = [e for k in range(count // 11 + 1) for e in cycle("single", k * 11)][:count]
    started = time.perf_counter()
    for event in events:
        store.append("single", event.version - 1, [event])
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


def bench_raw_sqlite(path: Path, url: str, count: int) -> float:
    """Raw ``sqlite3``: same table (made by the migrations), same pragmas, one INSERT per transaction."""
    SqlEventStore.from_url(url).close()
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in (f"busy_timeout = {BUSY_TIMEOUT_MS}", "journal_mode = WAL", "synchronous = FULL"):
        connection.execute(f"PRAGMA {pragma}")
    sql = (
        "INSERT INTO events (compartment_id, version, occurred_at, event_type, schema_version, payload,"
        " correlation_id, event_hash, previous_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    payload = '{"unlock_id":"u-1"}'
    started = time.perf_counter()
    for version in range(1, count + 1):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(sql, ("raw", version, T0.isoformat(), "UnlockPulseSent", 1, payload, "", "h" * 64, "p" * 64))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def fill(url: str, total: int, batch_cycles: int = 10, compartments: int = 200) -> float:
    """Append ``total`` events in batches of ``11 * batch_cycles``; return events per second."""
    store = SqlEventStore.from_url(url)
    versions = dict.fromkeys(map(str, range(1, compartments + 1)), 0)
    written, started, turn = 0, time.perf_counter(), 0
    while written < total:
        cid = str(turn % compartments + 1)
        turn += 1
        start = versions[cid]
        events = [e for k in range(batch_cycles) for e in cycle(cid, start + 11 * k)][: total - written]
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--events", type=int, default=1_000_000, help="log size for replay+verify")
    parser.add_argument("--appends", type=int, default=2000, help="single-event appends to time")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for replay+verify")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the databases (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        results: dict[str, Any] = {
            "sqlite3_append_per_s": bench_raw_sqlite(folder / "raw.db", f"sqlite:///{folder}/raw.db", args.appends),
            "append_per_s": bench_single_appends(f"sqlite:///{folder}/single.db", args.appends),
        }
        results["append_vs_sqlite3"] = results["append_per_s"] / results["sqlite3_append_per_s"]
        big = f"sqlite:///{folder}/big.db"
        results["append_batch_per_s"] = fill(big, args.events)
        speed, per_cpu_s, total, bad = replay_verify(big, args.events, args.workers)
        results.update(
            replay_verify_per_s=speed,
            replay_verify_per_cpu_s=per_cpu_s,  # one core's rate, unaffected by other load on the machine
            replay_verify_events=total,
            replay_verify_workers=args.workers,
        )
        if bad is not None or total != args.events:
            raise SystemExit(f"verification failed: {total} events, first bad position {bad}")
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()}
    print(json.dumps(rounded) if args.json else "\n".join(f"{k:>28}: {v}" for k, v in rounded.items()))


if __name__ == "__main__":
    main()
