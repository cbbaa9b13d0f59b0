"""MobileFaceNet (192-d): the TFLite weights of ``models/mobilefacenet`` as a trainable PyTorch network."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from recognition.models.tflite_port import load_tflite

WEIGHTS = "MobileFaceNet.tflite"


class MobileFaceNet(nn.Module):
    """Takes ArcFace-aligned 112x112 RGB chips as float 0..255 (N, 3, 112, 112); returns unit 192-d rows."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.graph = load_tflite(folder / WEIGHTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise as the TFLite export expects ((x - 127.5) / 128), run it, L2-normalise."""
        return F.normalize(self.graph((x - 127.5) / 128.0), dim=1)
