"""PyTorch port of face-api.js's ``faceRecognitionNet`` (dlib's ResNet-34-style 128-d face descriptor).

The weights come in TensorFlow.js layout (a JSON manifest plus a packed ``.bin``; uint8 tensors are
dequantised as ``q * scale + min``). Each conv layer in the original is conv + bias + per-channel
scale; the scale is folded into the conv at load time, so the module holds plain ``Conv2d`` layers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from recognition.errors import ModelError, WeightsMissing

MANIFEST_NAME = "face_recognition_model-weights_manifest.json"
BIN_NAME = "face_recognition_model.bin"
MEAN_RGB = (122.782, 117.001, 104.298)
# (name, in channels, out channels, downsampling) in forward order.
BLOCKS: tuple[tuple[str, int, int, bool], ...] = (
    ("conv32_1", 32, 32, False),
    ("conv32_2", 32, 32, False),
    ("conv32_3", 32, 32, False),
    ("conv64_down", 32, 64, True),
    ("conv64_1", 64, 64, False),
    ("conv64_2", 64, 64, False),
    ("conv64_3", 64, 64, False),
    ("conv128_down", 64, 128, True),
    ("conv128_1", 128, 128, False),
    ("conv128_2", 128, 128, False),
    ("conv256_down", 128, 256, True),
    ("conv256_1", 256, 256, False),
    ("conv256_2", 256, 256, False),
    ("conv256_down_out", 256, 256, True),
)


class ResidualBlock(nn.Module):
    """Two 3x3 convs with an identity shortcut; the down variant strides and pads the pooled shortcut."""

    def __init__(self, in_channels: int, out_channels: int, down: bool) -> None:
        super().__init__()
        stride, padding = (2, 0) if down else (1, 1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=padding)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.down = down
        self.extra_channels = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual forward pass."""
        out = self.conv2(F.relu(self.conv1(x)))
        if not self.down:
            return F.relu(out + x)
        shortcut = F.avg_pool2d(x, 2, 2)
        dh, dw = shortcut.shape[2] - out.shape[2], shortcut.shape[3] - out.shape[3]
        if dh or dw:
            out = F.pad(out, (0, dw, 0, dh))
        if self.extra_channels:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.extra_channels))
        return F.relu(out + shortcut)


class DlibResNet(nn.Module):
    """The 128-d descriptor network; input: (N, 3, 150, 150) float RGB in 0..255 (aligned dlib chips)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv32_down = nn.Conv2d(3, 32, 7, stride=2)
        self.blocks = nn.Sequential(*(ResidualBlock(i, o, d) for _, i, o, d in BLOCKS))
        self.fc = nn.Linear(256, 128, bias=False)
        self.mean_rgb: torch.Tensor
        self.register_buffer("mean_rgb", torch.tensor(MEAN_RGB).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Descriptors for a batch of chips."""
        x = (x - self.mean_rgb) / 255.0
        x = F.max_pool2d(F.relu(self.conv32_down(x)), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))  # type: ignore[no-any-return]


def read_tfjs_weights(folder: Path) -> dict[str, npt.NDArray[np.float32]]:
    """Read and dequantise every tensor of a TensorFlow.js weights manifest and its ``.bin``."""
    manifest_path, bin_path = folder / MANIFEST_NAME, folder / BIN_NAME
    if not manifest_path.is_file() or not bin_path.is_file():
        raise WeightsMissing(
            f"dlib-resnet weights not found in {folder} (need {MANIFEST_NAME} and {BIN_NAME}); "
            "set LOCKERS_MODELS or run `lockers models fetch dlib-resnet` where online"
        )
    entries = [w for group in json.loads(manifest_path.read_text()) for w in group["weights"]]
    blob = bin_path.read_bytes()
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    offset = 0
    for entry in entries:
        tensors[entry["name"]], offset = _read_tensor(entry, blob, offset)
    if offset != len(blob):
        raise ModelError(f"{bin_path}: {len(blob)} bytes but the manifest describes {offset}")
    return tensors


def _read_tensor(entry: dict[str, object], blob: bytes, offset: int) -> tuple[npt.NDArray[np.float32], int]:
    shape = [int(n) for n in entry["shape"]]  # type: ignore[attr-defined]
    count = int(np.prod(shape))
    quant = entry.get("quantization")
    if isinstance(quant, dict):
        raw = np.frombuffer(blob, dtype=np.uint8, count=count, offset=offset)
        values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        return values.reshape(shape), offset + count
    values = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).astype(np.float32)
    return values.reshape(shape), offset + 4 * count


def state_dict_from_tfjs(tensors: dict[str, npt.NDArray[np.float32]]) -> dict[str, torch.Tensor]:
    """Map face-api tensor names onto ``DlibResNet``'s state dict, folding each scale layer into its conv."""
    state = _conv_layer(tensors, "conv32_down", "conv32_down")
    for index, (name, *_rest) in enumerate(BLOCKS):
        for conv in ("conv1", "conv2"):
            state.update(_conv_layer(tensors, f"{name}/{conv}", f"blocks.{index}.{conv}"))
    state["fc.weight"] = torch.from_numpy(np.ascontiguousarray(tensors["fc"].T))
    return state


def _conv_layer(tensors: dict[str, npt.NDArray[np.float32]], src: str, dst: str) -> dict[str, torch.Tensor]:
    filters = tensors[f"{src}/conv/filters"].transpose(3, 2, 0, 1)  # [h, w, in, out] -> [out, in, h, w]
    scale, shift = tensors[f"{src}/scale/weights"], tensors[f"{src}/scale/biases"]
    weight = filters * scale[:, None, None, None]
    bias = tensors[f"{src}/conv/bias"] * scale + shift
    return {
        f"{dst}.weight": torch.from_numpy(np.ascontiguousarray(weight, dtype=np.float32)),
        f"{dst}.bias": torch.from_numpy(np.ascontiguousarray(bias, dtype=np.float32)),
    }


def load_faceapi(folder: Path) -> DlibResNet:
    """Build ``DlibResNet`` with the pretrained face-api weights found in ``folder``."""
    network = DlibResNet()
    network.load_state_dict(state_dict_from_tfjs(read_tfjs_weights(folder)))
    return network.eval()
