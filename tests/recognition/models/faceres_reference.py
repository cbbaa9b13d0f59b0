"""An independent NumPy reference of the faceres graph (NHWC, as TensorFlow computes it) to check the port.

It shares no code with ``recognition.models.tfjs_graph``: it walks the GraphDef nodes in file order, reads the
float16 shard by itself and pads by TensorFlow's documented SAME rule (pad_along = max(k - s, 0) when the
size divides by the stride, else max(k - size % s, 0); the smaller half before).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


def weights(folder: Path) -> dict[str, Array]:
    """The tensors of faceres.bin by name, float16 widened (int32 tensors as they are)."""
    spec = json.loads((folder / "faceres.json").read_text())
    data, offset, out = (folder / "faceres.bin").read_bytes(), 0, {}
    for entry in spec["weightsManifest"][0]["weights"]:
        dtype = np.float16 if entry.get("quantization") else np.dtype(entry["dtype"])
        count = int(np.prod(entry["shape"]))
        out[entry["name"]] = np.frombuffer(data, dtype, count, offset).astype(np.float32).reshape(entry["shape"])
        offset += count * np.dtype(dtype).itemsize
    return out


def embedding(folder: Path, bgr: Array) -> Array:
    """The 1024 values of ``global_pooling/Mean`` for one (224, 224, 3) mean-subtracted BGR image."""
    nodes = json.loads((folder / "faceres.json").read_text())["modelTopology"]["node"]
    values: dict[str, Any] = {**weights(folder), "input_1": bgr[None]}
    for node in nodes:
        if node["op"] in ("Const", "Placeholder"):
            continue
        args = [values[name] for name in node["input"]]
        values[node["name"]] = _op(node, args)
        if node["name"] == "global_pooling/Mean":
            return np.asarray(values[node["name"]][0], dtype=np.float32)
    raise AssertionError("global_pooling/Mean not reached")


def _op(node: dict[str, Any], args: list[Any]) -> Any:
    op = node["op"]
    if op in ("Conv2D", "DepthwiseConv2dNative"):
        stride = int(node["attr"]["strides"]["list"]["i"][1])
        return _conv(args[0], args[1], stride, depthwise=op != "Conv2D")
    table = {"Add": np.add, "Mul": np.multiply, "Minimum": np.minimum, "Maximum": np.maximum}
    if op in table:
        return table[op](args[0], args[1])
    if op == "Relu":
        return np.maximum(args[0], 0)
    if op == "Mean":
        return args[0].mean(axis=tuple(int(a) for a in args[1]))
    raise AssertionError(f"reference has no {op}")  # the age/gender heads come after the embedding


def _pad(x: Array, k: int, s: int) -> Array:
    pads = []
    for size in x.shape[1:3]:
        along = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads.append((along // 2, along - along // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _conv(x: Array, kernel: Array, s: int, depthwise: bool) -> Array:
    k = kernel.shape[0]
    padded = _pad(x, k, s)
    rows, cols = -(-x.shape[1] // s), -(-x.shape[2] // s)
    out = np.zeros((1, rows, cols, kernel.shape[2] if depthwise else kernel.shape[3]), np.float32)
    for i in range(k):
        for j in range(k):
            patch = padded[:, i : i + s * rows : s, j : j + s * cols : s, :]
            out += patch * kernel[i, j, :, 0] if depthwise else patch @ kernel[i, j]
    return out
