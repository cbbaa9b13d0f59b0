"""Detect and align every image of a dataset once, with the project's own MTCNN and alignment; cache on disk.

The cache is one ``.npz`` per (dataset fingerprint, alignment template, selection settings), so a second
run on the same bytes skips detection entirely. Images without a usable face are skipped and reported.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from recognition.errors import ImageError
from recognition.evaluation.datasets import central_face
from recognition.pipeline.align import AlignTemplate, align_face
from recognition.pipeline.images import load_image
from recognition.training.data import Dataset
from recognition.training.errors import DatasetError
from recognition.training.progress import bar

if TYPE_CHECKING:
    from recognition.pipeline.detector import MtcnnDetector

MIN_PROBABILITY = 0.9
"""Detections below this are not faces we want to learn from (the subject is the central face above it)."""
CACHE_VERSION = 1


@dataclass(frozen=True, slots=True)
class FaceSet:
    """Aligned chips (N, S, S, 3) uint8 RGB with their identity names; what was skipped and why."""

    chips: npt.NDArray[np.uint8]
    names: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    fingerprint: str
    template: str

    def skip_summary(self) -> dict[str, int]:
        """How many images were skipped, per reason."""
        return dict(Counter(reason.split(":", 1)[0] for _, reason in self.skipped))


def default_cache_dir() -> Path:
    """``$LOCKERS_CACHE`` or ``$XDG_CACHE_HOME/lockers`` (default ``~/.cache/lockers``), then ``chips``."""
    root = os.environ.get("LOCKERS_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "lockers")
    return Path(root).expanduser() / "chips"


def prepare(dataset: Dataset, template: AlignTemplate, cache_dir: Path, device: str = "cpu") -> FaceSet:
    """The dataset's aligned faces, from the cache when present, else detected now and cached."""
    key = _cache_key(dataset.fingerprint, template)
    path = cache_dir / f"{key}.npz"
    if path.is_file():
        return _read(path)
    faces = _detect_all(dataset, template, device)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _write(path, faces)
    return faces


def _cache_key(fingerprint: str, template: AlignTemplate) -> str:
    settings = json.dumps([CACHE_VERSION, template.name, template.size, template.points, MIN_PROBABILITY])
    return f"{fingerprint[:16]}-{template.name}-{hashlib.sha256(settings.encode()).hexdigest()[:8]}"


def _detect_all(dataset: Dataset, template: AlignTemplate, device: str) -> FaceSet:
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector

    detector = MtcnnDetector(DetectorConfig(device=device))
    chips: list[npt.NDArray[np.uint8]] = []
    names: list[str] = []
    skipped: list[tuple[str, str]] = []
    items = [(name, path) for name, paths in dataset.identities.items() for path in paths]
    for name, path in bar(items, "detect+align", "img"):
        chip, reason = _chip_of(detector, path, template)
        if chip is None:
            skipped.append((str(path.relative_to(dataset.root)), reason))
        else:
            chips.append(chip)
            names.append(name)
    if not chips:
        raise DatasetError(f"{dataset.root}: no usable face in {len(items)} images ({_reasons(skipped)})")
    return FaceSet(np.stack(chips), tuple(names), tuple(skipped), dataset.fingerprint, template.name)


def _chip_of(detector: MtcnnDetector, path: Path, template: AlignTemplate) -> tuple[npt.NDArray[np.uint8] | None, str]:
    try:
        image = load_image(path)
    except ImageError as exc:
        return None, f"unreadable: {exc}"
    face = central_face([f for f in detector.detect(image) if f.probability >= MIN_PROBABILITY], image.shape)
    if face is None:
        return None, "no_face"
    return align_face(image, face.landmarks, template), ""


def _reasons(skipped: list[tuple[str, str]]) -> str:
    counts = Counter(reason.split(":", 1)[0] for _, reason in skipped)
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(counts.items()))


def _write(path: Path, faces: FaceSet) -> None:
    partial = path.with_suffix(".part.npz")
    np.savez_compressed(
        partial,
        chips=faces.chips,
        names=np.asarray(faces.names),
        skipped=np.asarray(faces.skipped, dtype=str).reshape(-1, 2),
        meta=np.asarray([faces.fingerprint, faces.template]),
    )
    partial.replace(path)


def _read(path: Path) -> FaceSet:
    with np.load(path, allow_pickle=False) as data:
        skipped = tuple((str(a), str(b)) for a, b in data["skipped"])
        names = tuple(str(n) for n in data["names"])
        fingerprint, template = (str(v) for v in data["meta"])
        return FaceSet(np.asarray(data["chips"], dtype=np.uint8), names, skipped, fingerprint, template)
