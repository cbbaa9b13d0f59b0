"""Split identities (never images) into training and validation people, seeded and recorded."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from recognition.training.errors import DatasetError

MIN_IMAGES = 2
"""An identity needs two faces: validation pairs need a genuine pair, training a second view."""


@dataclass(frozen=True, slots=True)
class Split:
    """Training and validation identities (disjoint, sorted), the seed, and who was dropped and why."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    seed: int
    dropped: tuple[str, ...] = ()

    def digest(self) -> str:
        """SHA-256 of the split as canonical JSON: two runs on the same people agree on it."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able form."""
        return {
            "train": list(self.train),
            "validation": list(self.validation),
            "seed": self.seed,
            "dropped": list(self.dropped),
        }


def split_identities(names: Sequence[str], validation: int | None, seed: int) -> Split:
    """Assign each identity with enough faces to training or validation; ``validation`` identities go there.

    ``names`` holds one entry per face; ``validation=None`` takes a quarter of the identities (at least 2).
    """
    counts = Counter(names)
    usable = sorted(name for name, count in counts.items() if count >= MIN_IMAGES)
    dropped = tuple(sorted(set(counts) - set(usable)))
    if len(usable) < 2 * MIN_IMAGES:
        raise DatasetError(
            f"need at least {2 * MIN_IMAGES} identities with {MIN_IMAGES}+ usable faces, found {len(usable)} "
            f"({len(dropped)} identities have fewer)"
        )
    count = max(2, round(len(usable) / 4)) if validation is None else validation
    if not 2 <= count <= len(usable) - 2:
        raise DatasetError(f"validation identities must be between 2 and {len(usable) - 2}, got {count}")
    order = np.random.default_rng(seed).permutation(len(usable))
    chosen = {usable[i] for i in order[:count]}
    train = tuple(n for n in usable if n not in chosen)
    return Split(train, tuple(sorted(chosen)), seed, dropped)


def from_dict(values: dict[str, object]) -> Split:
    """Inverse of ``Split.as_dict`` (for resumed runs)."""
    train, validation, dropped = (tuple(str(n) for n in values[k]) for k in ("train", "validation", "dropped"))  # type: ignore[attr-defined]
    return Split(train, validation, int(values["seed"]), dropped)  # type: ignore[call-overload]
