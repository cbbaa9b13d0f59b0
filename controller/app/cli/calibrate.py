"""``lockers calibrate`` and ``lockers cohort build``: a site's threshold and cohort from its own faces.

``calibrate`` embeds every image of a folder-per-identity collection, scores every genuine and every
impostor pair, and sets the threshold at the target false-accept rate on the impostors; it prints the
TAR expected there and how many comparisons stand behind both figures, and can write the
``[recognition]`` lines (and a cohort built from the same people) for the site's configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import typer

from controller.app.cli.options import DeviceOption, JsonFlag, MinFace, clean_errors, emit
from recognition.errors import EvaluationInputError
from recognition.pipeline.agreement import DEFAULT_MODEL

Folder = Annotated[Path, typer.Option("--folder", help="One sub-folder of images per identity (not enrolled).")]
People = Annotated[Path | None, typer.Option("--people", help="Keep the identities this file lists.")]
Model = Annotated[str, typer.Option("--model", help="Registered model, '+'-joined fusion or checkpoint.")]


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``cohort build`` to the root app."""
    app.command("calibrate")(calibrate)
    cohort = typer.Typer(no_args_is_help=True, help="Cohort of non-enrolled identities (open-set runner-up).")
    cohort.command("build")(cohort_build)
    app.add_typer(cohort, name="cohort")


@clean_errors
def calibrate(
    folder: Folder,
    people: People = None,
    far: Annotated[float, typer.Option("--far", min=1e-6, max=0.5, help="Target false-accept rate.")] = 1e-3,
    model: Model = DEFAULT_MODEL,
    write: Annotated[Path | None, typer.Option("--write", help="Write the [recognition] lines here.")] = None,
    cohort: Annotated[Path | None, typer.Option("--cohort", help="Also write a cohort of these people here.")] = None,
    as_json: JsonFlag = False,
    min_face_size: MinFace = 40,
    device: DeviceOption = "cpu",
) -> None:
    """Threshold at --far on every impostor pair of a folder, the TAR expected there, and the counts."""
    from recognition.evaluation.metrics import threshold_at_far

    vectors, labels, version = _embed_folder(folder, people, model, min_face_size, device)
    genuine, impostor = _pair_distances(vectors, labels)
    if len(impostor) * far < 1:
        raise EvaluationInputError(f"{len(impostor)} impostor pairs cannot support FAR {far:g}: add identities")
    threshold = threshold_at_far(impostor, far)
    report = {
        "model": model, "model_version": version, "far_target": far, "threshold": threshold,
        "tar": float((genuine <= threshold).mean()), "far": float((impostor <= threshold).mean()),
        "genuine_pairs": len(genuine), "impostor_pairs": len(impostor), "identities": len(set(labels)),
    }  # fmt: skip
    if cohort is not None:
        _save_cohort(cohort, vectors, labels, version)
        report["cohort"] = str(cohort)
    if write is not None:
        write.write_text(_snippet(report))
    emit(report, as_json, lambda: _snippet(report).rstrip() + f"\n# {_summary(report)}")


@clean_errors
def cohort_build(
    folder: Folder,
    out: Annotated[Path, typer.Option("--out", help="Cohort file to write (.npz).")],
    people: People = None,
    model: Model = DEFAULT_MODEL,
    as_json: JsonFlag = False,
    min_face_size: MinFace = 40,
    device: DeviceOption = "cpu",
) -> None:
    """One template per identity of a folder of people who will not enrol (configure it as ``cohort``)."""
    vectors, labels, version = _embed_folder(folder, people, model, min_face_size, device)
    count = _save_cohort(out, vectors, labels, version)
    report = {"cohort": str(out), "identities": count, "model_version": version}
    emit(report, as_json, lambda: f'{out}: {count} identities of {version}; set [recognition] cohort = "{out}"')


def _embed_folder(
    folder: Path, people: Path | None, model: str, min_face_size: int, device: str
) -> tuple[npt.NDArray[np.float32], list[str], str]:
    from recognition.evaluation.datasets import embed_paths, face_embedder, folder_identities, read_people
    from recognition.models.embedder import load_embedder
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector

    identities = folder_identities(folder, read_people(people, folder) if people else None)
    embedder = load_embedder(model, device=device)
    embed = face_embedder(MtcnnDetector(DetectorConfig(min_face_size=min_face_size, device=device)), embedder)
    embedded = embed_paths([p for paths in identities.values() for p in paths], embed).embeddings
    found = [(name, embedded[p]) for name, paths in identities.items() for p in paths]
    kept = [(name, vector) for name, vector in found if vector is not None]
    if len({name for name, _ in kept}) < 2:
        raise EvaluationInputError(f"{folder}: faces of at least two identities are needed")
    return np.stack([v for _, v in kept]), [name for name, _ in kept], embedder.card.model_version


def _pair_distances(vectors: npt.NDArray[np.float32], labels: list[str]) -> tuple[Any, Any]:
    x = vectors.astype(np.float64)
    squared = (x**2).sum(1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * x @ x.T, 0))
    names = np.asarray(labels)
    upper = np.triu(np.ones_like(distances, dtype=bool), k=1)
    same = names[:, None] == names[None, :]
    return distances[upper & same], distances[upper & ~same]


def _save_cohort(path: Path, vectors: npt.NDArray[np.float32], labels: list[str], version: str) -> int:
    from recognition.pipeline.cohort import save_cohort

    names = sorted(set(labels))
    centroids = np.stack([vectors[[i for i, n in enumerate(labels) if n == name]].mean(0) for name in names])
    save_cohort(path, centroids, version)
    return len(names)


def _summary(report: dict[str, Any]) -> str:
    return (
        f"TAR {report['tar']:.4f} at FAR {report['far']:.5f} (target {report['far_target']:g}): "
        f"{report['genuine_pairs']} genuine and {report['impostor_pairs']} impostor pairs, "
        f"{report['identities']} identities"
    )


def _snippet(report: dict[str, Any]) -> str:
    lines = ["[recognition]", f'model = "{report["model"]}"', f"threshold = {report['threshold']:.4f}"]
    if "cohort" in report:
        lines.append(f'cohort = "{report["cohort"]}"')
    return "\n".join([f"# {_summary(report)}", *lines]) + "\n"
