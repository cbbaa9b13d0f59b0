"""fr_feature, MobileFaceNet and their fusion on real faces, with pinned weights."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recognition.errors import CheckpointInvalid, WeightsMissing
from recognition.models import zoo
from recognition.models.embedder import load_checkpoint, load_embedder, load_torch_embedder, save_checkpoint
from recognition.pipeline.align import ARCFACE_112, AlignTemplate
from recognition.pipeline.detector import MtcnnDetector
from recognition.pipeline.images import load_image
from recognition.types import Embedder, Face, Image
from tests.conftest import missing_asset

Faces = list[tuple[str, Image, Face]]
PEOPLE = ("s1", "s5", "s12", "s23", "s34")


@pytest.fixture(scope="module")
def att_faces(assets: Path, detector: MtcnnDetector) -> list[tuple[str, Image, Face]]:
    root = assets / "data" / "att_faces" / "orl_faces"
    if not root.is_dir():
        missing_asset(f"AT&T faces not found under {root}")
    out = []
    for person in PEOPLE:
        for number in (1, 4, 7):
            image = load_image(root / person / f"{number}.pgm")
            out.append((person, image, detector.detect(image)[0]))
    return out


@pytest.fixture(scope="module")
def needs_weights(models_root: Path) -> Path:
    for file in ("faceplugin/fr_feature.onnx", "mobilefacenet/MobileFaceNet.tflite"):
        if not (models_root / file).is_file():
            missing_asset(f"{file} not found under {models_root}")
    return models_root


def _distances(embedder: Embedder, faces: list[tuple[str, Image, Face]]) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.stack([embedder.embed(image, [face])[0] for _, image, face in faces])
    labels = np.array([person for person, _, _ in faces])
    distances = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    return distances, labels[:, None] == labels[None]


@pytest.mark.parametrize("name", ["fr-feature", "mobilefacenet", "fr-feature+mobilefacenet"])
def test_same_people_are_nearer_than_others(name: str, needs_weights: Path, att_faces: Faces) -> None:
    embedder = load_embedder(name, root=needs_weights)
    distances, same = _distances(embedder, att_faces)
    genuine = distances[same & ~np.eye(len(same), dtype=bool)]
    assert genuine.max() < distances[~same].min()  # 30 genuine and 180 impostor comparisons, all separated
    assert embedder.card.embedding_size == len(embedder.embed(att_faces[0][1], [att_faces[0][2]])[0])


def test_fused_distance_is_the_mean_of_the_parts_squared(needs_weights: Path, att_faces: Faces) -> None:
    parts = [_distances(load_embedder(n, root=needs_weights), att_faces)[0] for n in ("fr-feature", "mobilefacenet")]
    fused, _ = _distances(load_embedder("fr-feature+mobilefacenet", root=needs_weights), att_faces)
    assert np.allclose(fused**2, (parts[0] ** 2 + parts[1] ** 2) / 2, atol=1e-4)


def test_the_fusion_aligns_each_face_once_per_template(
    needs_weights: Path, att_faces: Faces, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both parts take ArcFace chips: one alignment per face serves both, with the parts' own descriptors."""
    fused = load_embedder("fr-feature+mobilefacenet", root=needs_weights)
    assert isinstance(fused, zoo.FusedEmbedder)
    _, image, face = att_faces[0]
    alone = [part.embed(image, [face, face])[1] for part in fused.parts]
    aligned: list[AlignTemplate] = []
    real = zoo.align_face
    monkeypatch.setattr(zoo, "align_face", lambda *args: aligned.append(args[2]) or real(*args))
    descriptor = fused.embed(image, [face, face])[1]
    assert aligned == [ARCFACE_112, ARCFACE_112]  # two faces, one template
    expected = np.concatenate([row / np.linalg.norm(row) for row in alone]) * np.float32(1 / np.sqrt(2))
    assert np.array_equal(descriptor, expected)  # the parts' descriptors, bit for bit


def test_cards_record_thin_provenance_and_the_pinned_hash(needs_weights: Path) -> None:
    for name, sha in (
        ("fr-feature", "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581"),
        ("mobilefacenet", "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b"),
    ):
        card = load_embedder(name, root=needs_weights).card
        assert card.weights_sha256 == sha and "PROVENANCE THIN" in card.notes
    fused = load_embedder("fr-feature+mobilefacenet", root=needs_weights).card
    assert fused.notes.count("PROVENANCE THIN") == 2


