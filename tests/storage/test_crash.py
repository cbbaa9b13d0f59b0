"""A writer SIGKILLed at random moments, many times: the chain stays intact and no acknowledged append is lost."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest

from storage.engine import open_engine, parse_url
from storage.event_store import SqlEventStore
from tests.support.events import first_bad_position, flow

STREAMS = ("1", "2", "3", "4")
BATCH = 3


def _writer(url: str, ack_path: str, seed: int) -> None:
    """Append batches forever; after each append returns, record it as acknowledged."""
    store = SqlEventStore(open_engine(parse_url(url)))
    versions = {cid: len(store.read_stream(cid)) for cid in STREAMS}
    rng = random.Random(seed)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    while True:
        cid = rng.choice(STREAMS)
        store.append(cid, versions[cid], flow(cid, versions[cid], BATCH))
        versions[cid] += BATCH
        os.write(ack, f"{cid} {versions[cid]}\n".encode())  # one write(2): survives the kill whole


def _acknowledged(ack_path: Path) -> dict[str, int]:
    highest: dict[str, int] = defaultdict(int)
    for line in ack_path.read_text().splitlines():
        cid, version = line.split()
        highest[cid] = max(highest[cid], int(version))
    return highest


def _kill_repeatedly(url: str, ack_path: Path, kills: int) -> None:
    SqlEventStore.from_url(url).close()  # migrate first; the parent then holds no connection across fork
    context = multiprocessing.get_context("fork")
    rng = random.Random(2026)
    for round_ in range(kills):
        child = context.Process(target=_writer, args=(url, str(ack_path), round_), daemon=True)
        child.start()
        time.sleep(rng.uniform(0.05, 0.6))
        assert child.is_alive(), f"writer died by itself in round {round_} (exit code {child.exitcode})"
        child.kill()
        child.join()
        assert child.exitcode == -signal.SIGKILL


def _check_log(url: str, ack_path: Path, *, gapless: bool) -> int:
    store = SqlEventStore.from_url(url, create=False)
    raw = list(store.read_raw())
    assert first_bad_position(raw) is None
    positions = [r.position for r in raw]
    assert positions == sorted(set(positions))
    if gapless:
        assert positions == list(range(1, len(raw) + 1))
    for cid, acked in _acknowledged(ack_path).items():
        versions = [e.version for e in store.read_stream(cid)]
        assert versions == list(range(1, len(versions) + 1)), f"stream {cid} has gaps"
        assert len(versions) % BATCH == 0, f"stream {cid} holds part of a batch"
        assert len(versions) >= acked, f"stream {cid}: version {acked} was acknowledged, only {len(versions)} stored"
    store.close()
    return len(raw)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sqlite_writer_killed_25_times(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/crash.db"
    _kill_repeatedly(url, tmp_path / "acks", kills=25)
    events = _check_log(url, tmp_path / "acks", gapless=True)
    assert events >= 25 * BATCH
    assert sum(_acknowledged(tmp_path / "acks").values()) > 0
    with sqlite3.connect(tmp_path / "crash.db") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_postgres_writer_killed_10_times(pg_url: str, tmp_path: Path) -> None:
    _kill_repeatedly(pg_url, tmp_path / "acks", kills=10)
    # PostgreSQL sequences are not transactional: a killed transaction may leave a gap in positions.
    assert _check_log(pg_url, tmp_path / "acks", gapless=False) >= 10 * BATCH
