"""The progress bar (tqdm on stderr; hidden when stderr is not a terminal or when switched off)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def bar(items: Iterable[T], desc: str, unit: str, enabled: bool = True) -> Iterator[T]:
    """Iterate ``items`` behind a tqdm bar."""
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    yield from tqdm(items, desc=desc, unit=unit, disable=None if enabled else True, leave=False)
