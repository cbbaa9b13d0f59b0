"""facenet-pytorch ``InceptionResnetV1`` (512-d) behind this project's network conventions."""

from __future__ import annotations

from pathlib import Path

import torch
from facenet_pytorch import InceptionResnetV1
from torch import nn

from recognition.errors import CheckpointInvalid


class FacenetNetwork(nn.Module):
    """InceptionResnetV1 taking (N, 3, 160, 160) float RGB in 0..255; returns L2-normalised descriptors."""

    def __init__(self) -> None:
        super().__init__()
        self.inception = InceptionResnetV1(pretrained=None, classify=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """facenet-pytorch's ``fixed_image_standardization`` then the network."""
        return self.inception((x - 127.5) / 128.0)  # type: ignore[no-any-return]

    def load_inception_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load an ``InceptionResnetV1`` state dict (``inception.`` prefixes accepted, ``logits.*`` ignored)."""
        kept = {k.removeprefix("inception."): v for k, v in state.items() if not k.startswith("logits.")}
        try:
            self.inception.load_state_dict(kept)
        except RuntimeError as exc:
            raise CheckpointInvalid(f"not an InceptionResnetV1 state dict: {str(exc).splitlines()[0]}") from exc


def load_facenet_file(path: Path) -> FacenetNetwork:
    """Build the network from a facenet-pytorch weights file (a plain state dict)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise CheckpointInvalid(f"{path}: expected a state dict")
    network = FacenetNetwork()
    network.load_inception_state(state)
    return network.eval()
