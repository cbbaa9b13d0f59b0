"""Liveness fixtures: the MiniFASNet pair, loaded once (real weights from the assets folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageOps

from recognition.liveness.passive import MiniFasScorer, load_passive
from recognition.types import Image


@pytest.fixture(scope="session")
def scorer(liveness_models_root: Path) -> MiniFasScorer:
    return load_passive(root=liveness_models_root)


def load_upright(path: Path) -> Image:
    """The anti-spoof samples carry EXIF orientation 6: decode them as a viewer shows them."""
    with PilImage.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.uint8)
