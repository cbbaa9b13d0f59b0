"""The TensorFlow.js graph reader on small graphs written here: SAME padding, float16 weights, bad files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from recognition.errors import CheckpointInvalid
from recognition.models.tfjs_graph import load_tfjs

SAME = base64.b64encode(b"SAME").decode()


def _conv_node(name: str, source: str, kernel: str, stride: int, op: str = "Conv2D") -> dict[str, Any]:
    strides = {"list": {"i": ["1", str(stride), str(stride), "1"]}}
    return {"name": name, "op": op, "input": [source, kernel], "attr": {"strides": strides, "padding": {"s": SAME}}}


def _write(folder: Path, nodes: list[dict[str, Any]], tensors: dict[str, np.ndarray], extra: bytes = b"") -> Path:
    consts = [{"name": k, "op": "Const"} for k in tensors]
    weights = [
        {"name": k, "shape": list(v.shape), "dtype": "float32", "quantization": {"dtype": "float16"}}
        for k, v in tensors.items()
    ]
    spec = {
        "modelTopology": {"node": [{"name": "x", "op": "Placeholder"}, *consts, *nodes]},
        "weightsManifest": [{"paths": ["w.bin"], "weights": weights}],
    }
    (folder / "w.bin").write_bytes(b"".join(v.astype("<f2").tobytes() for v in tensors.values()) + extra)
    path = folder / "model.json"
    path.write_text(json.dumps(spec))
    return path


def _stride_two(folder: Path) -> Path:
    kernel = np.ones((3, 3, 1, 1), np.float32)  # HWIO: a 3x3 box sum
    nodes = [
        _conv_node("conv", "x", "k", 2),
        {"name": "six", "op": "Minimum", "input": ["conv", "cap"]},
        # Past the sink and missing its axes constant: it must not be built.
        {"name": "pool", "op": "Mean", "input": ["six", "axes"], "attr": {"keep_dims": {"b": False}}},
    ]
    return _write(folder, nodes, {"k": kernel, "cap": np.array(9.5, np.float32)})


def test_stride_two_same_pads_only_after_on_even_sizes(tmp_path: Path) -> None:
    graph = load_tfjs(_stride_two(tmp_path), "six")
    x = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4) / 5
    out = graph(x)[0, 0]
    # TensorFlow SAME, 4 -> 2 with k=3, s=2: pad 0 before and 1 after, so window (0,0) covers rows/cols 0..2.
    grid = x[0, 0].numpy()
    padded = np.pad(grid, ((0, 1), (0, 1)))
    expected = [[min(padded[r : r + 3, c : c + 3].sum(), 9.5) for c in (0, 2)] for r in (0, 2)]
    assert np.allclose(out.detach().numpy(), expected, atol=1e-5)
    assert out[1, 1].item() == 9.5  # the scalar cap came through the float16 shard


def test_unsupported_operator_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"name": "s", "op": "Sigmoid", "input": ["x"]}], {"k": np.ones(1, np.float32)})
    with pytest.raises(CheckpointInvalid, match="unsupported operator Sigmoid"):
        load_tfjs(path, "s")


def test_weights_that_do_not_fit_the_manifest_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_conv_node("conv", "x", "k", 1)], {"k": np.ones((3, 3, 1, 1), np.float32)}, b"\0\0")
    with pytest.raises(CheckpointInvalid, match="weights hold 20 bytes, the manifest describes 18"):
        load_tfjs(path, "conv")


def test_bad_files_give_one_clear_error(tmp_path: Path) -> None:
    garbage = tmp_path / "model.json"
    garbage.write_text("{not json")
    with pytest.raises(CheckpointInvalid, match="not a TensorFlow.js graph model"):
        load_tfjs(garbage, "conv")
    path = _write(tmp_path, [_conv_node("conv", "x", "k", 1)], {"k": np.ones((3, 3, 1, 1), np.float32)})
    with pytest.raises(CheckpointInvalid, match="no node named 'absent'"):
        load_tfjs(path, "absent")
    (tmp_path / "w.bin").unlink()
    with pytest.raises(CheckpointInvalid, match="w.bin: weights shard unreadable"):
        load_tfjs(path, "conv")


@pytest.mark.parametrize("floor", [-1.0, 0.0, 1.5])
def test_fused_chains_compute_what_the_graph_says(floor: float, tmp_path: Path) -> None:
    # conv + bias + Relu -> Minimum(6) -> Maximum(floor) is fused into one convolution and one clamp only
    # where that is exact (floor <= 0); a positive floor must still be applied.
    nodes = [
        _conv_node("conv", "x", "k", 1),
        {"name": "add", "op": "Add", "input": ["conv", "b"]},
        {"name": "relu", "op": "Relu", "input": ["add"]},
        {"name": "min", "op": "Minimum", "input": ["relu", "six"]},
        {"name": "max", "op": "Maximum", "input": ["min", "floor"]},
    ]
    kernel = np.array([2.0, -1.0], np.float32).reshape(1, 1, 1, 2)  # HWIO: one input, two output channels
    tensors = {"k": kernel, "b": np.array([0.5, 1.0], np.float32), "six": np.array(6.0), "floor": np.array(floor)}
    graph = load_tfjs(_write(tmp_path, nodes, {k: np.asarray(v, np.float32) for k, v in tensors.items()}), "max")
    x = torch.linspace(-4, 4, 9).view(1, 1, 3, 3)
    conv = np.stack([2 * x[0, 0].numpy() + 0.5, -x[0, 0].numpy() + 1.0])
    expected = np.maximum(np.minimum(np.maximum(conv, 0), 6), floor)
    assert np.allclose(graph(x)[0].detach().numpy(), expected, atol=1e-6)
    assert [s.kind for s in graph.steps][-1] == ("Maximum" if floor > 0 else "Clamp")
