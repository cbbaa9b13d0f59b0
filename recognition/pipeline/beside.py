"""Work beside the embedding: a caller's hook that sees the primary face before the pipeline embeds it.

Within ``beside_embedding(hook)``, ``MtcnnPipeline.analyse`` on that thread calls ``hook(image, face)``
once the primary face has passed the quality gates and before its embedding starts; the station and the
worker start the liveness cue there, so the passive networks run while the face is embedded. A context
variable, not an argument: the pipeline is one per process and wrapped (timing), and other pipelines
(fakes, replays) need not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from recognition.types import Face, Image

PrimaryHook = Callable[[Image, Face], None]
"""Called with the frame and its primary face once that face passed the gates, before it is embedded."""

_hook: ContextVar[PrimaryHook | None] = ContextVar("beside_embedding", default=None)


@contextmanager
def beside_embedding(hook: PrimaryHook) -> Iterator[None]:
    """Within the block, the pipeline calls ``hook`` with the primary face before embedding it."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


def primary_found(image: Image, face: Face) -> None:
    """The pipeline's side: the primary face passed the gates and is about to be embedded."""
    if (hook := _hook.get()) is not None:
        hook(image, face)
