"""The daemon's checkpoint writer: every N events, every T seconds when the log moved, and at shutdown.

It follows the head from the service's committed events (no query per checkpoint) and writes on its own
thread, so an append never waits for a signature, an fsync of the anchor file or the witness. The first
event of a log is anchored at once, and so is, at start, a log that moved past the last checkpoint written
(a crash, or a log anchored for the first time). The daemon's start check makes the key on a bank's first
start; without one (a caller that skipped the check) it logs one warning and stays idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import structlog

from controller.app.audit.anchor_file import read_head
from controller.app.audit.anchors import head_from_log, write_checkpoint
from controller.app.audit.keys import AuditSettings, load_signer
from controller.app.config.loader import Config
from controller.domain.errors import LockerError
from controller.ports import StoredEvent
from controller.service.anchors import ChainHead

log = structlog.get_logger("lockers.anchors")


class AnchorKeeper:
    """Keeps the anchor file in step with the live log; ``run`` is one daemon task, ``close`` the last word."""

    def __init__(self, settings: AuditSettings, signer: Any, head: ChainHead) -> None:
        self.settings = settings
        self.signer = signer
        self.head = head
        self.written_position = -1
        self._requested_position = -1
        # One writer thread: checkpoints reach the file in the order they were taken, off the event loop.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anchors")
        self._pending: set[asyncio.Future[None]] = set()
        self._closed = False
        self._anchored = _last_written(settings)

    @classmethod
    def start(cls, config: Config, service: Any, store: Any) -> AnchorKeeper | None:
        """Read the head of ``store``'s log and follow ``service``'s commits; None without a signing key."""
        from storage.audit_reader import AuditReader

        settings = AuditSettings.from_config(config)
        if getattr(store, "url", None) is None:  # an in-memory log has nothing to anchor
            return None
        if not settings.signing_key_path.exists():
            log.warning("no audit signing key: the log is not anchored", hint="run `lockers keys signing`")
            return None
        reader = AuditReader.from_url(store.url.render_as_string(hide_password=False))
        try:
            keeper = cls(settings, load_signer(settings), head_from_log(reader))
        finally:
            reader.close()
        service.subscribe(keeper.on_committed)
        if keeper.head.events and keeper.head.position != keeper._anchored:
            keeper._request()  # events no checkpoint covers yet: anchor them before serving
        return keeper

    def on_committed(self, committed: Sequence[StoredEvent]) -> None:
        """Follow the head; hand a checkpoint to the writer thread at the log's first event and once N wait."""
        self.head.advance(committed)
        every = self.settings.checkpoint_every_events
        first = self._requested_position < 0 and self._anchored < 0
        if first or (every and self.head.position - max(self._requested_position, 0) >= every):
            self._request()

    async def run(self) -> None:
        """Every T seconds, a checkpoint when the log moved since the last one (N-event ones start at commit)."""
        period = self.settings.checkpoint_every_s
        if not period:
            return
        while True:
            await asyncio.sleep(period)
            self._request()

    async def close(self) -> None:
        """The shutdown checkpoint; returns once every checkpoint taken is on disk."""
        self._request()
        self._closed = True
        while self._pending:
            await asyncio.gather(*self._pending)
        self._writer.shutdown(wait=True)

    def _request(self) -> None:
        if self.head.position == self._requested_position or not self.head.log_id or self._closed:
            return  # nothing new, an empty log, or after the shutdown checkpoint
        snapshot = replace(self.head, streams=dict(self.head.streams))
        self._requested_position = snapshot.position
        future = asyncio.get_running_loop().run_in_executor(self._writer, self._write, snapshot)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _write(self, head: ChainHead) -> None:
        """Sign and write one checkpoint on the writer thread; a failure is logged, the next one tries again."""
        try:
            write_checkpoint(self.settings, self.signer, head)
        except (LockerError, OSError) as exc:  # the bank keeps running; the next checkpoint tries again
            log.error("checkpoint not written", error=str(exc), path=str(self.settings.anchor_path))
            return
        self.written_position = head.position


def _last_written(settings: AuditSettings) -> int:
    """The position of the last checkpoint written (the head file), -1 when none is known."""
    try:
        head = read_head(settings.head_path)
    except ValueError:
        return -1
    return -1 if head is None else head.position
