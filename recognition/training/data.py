"""A folder-per-identity dataset (listed by ``recognition.evaluation.datasets``) and a fingerprint of its bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from recognition.evaluation.datasets import folder_identities, read_people


@dataclass(frozen=True, slots=True)
class Dataset:
    """Image paths per identity (sorted), and the SHA-256 of names and bytes of every image."""

    root: Path
    identities: dict[str, tuple[Path, ...]]
    fingerprint: str

    @property
    def image_count(self) -> int:
        """How many images the dataset lists."""
        return sum(len(paths) for paths in self.identities.values())


def load_dataset(root: Path, people: Path | None = None, max_per_identity: int | None = None) -> Dataset:
    """Identities of ``root`` with two images or more (only those of ``people`` when given).

    ``max_per_identity`` keeps the first N images of each (sorted by name) so one prolific identity
    cannot dominate training. Raises ``EvaluationInputError`` for a missing or unusable folder.
    """
    listed = folder_identities(root, read_people(people, root) if people is not None else None)
    identities = {name: tuple(paths[:max_per_identity]) for name, paths in listed.items()}
    return Dataset(root, identities, fingerprint(identities))


def fingerprint(identities: dict[str, tuple[Path, ...]]) -> str:
    """SHA-256 over every identity/file name and file content, in sorted order."""
    digest = hashlib.sha256()
    for name in sorted(identities):
        for path in identities[name]:
            digest.update(f"{name}/{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
