"""The TFLite port as it runs (padding inside ``conv2d``, PReLU fused) gives the graph as the file spells it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from recognition.models import tflite_port
from recognition.models.embedder import load_torch_embedder
from recognition.pipeline.align import ARCFACE_112, align_face
from recognition.pipeline.detector import MtcnnDetector
from recognition.recording import timed_frames
from tests.conftest import missing_asset

CLIP = "live_proctoring_1.mp4"


@pytest.fixture(scope="module")
def chips(assets: Path, detector: MtcnnDetector) -> npt.NDArray[np.uint8]:
    """ArcFace chips of a real webcam's frames (one face each, 4 frames over 2 s)."""
    path = assets / "data" / "video" / CLIP
    if not path.is_file():
        missing_asset(f"{path} not found")
    out = []
    for frame in timed_frames(path, 1.0, 3.0, fps=2):
        faces = detector.detect(frame.image)
        out.append(align_face(frame.image, faces[0].landmarks, ARCFACE_112))
    return np.stack(out)


def _padded_copy_conv(step: tflite_port.Step, args: list[torch.Tensor]) -> torch.Tensor:
    """The port's convolution before: every SAME convolution pads a copy of its input first."""
    x, weight, bias = args[0], args[1], args[2]
    if step.same:
        x = F.pad(x, tflite_port.same_padding(x.shape[-2:], weight.shape[-2:], step.stride))
    groups = x.shape[1] if step.kind == "DEPTHWISE_CONV_2D" else 1
    return F.conv2d(x, weight, bias, stride=step.stride, groups=groups)


def test_mobilefacenet_descriptors_match_the_graph_as_spelt(
    models_root: Path, chips: npt.NDArray[np.uint8], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real faces give the same 192-d rows (max abs difference <= 1e-5) as padded copies and spelt-out PReLUs."""
    embedder = load_torch_embedder("mobilefacenet", root=models_root)
    steps = embedder.network.graph.steps
    assert any(s.same and s.stride == 2 for s in steps)  # the asymmetric case (odd pixel after) is exercised
    assert any(s.same and s.stride == 1 for s in steps)  # and the symmetric one
    assert [s.kind for s in steps].count("PRELU") == 33  # every spelt-out PReLU of the file was fused
    fast = embedder.embed_chips(chips)
    monkeypatch.setattr(tflite_port.TfliteGraph, "_conv", staticmethod(_padded_copy_conv))
    monkeypatch.setattr(tflite_port, "fuse_prelu", lambda steps, constants: steps)
    spelt = load_torch_embedder("mobilefacenet", root=models_root)
    assert "PRELU" not in {s.kind for s in spelt.network.graph.steps}
    reference = spelt.embed_chips(chips)
    assert fast.shape == (len(chips), 192)
    assert np.abs(fast - reference).max() <= 1e-5
    assert embedder.network.state_dict().keys() == spelt.network.state_dict().keys()  # checkpoints keep their keys
