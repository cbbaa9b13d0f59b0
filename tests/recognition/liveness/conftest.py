"""Liveness fixtures: the MiniFASNet pair and MTCNN, loaded once (real weights from the assets folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageOps

from recognition.liveness.passive import MiniFasScorer, is_available, load_passive
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
from recognition.types import Image


@pytest.fixture(scope="session")
def models_root(assets: Path) -> Path:
    root = assets / "models"
    if not is_available(root):
        pytest.skip(f"MiniFASNet weights not found under {root}/anti-spoof")
    return root


@pytest.fixture(scope="session")
def scorer(models_root: Path) -> MiniFasScorer:
    return load_passive(root=models_root)


@pytest.fixture(scope="session")
def detector() -> MtcnnDetector:
    return MtcnnDetector(DetectorConfig(min_face_size=40))


def load_upright(path: Path) -> Image:
    """The anti-spoof samples carry EXIF orientation 6: decode them as a viewer shows them."""
    with PilImage.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.uint8)
