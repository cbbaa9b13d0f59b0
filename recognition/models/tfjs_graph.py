"""A PyTorch port of a TensorFlow.js graph model (a GraphDef as JSON plus weight shards), no TF runtime.

Only the graph up to the requested output node is built, and only the operators of a MobileNet-v1 body
are supported (Conv2D, DepthwiseConv2dNative, Add/AddV2/BiasAdd, Sub, Mul, Relu, Relu6, Minimum and
Maximum against a scalar, Mean over height and width); anything else is a clear ``CheckpointInvalid``.
Weights stored as float16 (tfjs ``quantization.dtype``) are widened to float32. The graph runs in NCHW;
convolution kernels and per-channel constants become trainable parameters, scalars (the ReLU6 caps) do not.
Two chains are fused on load, computing the same values in fewer passes over memory: a convolution and the
per-channel constant added to it (a convolution bias), and Relu -> Minimum(a >= 0) -> Maximum(b <= 0)
(one clamp to [0, a]).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from recognition.errors import CheckpointInvalid
from recognition.models.tflite_port import same_padding

_CONVS = ("Conv2D", "DepthwiseConv2dNative")
_BINARY = ("Add", "AddV2", "BiasAdd", "Sub", "Mul", "Minimum", "Maximum")
_SUPPORTED = (*_CONVS, *_BINARY, "Relu", "Relu6", "Mean")
_BYTES = {"float32": 4, "int32": 4, "float16": 2}


@dataclass(frozen=True, slots=True)
class Step:
    """One operator: its kind, input and output node names, and (for convolutions) stride and SAME padding."""

    kind: str
    inputs: tuple[str, ...]
    output: str
    stride: int = 1
    same: bool = True
    bias: str | None = None  # a convolution's fused Add of a per-channel constant
    bounds: tuple[float, float] = (0.0, 0.0)  # a fused clamp's range


class TfjsGraph(nn.Module):
    """Runs the steps of a tfjs graph on NCHW tensors; returns the sink node's value."""

    def __init__(self, steps: list[Step], constants: dict[str, torch.Tensor], source: str, sink: str) -> None:
        super().__init__()
        self.source, self.sink = source, sink
        self.scalars = {k: float(v) for k, v in constants.items() if v.ndim == 0}
        self.weights = nn.ParameterDict({k: nn.Parameter(v) for k, v in constants.items() if v.ndim > 0})
        self.steps = fuse(steps, constants, sink)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the graph on an (N, C, H, W) float batch."""
        values: dict[str, torch.Tensor] = {self.source: x}
        for step in self.steps:
            values[step.output] = self._run(step, values)
        return values[self.sink]

    def _run(self, step: Step, values: dict[str, torch.Tensor]) -> torch.Tensor:
        x = values[step.inputs[0]]
        if step.kind in _CONVS:
            weight = self.weights[step.inputs[1]]
            pads = same_padding(x.shape[-2:], weight.shape[-2:], step.stride) if step.same else (0, 0, 0, 0)
            left, right, top, bottom = pads
            if (left, top) != (right, bottom):  # asymmetric: pad explicitly, else the convolution pads (faster)
                x, left, top = F.pad(x, (left, right, top, bottom)), 0, 0
            groups = x.shape[1] if step.kind == "DepthwiseConv2dNative" else 1
            bias = self.weights[step.bias].view(-1) if step.bias else None
            return F.conv2d(x, weight, bias, stride=step.stride, padding=(top, left), groups=groups)
        if step.kind == "Clamp":
            return x.clamp(*step.bounds)
        if step.kind in ("Relu", "Relu6"):
            return F.relu(x) if step.kind == "Relu" else F.relu6(x)
        if step.kind == "Mean":
            return x.mean(dim=(2, 3))
        return self._binary(step, x, step.inputs[1], values)

    def _binary(self, step: Step, x: torch.Tensor, name: str, values: dict[str, torch.Tensor]) -> torch.Tensor:
        if step.kind in ("Minimum", "Maximum"):
            bound = self.scalars[name]  # the loader accepts only scalar bounds
            return x.clamp(max=bound) if step.kind == "Minimum" else x.clamp(min=bound)
        y: torch.Tensor | float = values[name] if name in values else self._constant(name)
        if step.kind == "Mul":
            return x * y
        return x - y if step.kind == "Sub" else x + y

    def _constant(self, name: str) -> torch.Tensor | float:
        return self.scalars[name] if name in self.scalars else self.weights[name]


def fuse(steps: list[Step], constants: dict[str, torch.Tensor], sink: str) -> list[Step]:
    """The steps with the two chains of the module docstring fused where no one else reads the link."""
    uses = Counter(name for step in steps for name in step.inputs)
    out: list[Step] = []
    for step in steps:
        last = out[-1] if out else None
        linked = last is not None and step.inputs[0] == last.output and uses[last.output] == 1 and last.output != sink
        merged = _merge(last, step, constants) if linked and last is not None else None
        if merged:
            out[-1] = merged
        else:
            out.append(step)
    return out


def _merge(first: Step, then: Step, constants: dict[str, torch.Tensor]) -> Step | None:
    other = constants.get(then.inputs[1]) if len(then.inputs) > 1 else None
    if other is None:
        return None
    if first.kind in _CONVS and not first.bias and then.kind in ("Add", "AddV2", "BiasAdd"):
        channels = constants[first.inputs[1]].shape[0]
        fits = other.shape == (1, channels, 1, 1)
        return replace(first, output=then.output, bias=then.inputs[1]) if fits else None
    if first.kind == "Relu" and then.kind == "Minimum" and other.ndim == 0 and float(other) >= 0:
        return Step("Clamp", first.inputs, then.output, bounds=(0.0, float(other)))
    if first.kind == "Clamp" and then.kind == "Maximum" and other.ndim == 0 and float(other) <= first.bounds[0]:
        return replace(first, output=then.output)  # max(clamp(x, lo, hi), b) == clamp(x, lo, hi) for b <= lo
    return None


def load_tfjs(model_json: Path, sink: str) -> TfjsGraph:
    """Read a tfjs graph model (``model.json`` and the shards it names) into a ``TfjsGraph`` ending at ``sink``."""
    try:
        spec = json.loads(model_json.read_text(encoding="utf-8"))
        nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        manifest = spec["weightsManifest"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointInvalid(f"{model_json}: not a TensorFlow.js graph model ({exc})") from exc
    if sink not in nodes:
        raise CheckpointInvalid(f"{model_json}: no node named {sink!r}")
    order = _ancestors(nodes, sink)
    sources = [n for n in order if nodes[n]["op"] == "Placeholder"]
    if len(sources) != 1:
        raise CheckpointInvalid(f"{model_json}: {sink} depends on {len(sources)} inputs, expected one")
    steps = [_step(nodes[n], model_json) for n in order if nodes[n]["op"] not in ("Const", "Placeholder")]
    arrays = read_weights(model_json.parent, manifest)
    constants = {n: _constant(n, arrays, steps, model_json) for n in order if nodes[n]["op"] == "Const"}
    return TfjsGraph(steps, {k: v for k, v in constants.items() if v is not None}, sources[0], sink)


def _ancestors(nodes: dict[str, dict[str, Any]], sink: str) -> list[str]:
    """The nodes ``sink`` depends on, inputs before their consumers (an iterative depth-first walk)."""
    order: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(sink, False)]
    while stack:
        name, expanded = stack.pop()
        if expanded:
            order.append(name)
        elif name not in seen:
            seen.add(name)
            stack.append((name, True))
            stack.extend((i, False) for i in reversed(_inputs(nodes[name])) if i not in seen)
    return order


def _inputs(node: dict[str, Any]) -> list[str]:
    # "name:0" is output 0 of "name"; "^name" is a control dependency, not data.
    return [i.split(":")[0] for i in node.get("input", []) if not i.startswith("^")]


def _step(node: dict[str, Any], path: Path) -> Step:
    kind, attrs = node["op"], node.get("attr", {})
    if kind not in _SUPPORTED:
        raise CheckpointInvalid(f"{path}: unsupported operator {kind} ({node['name']})")
    inputs = tuple(_inputs(node))
    if kind == "Mean" and attrs.get("keep_dims", {}).get("b", False):
        raise CheckpointInvalid(f"{path}: Mean {node['name']} keeps its dimensions; only keep_dims=false")
    if kind not in _CONVS:
        return Step(kind, inputs, node["name"])
    strides = [int(s) for s in attrs.get("strides", {}).get("list", {}).get("i", ["1"] * 4)]
    dilations = {int(d) for d in attrs.get("dilations", {}).get("list", {}).get("i", ["1"])}
    padding = _text(attrs.get("padding", {}))
    layout = _text(attrs.get("data_format", {})) or "NHWC"
    if layout != "NHWC" or dilations != {1} or strides[1] != strides[2] or padding not in ("SAME", "VALID"):
        raise CheckpointInvalid(f"{path}: {kind} {node['name']}: only NHWC, square strides, no dilation, SAME/VALID")
    return Step(kind, inputs, node["name"], strides[1], padding == "SAME")


def _text(attr: dict[str, Any]) -> str:
    """A GraphDef string attribute (base64 in the JSON form)."""
    return base64.b64decode(attr["s"]).decode() if "s" in attr else ""


def read_weights(folder: Path, manifest: list[dict[str, Any]]) -> dict[str, npt.NDArray[Any]]:
    """Every tensor of the manifest's groups, float16 widened to float32; refuses a size mismatch."""
    out: dict[str, npt.NDArray[Any]] = {}
    for group in manifest:
        data = b"".join(_read_shard(folder / p) for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            stored = (entry.get("quantization") or {}).get("dtype", entry["dtype"])
            if stored not in _BYTES:
                raise CheckpointInvalid(f"{folder}: tensor {entry['name']} stored as {stored} is not supported")
            count = int(np.prod(entry["shape"], dtype=np.int64))
            raw = np.frombuffer(data, dtype=f"<{stored[0]}{_BYTES[stored]}", count=count, offset=offset)
            out[entry["name"]] = raw.astype(np.int32 if stored == "int32" else np.float32).reshape(entry["shape"])
            offset += count * _BYTES[stored]
        if offset != len(data):
            raise CheckpointInvalid(f"{folder}: weights hold {len(data)} bytes, the manifest describes {offset}")
    return out


def _read_shard(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointInvalid(f"{path}: weights shard unreadable ({exc.strerror})") from exc


def _constant(name: str, arrays: dict[str, npt.NDArray[Any]], steps: list[Step], path: Path) -> torch.Tensor | None:
    """A constant in the layout its consumer needs in NCHW (None for Mean's axes, checked and then built in)."""
    if name not in arrays:
        raise CheckpointInvalid(f"{path}: constant {name} has no weights in the manifest")
    array = arrays[name]
    consumer = next(s for s in steps if name in s.inputs)
    if consumer.kind == "Conv2D":
        array = array.transpose(3, 2, 0, 1)  # HWIO -> OIHW
    elif consumer.kind == "DepthwiseConv2dNative":
        h, w, c, m = array.shape
        array = array.transpose(2, 3, 0, 1).reshape(c * m, 1, h, w)  # [H, W, C, M] -> [C*M, 1, H, W]
    elif consumer.kind == "Mean":
        if sorted(array.tolist()) != [1, 2]:
            raise CheckpointInvalid(f"{path}: {consumer.output} must average over height and width only")
        return None
    elif consumer.kind in ("Minimum", "Maximum") and array.ndim != 0:
        raise CheckpointInvalid(f"{path}: {consumer.output} bounds by a tensor, only a scalar is supported")
    elif array.ndim == 1:
        array = array.reshape(1, -1, 1, 1)  # a per-channel constant, broadcast over NCHW
    return torch.from_numpy(np.array(array, dtype=np.float32, order="C"))  # ascontiguousarray makes 0-d 1-d