@pytest.mark.parametrize(
    ("name", "file"),
    [("fr-feature", "faceplugin/fr_feature.onnx"), ("mobilefacenet", "mobilefacenet/MobileFaceNet.tflite")],
)
def test_altered_weights_are_refused(name: str, file: str, needs_weights: Path, tmp_path: Path) -> None:
    copy = tmp_path / file
    copy.parent.mkdir(parents=True)
    data = bytearray((needs_weights / file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(CheckpointInvalid, match="does not match the pinned"):
        load_embedder(name, root=tmp_path)


def test_missing_weights_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissing, match="lockers models fetch fr-feature"):
        load_embedder("fr-feature+mobilefacenet", root=tmp_path)


def test_mobilefacenet_checkpoint_round_trip(needs_weights: Path, att_faces: Faces, tmp_path: Path) -> None:
    embedder = load_torch_embedder("mobilefacenet", root=needs_weights)
    path = tmp_path / "mfn.pt"
    save_checkpoint(path, embedder.network, "mobilefacenet", embedder.card)
    loaded = load_checkpoint(path)
    _, image, face = att_faces[0]
    assert np.allclose(loaded.embed(image, [face])[0], embedder.embed(image, [face])[0], atol=1e-5)


def test_fusion_with_a_checkpoint_part(needs_weights: Path, att_faces: Faces, tmp_path: Path) -> None:
    embedder = load_torch_embedder("mobilefacenet", root=needs_weights)
    path = tmp_path / "tuned.pt"
    save_checkpoint(path, embedder.network, "mobilefacenet", embedder.card)
    shutil.copy(path, tmp_path / "copy.pt")
    fused = load_embedder(f"fr-feature+{tmp_path / 'copy.pt'}", root=needs_weights)
    assert fused.card.embedding_size == 704


def test_fr_feature_leaves_the_callers_floating_point_state_alone(needs_weights: Path, att_faces: Faces) -> None:
    # ONNX Runtime's flush-to-zero switch sets CPU flags on the thread that runs the graph; the caller's
    # arithmetic must keep its subnormals (Hypothesis and NumPy refuse to work without them).
    embedder = load_embedder("fr-feature", root=needs_weights)
    embedder.embed(att_faces[0][1], [att_faces[0][2]])
    tiny = np.array([1e-300], dtype=np.float64)
    assert (tiny * 1e-10)[0] > 0.0


def test_the_fusion_runs_its_parts_concurrently(
    needs_weights: Path, att_faces: Faces, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each part on a thread of its own (the caller's and the embedder's pool), same descriptors; ``close`` ends it."""
    fused = load_embedder("fr-feature+mobilefacenet", root=needs_weights)
    assert isinstance(fused, zoo.FusedEmbedder)
    _, image, face = att_faces[1]
    expected = fused._fuse([part.embed(image, [face])[0] for part in fused.parts])  # one after the other
    threads: dict[str, int] = {}
    for part in fused.parts:
        monkeypatch.setattr(part, "embed_chips", _noting_thread(part, threads))
    before = set(threading.enumerate())  # other tests' fused embedders (the cached pipeline) keep their pools
    assert np.array_equal(fused.embed(image, [face])[0], expected)
    assert threads["fr-feature"] == threading.get_ident() != threads["mobilefacenet"]
    pool = [t for t in set(threading.enumerate()) - before if t.name.startswith("fused-part")]
    assert len(pool) == 1
    fused.close()
    pool[0].join(timeout=5)
    assert not pool[0].is_alive()
    assert np.array_equal(fused.embed(image, [face])[0], expected)  # a closed embedder still embeds
    fused.close()


def _noting_thread(part: Embedder, threads: dict[str, int]) -> Callable[[np.ndarray], np.ndarray]:
    real = part.embed_chips  # type: ignore[attr-defined]

    def embed_chips(chips: np.ndarray) -> np.ndarray:
        threads[part.card.name] = threading.get_ident()
        return real(chips)  # type: ignore[no-any-return]

    return embed_chips


def test_a_fusion_of_one_part_starts_no_thread(needs_weights: Path, att_faces: Faces) -> None:
    """One part runs on the caller's thread: no pool."""
    fused = zoo.FusedEmbedder([load_embedder("mobilefacenet", root=needs_weights)])
    _, image, face = att_faces[0]
    fused.embed(image, [face])
    assert fused._pool is None
