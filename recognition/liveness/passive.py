"""Passive liveness per frame: the MiniFASNet pair scores one face crop each, their softmaxes summed.

``load_passive()`` finds the registered ``minifasnet`` weights, checks each file against its pinned
SHA-256 before unpickling anything, and builds the two networks of ``network``; the scorer runs them
as ``inference.prepare`` made them (batch norms folded, traced: the same probabilities, faster).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from recognition.liveness.card import CROP_SIZE, LivenessCard, context_crop
from recognition.liveness.inference import Forward, channels_last, prepare
from recognition.liveness.network import MiniFASNet, minifasnet_v1se, minifasnet_v2
from recognition.models import registry as models
from recognition.models.zoo import verified_with_digests
from recognition.types import Face, Image

LIVE_CLASS = 1
"""Class 1 is a live face; 0 and 2 are the two kinds of attack the networks were trained on."""

_NETWORKS = (
    ("2.7_80x80_MiniFASNetV2.pth", 2.7, minifasnet_v2),
    ("4_0_0_80x80_MiniFASNetV1SE.pth", 4.0, minifasnet_v1se),
)


class MiniFasScorer:
    """Probability that a detected face is live, from the two MiniFASNet crops (torch, CPU or GPU)."""

    def __init__(
        self, networks: list[tuple[float, MiniFASNet]], card: LivenessCard, device: str = "cpu", prepared: bool = True
    ) -> None:
        self.device = torch.device(device)
        self.networks = [(scale, net.eval().to(self.device)) for scale, net in networks]
        self.card = card
        # ``prepared=False`` runs the networks as defined: the reference the prepared ones are tested against.
        self.forwards: list[tuple[float, Forward]] = [
            (scale, prepare(net, self.device) if prepared else net) for scale, net in self.networks
        ]

    def score(self, image: Image, face: Face) -> float:
        """Live probability in [0, 1]: the mean of the networks' softmax for the live class."""
        total = 0.0
        with torch.inference_mode():
            for scale, forward in self.forwards:
                crop = context_crop(image, face, scale)
                batch = channels_last(torch.from_numpy(crop).to(self.device).permute(2, 0, 1)[None].float())
                total += float(torch.softmax(forward(batch), dim=1)[0, LIVE_CLASS])
        return total / len(self.forwards)


def load_passive(device: str = "cpu", root: Path | None = None) -> MiniFasScorer:
    """The MiniFASNet pair with verified weights (``WeightsMissing`` / ``CheckpointInvalid`` otherwise)."""
    verified = verified_with_digests("minifasnet", root)
    networks = [(scale, _load(build(), path)) for (path, _), (_, scale, build) in zip(verified, _NETWORKS, strict=True)]
    return MiniFasScorer(networks, _card([digest for _, digest in verified]), device)


def _load(net: MiniFASNet, path: Path) -> MiniFASNet:
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict({key.removeprefix("module."): value for key, value in state.items()})
    return net


def _card(digests: list[str]) -> LivenessCard:
    combined = hashlib.sha256("".join(digests).encode()).hexdigest()
    return LivenessCard(
        name="minifasnet",
        version="v2+v1se-b6d5f04",
        input_size=CROP_SIZE,
        scales=tuple(scale for _, scale, _ in _NETWORKS),
        weights_sha256=combined,
        notes="Silent-Face-Anti-Spoofing (Minivision, Apache-2.0); trained on their own print/replay data; "
        "live probability = mean of the two softmaxes' class 1",
    )


def is_available(root: Path | None = None) -> bool:
    """Whether every weight file of the pair is installed (checksums are checked on load)."""
    spec = models.spec("minifasnet")
    return all(models.locate(spec, file, root) is not None for file in spec.files)
