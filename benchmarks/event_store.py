"""Event store benchmark: durable appends (vs raw sqlite3 with the same pragmas) and replay+verify.

    python benchmarks/event_store.py --json [--events 1000000] [--appends 2000] [--workers 2]

Not a test: it prints figures. ``replay_verify_per_cpu_s`` divides by the CPU time the verifying
processes used, so it stays meaningful when other work shares the machine. ``replay_verify`` recomputes every hash with
``controller.chain.chain_hash`` and decodes every event; with ``--workers`` > 1 the position range
is split between processes (each row's hash depends only on its own content and stored
``previous_hash``; the seams are checked by the parent).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from controller.chain import GENESIS_HASH, chain_hash
from controller.events import (
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
from storage.engine import BUSY_TIMEOUT_MS, open_engine, parse_url
from storage.event_store import SqlEventStore
from storage.serialization import EventSerializer

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
        VerificationStarted(**base(6), distance=0.3512, threshold=0.6, model_version="facenet@1"),
        IdentityConfirmed(**base(7), subject_id=f"subj-{n}", distance=0.3121, runner_up_distance=0.9134,
                          threshold=0.6, margin=0.1, frames_agreeing=3, frames_considered=5,
                          model_version="facenet@1", unlock_id=f"v-{cid}-{n}", pulse_ms=500),
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


def verify_range(url: str, after: int, stop: int) -> tuple[int, int | None, str, str, float]:
    """Verify positions ``after < p <= stop``: (rows, first bad, first previous_hash, last hash, CPU s)."""
    cpu = time.process_time()
    store = SqlEventStore(open_engine(parse_url(url)), EventSerializer())
    decode = EventSerializer().decode_fields
    rows, bad, first_previous, previous = 0, None, "", ""
    for r in store.read_raw(after):
        if r.position > stop:
            break
        if rows == 0:
            first_previous = previous = r.previous_hash
        recomputed = chain_hash(
            previous, compartment_id=r.compartment_id, version=r.version, occurred_at=r.occurred_at,
            event_type=r.event_type, schema_version=r.schema_version, payload_json=r.payload_json,
            correlation_id=r.correlation_id,
        )  # fmt: skip
        if bad is None and (r.previous_hash != previous or recomputed != r.event_hash):
            bad = r.position
        decode(r.position, r.compartment_id, r.version, r.occurred_at, r.event_type, r.schema_version,
               r.payload_json, r.correlation_id)  # fmt: skip
        previous = r.event_hash
        rows += 1
    store.close()
    return rows, bad, first_previous, previous, time.process_time() - cpu


def replay_verify(url: str, last_position: int, workers: int) -> tuple[float, float, int, int | None]:
    """Verify the whole log with ``workers`` processes; (events/s, events per CPU s, events, first bad)."""
    bounds = [last_position * i // workers for i in range(workers + 1)]
    ranges = list(zip(bounds, bounds[1:], strict=False))
    started = time.perf_counter()
    if workers == 1:
        parts = [verify_range(url, *ranges[0])]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.starmap(verify_range, [(url, a, b) for a, b in ranges])
    elapsed = time.perf_counter() - started
    bad = next((p[1] for p in parts if p[1] is not None), None)
    expected_previous = GENESIS_HASH
    for rows, _, first_previous, last_hash, _ in parts:  # the seams between ranges
        if rows and first_previous != expected_previous and bad is None:
            bad = -1
        expected_previous = last_hash or expected_previous
    total = sum(p[0] for p in parts)
    return total / elapsed, total / sum(p[4] for p in parts), total, bad


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
