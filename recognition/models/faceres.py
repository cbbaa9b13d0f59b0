"""faceres (1024-d): the TensorFlow.js MobileNet-v1 of ``models/faceres`` as a trainable PyTorch network.

Pre-processing from ``models/faceres/SOURCE.txt``: a loose 224 px chip, BGR, the per-channel ImageNet
means subtracted, no scaling. The identity descriptor is the global average pool (node
``global_pooling/Mean``); the age and gender heads above it are not built.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from recognition.models.tfjs_graph import load_tfjs

GRAPH = "faceres.json"
OUTPUT = "global_pooling/Mean"
BGR_MEANS = (103.939, 116.779, 123.68)


class FaceRes(nn.Module):
    """Takes 224x224 RGB chips as float 0..255 (N, 3, 224, 224); returns unit 1024-d rows."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.graph = load_tfjs(folder / GRAPH, OUTPUT)
        self.means: torch.Tensor
        self.register_buffer("means", torch.tensor(BGR_MEANS).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RGB -> BGR minus the means (the Keras "caffe" convention it was trained with), run, L2-normalise."""
        bgr = (x.flip(1) - self.means).contiguous(memory_format=torch.channels_last)  # oneDNN's fast layout
        return F.normalize(self.graph(bgr), dim=1)
