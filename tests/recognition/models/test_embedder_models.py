from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1

from recognition.errors import CheckpointInvalid, FetchError, RecognitionError, WeightsMissing
from recognition.models import registry as models
from recognition.models.embedder import (
    TorchEmbedder,
    load_checkpoint,
    load_embedder,
    load_torch_embedder,
    save_checkpoint,
)
from recognition.pipeline.detector import MtcnnDetector
from recognition.pipeline.images import load_image


def test_dlib_card_names_the_weights(dlib_embedder: TorchEmbedder, models_root: Path) -> None:
    card = dlib_embedder.card
    assert (card.name, card.input_size, card.embedding_size, card.metric) == ("dlib-resnet", 150, 128, "euclidean")
    assert card.default_threshold == 0.6
    assert card.weights_sha256 == models.sha256_of(models_root / "face-api" / "face_recognition_model.bin")


def test_dlib_checkpoint_round_trip(dlib_embedder: TorchEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "tuned.pt"
    card = dataclasses.replace(dlib_embedder.card, name="dlib-tuned", version="0.1")
    save_checkpoint(path, dlib_embedder.network, "dlib-resnet", card)
    loaded = load_checkpoint(path)
    chips = np.random.default_rng(0).integers(0, 255, (2, 150, 150, 3), dtype=np.uint8)
    assert np.allclose(loaded.embed_chips(chips), dlib_embedder.embed_chips(chips), atol=1e-5)
    assert loaded.card.name == "dlib-tuned"
    assert loaded.card.weights_sha256 == models.sha256_of(path)
    assert load_embedder(str(path)).card.name == "dlib-tuned"


def test_bad_checkpoints_give_clear_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointInvalid, match="not a readable"):
        load_checkpoint(garbage)
    wrong = tmp_path / "wrong.pt"
    torch.save({"card": {}, "arch": "dlib-resnet", "state_dict": {"x": torch.zeros(1)}}, wrong)
    with pytest.raises(CheckpointInvalid, match="does not fit"):
        load_checkpoint(wrong)
    with pytest.raises(WeightsMissing):
        load_checkpoint(tmp_path / "absent.pt")
    with pytest.raises(RecognitionError, match="unknown model"):
        load_embedder("no-such-model")


@pytest.fixture()
def no_torch_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path


def test_facenet_without_weights_says_how_to_get_them(no_torch_cache: Path) -> None:
    with pytest.raises(WeightsMissing, match="lockers models fetch facenet-vggface2"):
        load_embedder("facenet-vggface2", root=no_torch_cache / "models")


def test_facenet_paths_with_random_weights(no_torch_cache: Path, detector: MtcnnDetector, samples: Path) -> None:
    """Weights saved from a RANDOMLY INITIALISED InceptionResnetV1: tests loading, shapes, normalisation only."""
    torch.manual_seed(0)
    folder = no_torch_cache / "models" / "facenet"
    folder.mkdir(parents=True)
    random_state = InceptionResnetV1(pretrained=None, classify=True, num_classes=10).state_dict()
    torch.save(random_state, folder / "20180402-114759-vggface2.pt")
    embedder = load_torch_embedder("facenet-vggface2", root=no_torch_cache / "models")
    assert (embedder.card.input_size, embedder.card.embedding_size) == (160, 512)
    image = load_image(samples / "examples" / "obama.jpg")
    (embedding,) = embedder.embed(image, detector.detect(image)[:1])
    assert embedding.shape == (512,) and abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-4
    checkpoint = no_torch_cache / "facenet-tuned.pt"
    save_checkpoint(checkpoint, embedder.network, "facenet", embedder.card)
    assert load_checkpoint(checkpoint).card.embedding_size == 512


def test_verify_and_fetch(models_root: Path, tmp_path: Path) -> None:
    statuses = models.verify(["dlib-resnet"], root=models_root)
    assert [s.path for s in statuses] == [models_root / "face-api" / f.name for f in models.spec("dlib-resnet").files]
    assert all(s.ok for s in statuses)

    def offline_copy(url: str, target: Path) -> None:  # stands in for the network
        shutil.copyfile(models_root / "face-api" / url.rsplit("/", 1)[1], target)

    fetched = models.fetch("dlib-resnet", root=tmp_path, download=offline_copy)
    assert [s.path for s in fetched] == [tmp_path / "face-api" / f.name for f in models.spec("dlib-resnet").files]

    def corrupt(url: str, target: Path) -> None:
        target.write_bytes(b"tampered")

    with pytest.raises(FetchError, match="checksum mismatch"):
        models.fetch("dlib-resnet", root=tmp_path / "other", download=corrupt)

    def offline(url: str, target: Path) -> None:
        raise OSError("network unreachable")

    with pytest.raises(FetchError, match="could not download"):
        models.fetch("dlib-resnet", root=tmp_path / "third", download=offline)
