"""``audit verify`` over a whole database, spread over worker processes (part of the outer shell)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from controller.app.bootstrap import event_decoder, open_event_store
from controller.service import audit


def verify_shard(url: str | None, shard: audit.Shard) -> audit.AuditReport:
    """One worker's share of the audit, read from its own connection."""
    store = open_event_store(url, create=False)
    try:
        return audit.verify(store.read_raw(), event_decoder(), shard)
    finally:
        store.close()


def verify_log(url: str | None, workers: int | None = None) -> audit.AuditReport:
    """Verify the log at ``url`` with ``workers`` processes (default: one per CPU)."""
    count = max(1, workers or os.cpu_count() or 1)
    if count == 1:
        return verify_shard(url, audit.Shard())
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(verify_shard, url, audit.Shard(index, count)) for index in range(count)]
        return audit.merge(future.result() for future in futures)
