"""Evaluation datasets and runs: LFW pairs files and folder-per-identity collections.

Images in which no face is found cannot be embedded; every pair that involves one is scored with an
infinite distance, i.e. counted as "different" (a rejection): honest for genuine pairs, harmless for
impostor pairs. Reports say how many images and pairs this affected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import numpy.typing as npt

from recognition.errors import EvaluationInputError, ImageError
from recognition.evaluation.metrics import accuracy_at, rates_at, summarise
from recognition.pipeline.images import load_image
from recognition.types import Detector, Embedder, Embedding, Face, Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".pgm", ".bmp", ".ppm", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True, slots=True)
class Pair:
    """Two images and whether they show the same person."""

    a: Path
    b: Path
    same: bool


def read_pairs(pairs_file: Path, images: Path) -> list[Pair]:
    """Parse an LFW pairs file (View 1 "500" or View 2 "10 300" header) into image pairs under ``images``."""
    try:
        lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationInputError(f"{pairs_file}: cannot read pairs file ({exc})") from exc
    if not lines or not all(field.isdigit() for field in lines[0]):
        raise EvaluationInputError(f"{pairs_file}: first line must be the LFW header (e.g. '500')")
    return [_pair(fields, images, pairs_file, number) for number, fields in enumerate(lines[1:], start=2)]


def _pair(fields: list[str], images: Path, source: Path, number: int) -> Pair:
    try:
        if len(fields) == 3:
            return Pair(_lfw_path(images, fields[0], fields[1]), _lfw_path(images, fields[0], fields[2]), True)
        if len(fields) == 4:
            return Pair(_lfw_path(images, fields[0], fields[1]), _lfw_path(images, fields[2], fields[3]), False)
    except ValueError:
        pass
    raise EvaluationInputError(f"{source}:{number}: expected 'name n1 n2' or 'name1 n1 name2 n2'")


def _lfw_path(images: Path, name: str, number: str) -> Path:
    return images / name / f"{name}_{int(number):04d}.jpg"


def read_people(people_file: Path, root: Path) -> set[str]:
    """Identities listed in ``people_file``: per line, the tab-separated field that names a folder under root."""
    try:
        lines = people_file.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationInputError(f"{people_file}: cannot read people file ({exc})") from exc
    people: set[str] = set()
    for line in lines:
        if line.strip() and not line.startswith("#"):
            people.update(f.strip() for f in line.split("\t") if f.strip() and (root / f.strip()).is_dir())
    if not people:
        raise EvaluationInputError(f"{people_file}: no line names a folder under {root}")
    return people


def folder_identities(root: Path, people: set[str] | None = None) -> dict[str, list[Path]]:
    """Images per identity (sub-folder of ``root``), optionally only ``people``; at least 2 images each."""
    if not root.is_dir():
        raise EvaluationInputError(f"{root}: not a folder")
    identities = {
        folder.name: sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for folder in sorted(root.iterdir())
        if folder.is_dir() and (people is None or folder.name in people)
    }
    kept = {name: paths for name, paths in identities.items() if len(paths) >= 2}
    if len(kept) < 2:
        raise EvaluationInputError(f"{root}: need at least two identity folders with two images or more")
    return kept


def folder_pairs(identities: dict[str, list[Path]], seed: int = 0, mismatched: int | None = None) -> list[Pair]:
    """Every matched pair, plus ``mismatched`` sampled impostor pairs (default: as many as matched)."""
    matched = [Pair(a, b, True) for paths in identities.values() for a, b in combinations(paths, 2)]
    rng = random.Random(seed)
    names = list(identities)
    wanted = mismatched if mismatched is not None else len(matched)
    impostors: set[tuple[Path, Path]] = set()
    for _ in range(wanted * 20):
        if len(impostors) >= wanted:
            break
        first, second = rng.sample(names, 2)
        impostors.add((rng.choice(identities[first]), rng.choice(identities[second])))
    return matched + [Pair(a, b, False) for a, b in sorted(impostors)]


FaceEmbedder = Callable[[Image], Embedding | None]


def central_face(faces: list[Face], shape: tuple[int, ...]) -> Face | None:
    """The detected face whose centre is nearest the image centre (datasets are centred on their subject)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: ((f.box[0] + f.box[2]) / 2 - cx) ** 2 + ((f.box[1] + f.box[3]) / 2 - cy) ** 2)


@dataclass(frozen=True, slots=True)
class EmbeddedImages:
    """Embeddings per image: None where no face was found or the file could not be read."""

    embeddings: dict[Path, Embedding | None]
    unreadable: dict[Path, str]


def embed_paths(
    paths: Iterable[Path], embed: FaceEmbedder, progress: Callable[[list[Path]], Iterable[Path]] | None = None
) -> EmbeddedImages:
    """Embed each distinct image once; unreadable images are recorded with their error, not raised."""
    unique = list(dict.fromkeys(paths))
    embeddings: dict[Path, Embedding | None] = {}
    unreadable: dict[Path, str] = {}
    for path in progress(unique) if progress else unique:
        try:
            embeddings[path] = embed(load_image(path))
        except ImageError as exc:
            embeddings[path] = None
            unreadable[path] = str(exc)
    return EmbeddedImages(embeddings, unreadable)


def pair_distances(pairs: list[Pair], embeddings: dict[Path, Embedding | None]) -> npt.NDArray[np.float64]:
    """Euclidean distance of each pair; +inf where an image has no face or could not be read."""
    out = np.full(len(pairs), np.inf)
    for i, pair in enumerate(pairs):
        a, b = embeddings[pair.a], embeddings[pair.b]
        if a is not None and b is not None:
            out[i] = float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
    return out


def face_embedder(detector: Detector, embedder: Embedder) -> FaceEmbedder:
    """Detect, keep the central face, align and embed it (no quality gates: datasets are what they are)."""

    def embed(image: Image) -> Embedding | None:
        face = central_face(detector.detect(image), image.shape)
        return None if face is None else embedder.embed(image, [face])[0]

    return embed


def pairs_report(pairs: list[Pair], embedded: EmbeddedImages, threshold: float) -> dict[str, object]:
    """The JSON report of a verification run (keys documented in ``lockers eval --help``)."""
    distances = pair_distances(pairs, embedded.embeddings)
    same = np.array([p.same for p in pairs], dtype=bool)
    summary = summarise(distances, same)
    tar, far = rates_at(distances, same, threshold)
    missing = sorted(str(p) for p, e in embedded.embeddings.items() if e is None and p not in embedded.unreadable)
    return {
        "pairs": len(pairs),
        "genuine_pairs": summary.genuine,
        "impostor_pairs": summary.impostor,
        "accuracy": accuracy_at(distances, same, threshold),
        "threshold": threshold,
        "tar": tar,
        "far": far,
        "best_threshold": summary.best_threshold,
        "best_accuracy": summary.best_accuracy,
        "threshold_at_far": summary.threshold_at_far,
        "tar_at_far": summary.tar_at_far,
        "auc": summary.auc,
        "eer": summary.eer,
        "no_face": {
            "images": len(missing),
            "pairs": int(np.isinf(distances).sum()),
            "counted_as": "different (distance = inf)",
            "files": missing,
        },
        "unreadable": {str(path): error for path, error in sorted(embedded.unreadable.items())},
    }
