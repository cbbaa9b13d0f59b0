"""A short, real fine-tune on AT&T on the CPU: 30 identities for training, 10 unseen for validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recognition.models.embedder import load_embedder
from recognition.models.registry import sha256_of
from recognition.pipeline.detector import MtcnnDetector
from recognition.pipeline.images import load_image
from recognition.training.config import TrainConfig
from recognition.training.data import load_dataset
from recognition.training.errors import ResumeMismatch
from recognition.training.preprocess import default_cache_dir, prepare
from recognition.training.run import fine_tune
from recognition.training.validation import embed_chips, verify
from tests.support.training import variant


def test_training_loss_falls(att_run: dict[str, Any]) -> None:
    losses = [epoch["loss"] for epoch in att_run["epochs"]]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert [epoch["backbone"] for epoch in att_run["epochs"]] == [False, True, True]


def test_step_scheduler_halves_the_rate_every_epoch(att_run: dict[str, Any]) -> None:
    assert [epoch["lr"] for epoch in att_run["epochs"]] == pytest.approx([1e-3, 5e-4, 2.5e-4])


def test_split_holds_no_identity_on_both_sides(att_run: dict[str, Any]) -> None:
    split = att_run["split"]
    assert (len(split["train"]), len(split["validation"])) == (30, 10)
    assert not set(split["train"]) & set(split["validation"])
    assert att_run["base"]["genuine_pairs"] == 10 * 3  # 3 images each: C(3, 2) genuine pairs per identity


def test_report_compares_base_and_finetuned_and_is_written_beside(
    att_run: dict[str, Any], att_config: TrainConfig
) -> None:
    assert list(att_run)[-3:] == ["base", "finetuned", "epochs"]
    for side in ("base", "finetuned"):
        assert set(att_run[side]["tar_at_far"]) == {"0.01", "0.001"}
        assert 0.0 <= att_run[side]["tar_at_far"]["0.01"] <= 1.0
    sidecar = att_config.out.with_name(att_config.out.name + ".json")
    assert json.loads(sidecar.read_text()) == json.loads(json.dumps(att_run))


def test_report_scores_both_models_on_the_same_unseen_faces(att_run: dict[str, Any], att_config: TrainConfig) -> None:
    # Re-measure each side from its own weights on the validation identities the report names: a report
    # that scored the wrong model, the wrong faces or copied one side into the other fails here.
    base = load_embedder(att_config.base)
    dataset = load_dataset(att_config.data, att_config.people, att_config.max_images_per_identity)
    faces = prepare(dataset, base.template, att_config.cache_dir or default_cache_dir(), att_config.device)
    names = np.asarray(faces.names)
    unseen = np.isin(names, att_run["split"]["validation"])
    assert unseen.sum() == 10 * 3
    fars = tuple(sorted((float(far) for far in att_run["base"]["tar_at_far"]), reverse=True))
    thresholds = {}
    for side, embedder in (("base", base), ("finetuned", load_embedder(att_config.out))):
        embeddings = embed_chips(embedder, faces.chips[unseen])
        measured = verify(embeddings, [str(n) for n in names[unseen]], att_run[side]["metric"], att_config.seed, fars)
        assert (att_run[side]["genuine_pairs"], att_run[side]["impostor_pairs"]) == (
            measured.genuine_pairs, measured.impostor_pairs)
        assert att_run[side]["auc"] == pytest.approx(measured.auc, abs=1e-4), side
        # Thresholds are distances: continuous, so they tell one model's scores from another's.
        assert att_run[side]["threshold_at_far"] == pytest.approx(measured.threshold_at_far, rel=1e-4), side
        thresholds[side] = measured.threshold_at_far
    # The chosen epoch changed the scores exactly when it trained the backbone (a head-only warm-up epoch
    # exports the base network unchanged).
    # Epoch 0 is the base itself: written when no epoch beat it on the unseen identities.
    chosen_epoch = att_run["finetuned"]["epoch"]
    trained_backbone = chosen_epoch != 0 and next(
        epoch for epoch in att_run["epochs"] if epoch["epoch"] == chosen_epoch)["backbone"]
    assert (thresholds["finetuned"] != pytest.approx(thresholds["base"], rel=1e-3)) == trained_backbone


def test_checkpoint_reloads_through_recognition_and_embeds(
    att_run: dict[str, Any], att_config: TrainConfig, att: Path
) -> None:
    embedder = load_embedder(att_config.out)
    card = embedder.card
    notes = json.loads(card.notes)
    assert card.name == "dlib-resnet-ft" and card.metric == "euclidean" and card.embedding_size == 128
    assert card.weights_sha256 == sha256_of(att_config.out)
    assert card.default_threshold == pytest.approx(att_run["finetuned"]["threshold_at_far"]["0.001"])
    assert notes["split_sha256"] == att_run["split"]["sha256"] and notes["data_sha256"] == att_run["data"]["sha256"]
    assert notes["base"].startswith("dlib-resnet@1.0+")
    image = load_image(att / "s1" / "1.pgm")
    (embedding,) = embedder.embed(image, MtcnnDetector().detect(image)[:1])
    assert embedding.shape == (128,) and np.isfinite(embedding).all()


def test_every_epoch_leaves_a_loadable_checkpoint(att_run: dict[str, Any], att_config: TrainConfig) -> None:
    folder = att_config.checkpoint_dir()
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-003.pt"]
    assert load_embedder(folder / "epoch-003.pt").card.version.endswith("-e3")


def test_resume_continues_where_it_stopped(att_run: dict[str, Any], att_config: TrainConfig, tmp_path: Path) -> None:
    first = variant(att_config, tmp_path / "part.pt", epochs=1)
    fine_tune(first, progress=False, log=lambda line: None)
    resumed = fine_tune(
        variant(first, first.out, epochs=2), resume=first.checkpoint_dir() / "epoch-001.pt", progress=False, log=print
    )
    assert [e["epoch"] for e in resumed["epochs"]] == [1, 2]
    straight, continued = att_run["epochs"][1], resumed["epochs"][1]
    assert continued["loss"] == pytest.approx(straight["loss"], rel=1e-4)
    assert continued["validation"]["auc"] == pytest.approx(straight["validation"]["auc"], abs=1e-4)


def test_resume_refuses_another_run(att_run: dict[str, Any], att_config: TrainConfig) -> None:
    other = variant(att_config, att_config.out, loss="arcface")
    with pytest.raises(ResumeMismatch, match="loss: 'ce' -> 'arcface'"):
        fine_tune(other, resume=att_config.checkpoint_dir() / "epoch-003.pt", progress=False)


def test_arcface_with_adam_and_cosine_schedule(att_config: TrainConfig, tmp_path: Path) -> None:
    config = variant(
        att_config,
        tmp_path / "arc.pt",
        loss="arcface",
        optimizer="adam",
        lr=1e-4,
        scheduler="cosine",
        t_max=2,
        epochs=2,
        step_size=5,
    )
    report = fine_tune(config, progress=False, log=lambda line: None)
    assert [epoch["lr"] for epoch in report["epochs"]] == pytest.approx([1e-4, 5e-5])
    assert all(np.isfinite(epoch["loss"]) for epoch in report["epochs"])
    # ArcFace epochs are cosine models; when none beats the base, the base (euclidean) is what was written.
    written = "cosine" if report["finetuned"]["epoch"] else "euclidean"
    assert load_embedder(config.out).card.metric == report["finetuned"]["metric"] == written


def test_a_destructive_recipe_writes_the_base_and_says_so(att_config: TrainConfig, att: Path, tmp_path: Path) -> None:
    # The original team's recipe (CE, CosineAnnealingLR) at a rate that wrecks the network in one epoch.
    config = variant(att_config, tmp_path / "wrecked.pt", scheduler="cosine", lr=2.0, epochs=1, warmup_epochs=0)
    report = fine_tune(config, progress=False, log=lambda _: None)
    assert report["epochs"][0]["validation"]["tar_at_far"]["0.01"] < report["base"]["tar_at_far"]["0.01"]
    assert report["finetuned"]["epoch"] == 0 and "no epoch beat the base" in report["finetuned"]["outcome"]
    assert report["finetuned"]["tar_at_far"] == report["base"]["tar_at_far"]
    image = load_image(att / "s1" / "1.pgm")
    faces = MtcnnDetector().detect(image)[:1]
    base, written = load_embedder(att_config.base), load_embedder(config.out)
    assert np.allclose(written.embed(image, faces)[0], base.embed(image, faces)[0], atol=1e-5)


def test_default_rate_is_the_teams_slides() -> None:
    assert TrainConfig(data=Path("d"), base="dlib-resnet", out=Path("o.pt")).lr == 1e-3


def test_fusions_and_onnx_parts_are_refused_clearly(att_config: TrainConfig, tmp_path: Path) -> None:
    from recognition.training.errors import ConfigInvalid

    for base, message in (("fr-feature+mobilefacenet", "fine-tune its PyTorch parts"), ("fr-feature", "ONNX")):
        with pytest.raises(ConfigInvalid, match=message):
            fine_tune(variant(att_config, tmp_path / "x.pt", base=base), progress=False, log=lambda _: None)
