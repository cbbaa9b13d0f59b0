"""Session fixtures: models are loaded once per test session (real weights from the assets folder).

Registered for the whole suite by ``tests/conftest.py``: the recognition tests and the tests of its
``lockers`` commands share them, so each network loads once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recognition.liveness.passive import is_available
from recognition.models.embedder import TorchEmbedder, load_torch_embedder
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
from recognition.pipeline.face import MtcnnPipeline, build_pipeline
from tests.conftest import missing_asset


@pytest.fixture(scope="session")
def models_root(assets: Path) -> Path:
    root = assets / "models"
    if not (root / "face-api" / "face_recognition_model.bin").is_file():
        missing_asset(f"dlib-resnet weights not found under {root}")
    return root


@pytest.fixture(scope="session")
def liveness_models_root(assets: Path) -> Path:
    """The models folder, for the tests of the MiniFASNet pair (skipped where its weights are absent)."""
    root = assets / "models"
    if not is_available(root):
        missing_asset(f"MiniFASNet weights not found under {root}/anti-spoof")
    return root


@pytest.fixture(scope="session")
def samples(assets: Path) -> Path:
    return assets / "data" / "samples" / "face_recognition"


@pytest.fixture(scope="session")
def dlib_embedder(models_root: Path) -> TorchEmbedder:
    return load_torch_embedder("dlib-resnet", root=models_root)


@pytest.fixture(scope="session")
def detector() -> MtcnnDetector:
    return MtcnnDetector(DetectorConfig(min_face_size=40))  # what `lockers eval` uses


@pytest.fixture(scope="session")
def pipeline(models_root: Path) -> MtcnnPipeline:
    return build_pipeline("dlib-resnet", min_face_size=40, models_root=models_root)
