"""``lockers faces detect|compare``, ``lockers eval`` and ``lockers models list|verify|fetch``.

torch and the networks are imported inside the commands so that ``lockers --help`` stays fast.
Project errors become one line on stderr and exit status 2; ``--json`` prints to stdout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from controller.app.cli import exits
from controller.app.cli.evaluate import evaluate
from controller.app.cli.liveness import register as register_liveness
from controller.app.cli.options import DeviceOption, JsonFlag, MinFace, ModelOption, clean_errors, emit
from recognition.errors import FaceNotFound, MultipleFaces
from recognition.pipeline.agreement import DEFAULT_MODEL
from recognition.pipeline.images import load_image
from recognition.types import Face, Image

COMPARE_MIN_PROBABILITY = 0.9  # MTCNN's weak detections (background blobs) do not count as a second face


def register(app: typer.Typer) -> None:
    """Add the ``faces`` and ``models`` groups and the ``eval`` command to the root app."""
    faces = typer.Typer(no_args_is_help=True, help="Detect and compare faces in image files.")
    faces.command("detect")(detect)
    faces.command("compare")(compare)
    app.add_typer(faces, name="faces")
    app.command("eval")(evaluate)
    models = typer.Typer(no_args_is_help=True, help="Embedder weights: installed files, checksums, downloads.")
    models.command("list")(models_list)
    models.command("verify")(models_verify)
    models.command("fetch")(models_fetch)
    app.add_typer(models, name="models")
    from controller.app.cli import calibrate as calibrate_cli

    calibrate_cli.register(app)
    register_liveness(app)


@clean_errors
def detect(
    image: Annotated[Path, typer.Argument(help="Image file.")],
    as_json: JsonFlag = False,
    min_face_size: MinFace = 20,
    device: DeviceOption = "cpu",
) -> None:
    """Find every face: box, probability, five landmarks and the quality verdict."""
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
    from recognition.pipeline.quality import QualityConfig, assess

    pixels = load_image(image)
    faces = MtcnnDetector(DetectorConfig(min_face_size=min_face_size, device=device)).detect(pixels)
    config = QualityConfig()
    rows = [_face_row(face, dataclasses.asdict(assess(pixels, face, config))) for face in faces]
    emit({"faces": rows}, as_json, lambda: _faces_text(image, rows))


def _face_row(face: Face, quality: dict[str, Any]) -> dict[str, Any]:
    return {
        "box": [round(v, 1) for v in face.box],
        "probability": round(face.probability, 4),
        "landmarks": [[round(x, 1), round(y, 1)] for x, y in face.landmarks],
        "quality": {"ok": quality["ok"], "reasons": list(quality["reasons"]), "metrics": quality["metrics"]},
    }


def _faces_text(image: Path, rows: list[dict[str, Any]]) -> str:
    lines = [f"{image}: {len(rows)} face(s)"]
    for row in rows:
        verdict = "ok" if row["quality"]["ok"] else ", ".join(row["quality"]["reasons"])
        lines.append(f"  box={row['box']} p={row['probability']:.3f} quality: {verdict}")
    return "\n".join(lines)


@clean_errors
def compare(
    image_a: Annotated[Path, typer.Argument(help="First image (exactly one face).")],
    image_b: Annotated[Path, typer.Argument(help="Second image (exactly one face).")],
    model: ModelOption = DEFAULT_MODEL,
    threshold: Annotated[float | None, typer.Option(help="Decision threshold (default: the service's).")] = None,
    as_json: JsonFlag = False,
    min_face_size: MinFace = 20,
    device: DeviceOption = "cpu",
) -> None:
    """Distance between the faces of two images, and whether they are the same person."""
    import numpy as np

    from recognition.models.embedder import load_embedder
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
    from recognition.settings import RecognitionSettings

    embedder = load_embedder(model, device=device)
    detector = MtcnnDetector(DetectorConfig(min_face_size=min_face_size, device=device))
    a, b = (_single_face_embedding(path, detector.detect, embedder.embed) for path in (image_a, image_b))
    distance = float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
    rule = RecognitionSettings(model=model, threshold=threshold).agreement(embedder.card)
    used = rule.threshold
    result = {
        "distance": distance,
        "threshold": used,
        "same": rule.same_person(distance),
        "model": embedder.card.model_version,
    }
    verdict = "same" if result["same"] else "different"
    emit(result, as_json, lambda: f"distance {distance:.4f} threshold {used:.4f}: {verdict}")


def _single_face_embedding(path: Path, find: Callable[[Image], list[Face]], embed: Callable[..., Any]) -> Any:
    pixels = load_image(path)
    faces = [face for face in find(pixels) if face.probability >= COMPARE_MIN_PROBABILITY]
    if not faces:
        raise FaceNotFound(f"{path}: no face found")
    if len(faces) > 1:
        raise MultipleFaces(f"{path}: {len(faces)} faces found; compare needs exactly one (crop the image)")
    return embed(pixels, faces)[0]


@clean_errors
def models_list(as_json: JsonFlag = False) -> None:
    """Registered models, whether their weights are installed, and the service's default model."""
    from recognition.models.registry import REGISTRY, locate
    from recognition.settings import RecognitionSettings

    rows = [
        {"name": s.name, "installed": all(locate(s, f) for f in s.files), "description": s.description}
        for s in REGISTRY.values()
    ]
    default = RecognitionSettings().model  # what [recognition] model defaults to
    lines = [_list_line(r) for r in rows] + [f"default: {default} (the service's model unless [recognition] model)"]
    emit({"models": rows, "default": default}, as_json, lambda: "\n".join(lines))


def _list_line(row: dict[str, Any]) -> str:
    return f"{row['name']:<18} {'installed' if row['installed'] else 'missing':<10} {row['description']}"


@clean_errors
def models_verify(
    names: Annotated[list[str] | None, typer.Argument(help="Models to check (default: all).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Checksum installed weights; exit 1 when a file is missing or does not match its pinned SHA-256."""
    from recognition.models.registry import verify

    statuses = verify(names or None)
    rows = [{**_status_row(s), "ok": s.ok} for s in statuses]
    emit({"files": rows}, as_json, lambda: "\n".join(_verify_line(r) for r in rows))
    if not all(s.ok for s in statuses):
        raise typer.Exit(exits.CHECK_FAILED)


def _status_row(status: Any) -> dict[str, Any]:
    return {
        "model": status.model,
        "file": status.name,
        "path": str(status.path) if status.path else None,
        "sha256": status.sha256,
        "expected_sha256": status.expected,
    }


def _verify_line(row: dict[str, Any]) -> str:
    state = "ok" if row["ok"] else ("MISSING" if row["sha256"] is None else "MISMATCH")
    return f"{state:<8} {row['model']:<18} {row['file']} {row['sha256'] or ''}"


@clean_errors
def models_fetch(
    name: Annotated[str, typer.Argument(help="Model to download.")],
    as_json: JsonFlag = False,
) -> None:
    """Download a model's missing weights into the models folder (needs internet)."""
    from recognition.models.registry import fetch

    rows = [{**_status_row(s), "ok": s.ok} for s in fetch(name)]
    emit({"files": rows}, as_json, lambda: "\n".join(_verify_line(r) for r in rows))
