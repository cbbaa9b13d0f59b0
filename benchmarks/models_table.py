"""Every model and fusion on LFW pairsDevTest, AT&T and lfw-dev's East Asian people: the README table.

Detects each image once (MTCNN, min face 40, the central face: what ``lockers eval`` does) and embeds it
once per model, caching both under ``--cache`` so that a rerun or a new fusion costs no recomputation.
Fusions are built from their parts' cached descriptors exactly as ``FusedEmbedder`` builds them.
Folder sets use every genuine pair and every impostor pair (not a sample), so the FAR 1e-3 figures
stand on many thousands of impostor comparisons; counts are printed with each row.

    LOCKERS_ASSETS=../shared python benchmarks/models_table.py [--models dlib-resnet,fr-feature,...]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from itertools import combinations
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and benchmarks/recognition.py shadows the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from recognition.errors import ImageError  # noqa: E402
from recognition.evaluation.datasets import Pair, central_face, folder_identities, read_pairs, read_people  # noqa: E402
from recognition.evaluation.metrics import summarise  # noqa: E402
from recognition.pipeline.images import load_image  # noqa: E402
from recognition.types import Face  # noqa: E402

MODELS = (
    "dlib-resnet,fr-feature,mobilefacenet,fr-feature+mobilefacenet,dlib-resnet+fr-feature,"
    "faceres,fr-feature+faceres,dlib-resnet+faceres"
)
Vectors = dict[str, npt.NDArray[np.float32] | None]


def datasets(assets: Path, limit: int = 0) -> dict[str, tuple[list[Pair], list[Path]]]:
    """Pairs and images of each evaluation set (``limit``: the first identities and pairs only, a smoke run)."""
    lfw = assets / "data" / "lfw-dev"
    pairs = read_pairs(lfw / "pairsDevTest.txt", lfw / "images")
    east = folder_identities(lfw / "images", read_people(lfw / "people_east_asian.txt", lfw / "images"))
    att = folder_identities(assets / "data" / "att_faces" / "orl_faces")
    if limit:
        pairs = pairs[: limit // 2] + pairs[-(limit // 2) :]  # genuine pairs come first in the file, impostors last
        east, att = dict(list(east.items())[:limit]), dict(list(att.items())[:limit])
    out = {}
    for label, ids in (("East Asian (lfw-dev)", east), ("AT&T", att)):
        out[label] = (all_pairs(ids), [p for paths in ids.values() for p in paths])
    out["LFW pairsDevTest"] = (pairs, sorted({p for pair in pairs for p in (pair.a, pair.b)}))
    return out


def all_pairs(identities: dict[str, list[Path]]) -> list[Pair]:
    """Every genuine and every impostor pair of a folder set."""
    labelled = [(name, p) for name, paths in identities.items() for p in paths]
    return [Pair(a, b, x == y) for (x, a), (y, b) in combinations(labelled, 2)]


def detect_all(paths: list[Path], cache: Path) -> dict[Path, tuple[npt.NDArray[np.uint8], Face | None]]:
    """The central face of every image (cached: faces only; the pixels are reloaded)."""
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector

    file = cache / "faces.pkl"
    known: dict[str, Face | None] = pickle.loads(file.read_bytes()) if file.is_file() else {}
    detector = MtcnnDetector(DetectorConfig(min_face_size=40))
    out = {}
    for number, path in enumerate(paths):
        try:
            image = load_image(path)
        except ImageError:  # counted as no face, as ``lockers eval`` does
            image = np.zeros((1, 1, 3), dtype=np.uint8)
            known[str(path)] = None
        if str(path) not in known:
            known[str(path)] = central_face(detector.detect(image), image.shape)
        out[path] = (image, known[str(path)])
        if number % 50 == 49:
            file.write_bytes(pickle.dumps(known))
    file.write_bytes(pickle.dumps(known))
    return out


def embed_all(
    model: str, faces: dict[Path, tuple[npt.NDArray[np.uint8], Face | None]], cache: Path, label: str
) -> Vectors:
    """Descriptors of every image under one registered model (cached), with its CPU and wall time."""
    file = cache / f"emb-{model}-{label.split()[0].replace('&', '')}.pkl"
    if file.is_file():
        known: Vectors = pickle.loads(file.read_bytes())
        if all(str(p) in known for p in faces):
            return known
    from recognition.models.embedder import load_embedder

    embedder = load_embedder(model)
    wall, cpu = time.perf_counter(), time.process_time()
    out: Vectors = {str(p): None if f is None else embedder.embed(img, [f])[0] for p, (img, f) in faces.items()}
    count = sum(v is not None for v in out.values())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_face = f"{wall / count * 1000:.1f} ms wall, {cpu / count * 1000:.1f} ms CPU per face"
    print(f"# {model} on {label}: {count} faces, {per_face}")
    file.write_bytes(pickle.dumps(out))
    return out


def fuse(parts: list[Vectors]) -> Vectors:
    """A fusion's descriptors from its parts' (as ``FusedEmbedder`` does); one part is returned as it is."""
    if len(parts) == 1:
        return parts[0]
    scale = np.float32(1 / np.sqrt(len(parts)))
    out: Vectors = {}
    for key in parts[0]:
        rows = [p[key] for p in parts]
        ok = all(r is not None for r in rows)
        out[key] = np.concatenate([r / np.linalg.norm(r) for r in rows if r is not None]) * scale if ok else None
    return out


def row(label: str, pairs: list[Pair], vectors: Vectors) -> dict[str, object]:
    """Accuracy, TAR at FAR 1e-2 / 1e-3, EER and counts for one model on one set."""
    distances = np.array([_distance(vectors[str(p.a)], vectors[str(p.b)]) for p in pairs])
    same = np.array([p.same for p in pairs])
    summary = summarise(distances, same)
    return {
        "set": label,
        "genuine": summary.genuine,
        "impostor": summary.impostor,
        "best_accuracy": summary.best_accuracy,
        "tar_1e-2": summary.tar_at_far["0.01"],
        "tar_1e-3": summary.tar_at_far["0.001"],
        "eer": summary.eer,
        "distances": distances,
        "same": same,
    }


def _distance(a: npt.NDArray[np.float32] | None, b: npt.NDArray[np.float32] | None) -> float:
    return np.inf if a is None or b is None else float(np.linalg.norm(a.astype(np.float64) - b))


def main() -> None:
    """Print the markdown table (and pickle the rows next to the cache for calibration checks)."""
    import os

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lockers-model-cache"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 suits a shared machine)")
    parser.add_argument("--limit", type=int, default=0, help="smoke run: first N identities / pairs per set")
    args = parser.parse_args()
    from recognition.pipeline.face import set_threads

    set_threads(args.threads)
    args.cache.mkdir(parents=True, exist_ok=True)
    sets = datasets(Path(os.environ.get("LOCKERS_ASSETS", "../shared")), args.limit)
    print("| model | set | genuine / impostor pairs | best accuracy | TAR@FAR1e-2 | TAR@FAR1e-3 | EER |")
    print("|---|---|---|---|---|---|---|", flush=True)
    rows = {}
    for label, (pairs, paths) in sets.items():  # one set at a time: the first rows come early
        faces = detect_all(paths, args.cache)
        for model in args.models.split(","):
            vectors = fuse([embed_all(m, faces, args.cache, label) for m in model.split("+")])
            r = rows[(model, label)] = row(label, pairs, vectors)
            print(
                f"| {model} | {label} | {r['genuine']} / {r['impostor']} | {r['best_accuracy']:.4f} | "
                f"{r['tar_1e-2']:.4f} | {r['tar_1e-3']:.4f} | {r['eer']:.4f} |",
                flush=True,
            )
    (args.cache / "rows.pkl").write_bytes(pickle.dumps(rows))


if __name__ == "__main__":
    main()
