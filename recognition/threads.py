"""A worker pool that starts on first use: the fusion's parts and the liveness cue run beside the caller."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class LazyThreads:
    """``workers`` threads named ``name``, started by the first ``submit``; ``close`` (or the owner's end) stops them.

    A ``submit`` after ``close`` starts them again, so a closed owner still works.
    """

    def __init__(self, workers: int, name: str) -> None:
        self.workers = workers
        self.name = name
        self._pool: ThreadPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """Whether the threads are running."""
        return self._pool is not None

    def submit(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run ``work`` on one of the threads."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
            weakref.finalize(self, self._pool.shutdown, wait=False)
        return self._pool.submit(work, *args, **kwargs)

    def close(self) -> None:
        """Stop the (idle) threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
