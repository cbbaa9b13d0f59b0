"""The camera worker as the bank's ``Enroller``: the next good frames -> a template -> the vault.

A deposit flows route -> bank -> enroller -> vault -> events: the bank asks, this waits (off the event
loop) for the worker's enrolment, stores the template encrypted, and says where it went.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from recognition.runtime.station import StoredEnrolment, TemplateVault, store_enrolment
from recognition.runtime.worker import RecognitionWorker


class EnrolmentWatcher(Protocol):
    """Who shows an enrolment's progress (the kiosk): told when one starts and when it ends, either way."""

    def enrolling(self, needed: int) -> None:
        """An enrolment is waiting for ``needed`` good frames."""
        ...

    def enrolled(self) -> None:
        """The enrolment is over, stored or failed."""
        ...


class _Unwatched:
    def enrolling(self, needed: int) -> None:
        pass

    def enrolled(self) -> None:
        pass


@dataclass
class WorkerEnroller:
    """Enrols from a running ``RecognitionWorker``'s camera into ``vault``.

    ``lookback_s`` also admits frames captured that long before the request (uploads in simulate mode,
    where a script's first frame may overtake its deposit request).
    """

    worker: RecognitionWorker
    vault: TemplateVault
    samples: int
    timeout_s: float
    lookback_s: float = 0.0
    watcher: EnrolmentWatcher | None = None

    async def enrol(self) -> StoredEnrolment:
        """Capture ``samples`` good frames (or the policy's minimum by the deadline) and store the template."""
        watcher = self.watcher or _Unwatched()
        pending = self.worker.enrol(self.samples, self.timeout_s, self.lookback_s)
        watcher.enrolling(self.samples)
        try:
            result = await asyncio.wrap_future(pending)
        except asyncio.CancelledError:
            self.worker.end_enrolment("the deposit was cancelled", pending)  # the next deposit need not wait
            raise
        finally:
            watcher.enrolled()
        return store_enrolment(self.vault, result, self.worker.pipeline.card.model_version)
