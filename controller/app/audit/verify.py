"""``audit verify`` over a whole database, spread over worker processes (part of the outer shell).

Each worker replays only its own streams (spread by row count) and checks the links of one range of
positions in SQL; nobody reads a row twice.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from controller.app.bootstrap import default_database_url, event_decoder
from controller.service import audit
from controller.service.anchors import Checkpoint
from storage.audit_reader import AuditReader


def verify_share(url: str, streams: list[str], low: int, high: int) -> audit.AuditReport:
    """One worker's share: the replay of ``streams`` and the chain links of positions (low, high]."""
    reader = AuditReader.from_url(url)
    try:
        report = audit.verify_streams(reader.read_streams(streams), event_decoder())
        links = audit.link_report(reader.chain_breaks(low, high))
        return audit.merge([report, links], events=report.events)
    finally:
        reader.close()


def verify_since(url: str, checkpoint: Checkpoint) -> audit.AuditReport:
    """The rows after an authentic ``checkpoint``: their links, hashes and versions (``--since-checkpoint``)."""
    reader = AuditReader.from_url(url)
    try:
        versions = {cid: head[0] for cid, head in checkpoint.streams.items()}
        return audit.verify_tail(reader.read_after(checkpoint.position), checkpoint.head_hash, versions)
    finally:
        reader.close()


def verify_log(url: str | None, workers: int | None = None) -> audit.AuditReport:
    """Verify the log at ``url`` with ``workers`` processes (default: one per CPU)."""
    url = url or default_database_url()
    reader = AuditReader.from_url(url)
    try:
        sizes = reader.stream_sizes()
        low, high, _ = reader.position_bounds()
    finally:
        reader.close()
    count = max(1, min(workers or os.cpu_count() or 1, len(sizes) or 1))
    shares = audit.assign_streams(sizes, count)
    cuts = [low - 1 + (high - low + 1) * index // count for index in range(count + 1)]
    jobs = [(url, shares[index], cuts[index], cuts[index + 1]) for index in range(count)]
    if count == 1:
        return verify_share(*jobs[0])
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("fork")) as pool:
        reports = list(pool.map(verify_share, *zip(*jobs, strict=True)))
    return audit.merge(reports, events=sum(report.events for report in reports))
