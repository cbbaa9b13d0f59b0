"""``lockers attacks make``: genuine and attack attempts written as folders of frames, from photographs.

Layout written under OUT (what ``lockers eval --liveness`` reads)::

    OUT/live/<person>_<k>/frame_00.jpg ...          distinct photographs of one person
    OUT/attacks/<type>/<person>_<k>/frame_00.jpg     type: replay, reencoded, printed, screen

FROM holds one sub-folder of photographs per person, or the photographs of one person directly.
Each person's frames come from a generator seeded with (seed, person index): the same seed writes
the same files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recognition.errors import EvaluationInputError
from recognition.evaluation.attacks import GENERATORS
from recognition.evaluation.datasets import IMAGE_SUFFIXES
from recognition.pipeline.images import load_image
from recognition.types import Image


@dataclass
class AttackSetReport:
    """What was written: attempts per folder, and the people skipped for lack of photographs."""

    out: Path
    live: int = 0
    attacks: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GENERATORS, 0))
    people: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {"out": str(self.out), "people": self.people, "live": self.live, "attacks": self.attacks,
                "skipped": self.skipped}  # fmt: skip


def people_photos(source: Path) -> dict[str, list[Path]]:
    """Photographs per person: sub-folders of ``source``, or ``source`` itself as one person."""
    if not source.is_dir():
        raise EvaluationInputError(f"{source}: not a folder")
    folders = sorted(p for p in source.iterdir() if p.is_dir()) or [source]
    people = {folder.name: sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
              for folder in folders}  # fmt: skip
    if not any(people.values()):
        raise EvaluationInputError(f"{source}: no photographs ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return {name: photos for name, photos in people.items() if photos}


def make_attack_set(
    source: Path, out: Path, seed: int = 0, frames: int = 4, limit: int | None = None, per_person: int = 2
) -> AttackSetReport:
    """Per person: up to ``per_person`` genuine attempts and as many attempts of each attack type."""
    if frames < 2 or per_person < 1:
        raise EvaluationInputError("an attempt needs at least 2 frames, and --per-person at least 1")
    report = AttackSetReport(out)
    for index, (person, photos) in enumerate(list(people_photos(source).items())[:limit]):
        rng = np.random.default_rng([seed, index])
        order = [photos[i] for i in rng.permutation(len(photos))]
        genuine = min(per_person, len(order) // frames)
        for k in range(genuine):
            _write(out / "live" / f"{person}_{k}", [load_image(p) for p in order[k * frames : (k + 1) * frames]])
        if genuine == 0:
            report.skipped.append(person)  # too few photographs for a genuine attempt; attacks still come
        for k, path in enumerate(order[::-1][:per_person]):
            _attacks(load_image(path), out, f"{person}_{k}", frames, rng, report)
        report.live += genuine
        report.people += 1
    return report


def _attacks(
    photo: Image, out: Path, name: str, frames: int, rng: np.random.Generator, report: AttackSetReport
) -> None:
    for kind, generate in GENERATORS.items():
        _write(out / "attacks" / kind / name, generate(photo, frames, rng))
        report.attacks[kind] += 1


def _write(folder: Path, frames: list[Image]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        # Quality 95: the attack is in the pixels, the files should not add much of their own.
        cv2.imwrite(str(folder / f"frame_{i:02d}.jpg"), frame[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
