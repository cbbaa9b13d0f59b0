"""Fine-tuning fixtures (``lockers train``'s tests use them too): AT&T faces, one chip cache, one short real run."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from recognition.training.config import TrainConfig
from recognition.training.run import fine_tune
from tests.conftest import missing_asset

# Freezing the stem and the first eleven residual blocks keeps a CPU epoch to a few seconds;
# the last blocks and the projection still train (what a small dataset can afford anyway).
FAST_FREEZE = ("conv32_down", *(f"blocks.{i}" for i in range(11)))


@pytest.fixture(scope="session")
def att(assets: Path) -> Path:
    root = assets / "data" / "att_faces" / "orl_faces"
    if not (root / "s1").is_dir():
        missing_asset(f"AT&T faces not found under {root}")
    if not (assets / "models" / "face-api" / "face_recognition_model.bin").is_file():
        missing_asset("dlib-resnet weights not found under the assets")
    return root


@pytest.fixture(scope="session")
def chip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chips")


@pytest.fixture(scope="session")
def att_config(att: Path, chip_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainConfig:
    """30 training / 10 validation identities, 3 images each, CE + StepLR halving every epoch."""
    return TrainConfig(
        data=att,
        base="dlib-resnet",
        out=tmp_path_factory.mktemp("run") / "att.pt",
        loss="ce",
        optimizer="sgd",
        lr=1e-3,
        scheduler="step",
        step_size=1,
        gamma=0.5,
        epochs=3,
        warmup_epochs=1,
        batch_size=16,
        freeze=FAST_FREEZE,
        validation_identities=10,
        max_images_per_identity=3,
        cache_dir=chip_cache,
    )


@pytest.fixture(scope="session")
def att_run(att_config: TrainConfig) -> dict[str, Any]:
    return fine_tune(att_config, progress=False, log=lambda line: None)


def variant(config: TrainConfig, out: Path, **changes: Any) -> TrainConfig:
    """The same run with other settings, written elsewhere."""
    return dataclasses.replace(config, out=out, **changes)
