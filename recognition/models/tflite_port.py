"""A PyTorch port of a TensorFlow Lite float32 graph, built op by op from the flatbuffer (no TF runtime).

Only the operators MobileFaceNet uses are supported (CONV_2D, DEPTHWISE_CONV_2D, RELU, ABS, SUB, MUL,
ADD, RESHAPE); anything else is a clear ``CheckpointInvalid``. The graph runs in NCHW; the constant
tensors become trainable parameters, so the port can be fine-tuned like any other network.

The converter spelt each PReLU out as ``relu(x) + a * (x - |x|)``: five passes over the tensor. The
port runs it as one ``F.prelu(x, 2a)`` (bit for bit the same: ``x - |x|`` is ``2x`` exactly for x < 0,
and scaling by 2 is exact), with ``a`` still the file's parameter, so checkpoints keep their keys.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from recognition.errors import CheckpointInvalid

_FLOAT32 = 0
_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass(frozen=True, slots=True)
class Step:
    """One operator: its kind, input and output tensor ids, and (for convolutions) stride and SAME padding."""

    kind: str
    inputs: tuple[int, ...]
    output: int
    stride: int = 1
    same: bool = True


class TfliteGraph(nn.Module):
    """Runs the steps of a TFLite graph on NCHW tensors; returns the flattened output."""

    def __init__(self, steps: list[Step], constants: dict[int, torch.Tensor], source: int, sink: int) -> None:
        super().__init__()
        self.steps = steps
        self.source, self.sink = source, sink
        self.weights = nn.ParameterDict({str(k): nn.Parameter(v) for k, v in constants.items()})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the graph on an (N, C, H, W) float batch."""
        values: dict[int, torch.Tensor] = {self.source: x}
        for step in self.steps:
            values[step.output] = self._run(step, values)
        return values[self.sink].flatten(1)

    def _value(self, index: int, values: dict[int, torch.Tensor]) -> torch.Tensor:
        return values[index] if index in values else self.weights[str(index)]

    def _run(self, step: Step, values: dict[int, torch.Tensor]) -> torch.Tensor:
        args = [self._value(i, values) for i in step.inputs]
        if step.kind in _CONVS:
            return self._conv(step, args)
        if step.kind == "PRELU":
            return F.prelu(args[0], 2.0 * args[1].reshape(-1))
        if step.kind == "RELU":
            return F.relu(args[0])
        if step.kind == "ABS":
            return args[0].abs()
        if step.kind == "SUB":
            return args[0] - args[1]
        if step.kind == "MUL":
            return args[0] * args[1]
        if step.kind == "ADD":
            return args[0] + args[1]
        return args[0]  # RESHAPE: the final squeeze, done by forward's flatten

    @staticmethod
    def _conv(step: Step, args: list[torch.Tensor]) -> torch.Tensor:
        x, weight, bias = args[0], args[1], args[2]
        groups = x.shape[1] if step.kind == "DEPTHWISE_CONV_2D" else 1
        padding: tuple[int, int] = (0, 0)
        if step.same:
            left, right, top, bottom = same_padding(x.shape[-2:], weight.shape[-2:], step.stride)
            if (left, top) == (right, bottom):
                padding = (top, left)  # symmetric: conv2d pads as it reads, no padded copy of the frame
            else:
                x = F.pad(x, (left, right, top, bottom))  # TF puts the odd pixel after: conv2d cannot
        return F.conv2d(x, weight, bias, stride=step.stride, padding=padding, groups=groups)


def same_padding(size: torch.Size, kernel: torch.Size, stride: int) -> tuple[int, int, int, int]:
    """TensorFlow's SAME padding as ``F.pad`` takes it (left, right, top, bottom)."""
    # Total padding so that out = ceil(in / stride); the odd pixel goes after (0 before, 1 after at stride 2).
    pads = []
    for length, k in zip(size, kernel, strict=True):
        total = max((math.ceil(length / stride) - 1) * stride + k - length, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def load_tflite(path: Path) -> TfliteGraph:
    """Read a float32 TFLite file into a ``TfliteGraph``."""
    import tflite

    try:
        model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        graph = model.Subgraphs(0)
    except Exception as exc:  # the flatbuffer reader raises assorted errors on foreign bytes
        raise CheckpointInvalid(f"{path}: not a TFLite model ({exc})") from exc
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    steps = [_step(model, graph, graph.Operators(i), names, path) for i in range(graph.OperatorsLength())]
    produced = {s.output for s in steps} | {int(graph.Inputs(0))}
    constants = {i: _constant(model, graph, i, s) for s in steps for i in s.inputs if i not in produced}
    return TfliteGraph(fuse_prelu(steps, set(constants)), constants, int(graph.Inputs(0)), int(graph.Outputs(0)))


_PRELU = ("RELU", "ABS", "SUB", "MUL", "ADD")


def fuse_prelu(steps: list[Step], constants: set[int]) -> list[Step]:
    """The steps with each spelt-out PReLU (``relu(x) + a * (x - |x|)``, ``a`` a constant) as one PRELU step."""
    used = Counter(i for s in steps for i in s.inputs)
    out: list[Step] = []
    while steps:
        alpha = _prelu_alpha(steps[:5], constants, used)
        if alpha is None:
            out.append(steps[0])
            steps = steps[1:]
        else:
            out.append(Step("PRELU", (steps[0].inputs[0], alpha), steps[4].output))
            steps = steps[5:]
    return out


def _prelu_alpha(window: list[Step], constants: set[int], used: Counter[int]) -> int | None:
    """The constant ``a`` when ``window`` is exactly a spelt-out PReLU whose inner values nothing else reads."""
    if tuple(s.kind for s in window) != _PRELU:
        return None
    relu, absolute, sub, mul, add = window
    x = relu.inputs[0]
    alpha = next((i for i in mul.inputs if i in constants), None)
    inner = (relu.output, absolute.output, sub.output, mul.output)
    shape_ok = (
        absolute.inputs == (x,)
        and sub.inputs == (x, absolute.output)
        and alpha is not None
        and sorted(mul.inputs) == sorted((alpha, sub.output))
        and sorted(add.inputs) == sorted((relu.output, mul.output))
    )
    return alpha if shape_ok and all(used[i] == 1 for i in inner) else None


def _step(model: object, graph: object, op: object, names: dict[int, str], path: Path) -> Step:
    import tflite

    code = model.OperatorCodes(op.OpcodeIndex())  # type: ignore[attr-defined]
    kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
    if kind not in (*_CONVS, "RELU", "ABS", "SUB", "MUL", "ADD", "RESHAPE"):
        raise CheckpointInvalid(f"{path}: unsupported TFLite operator {kind}")
    inputs = tuple(int(i) for i in op.InputsAsNumpy() if i >= 0)  # type: ignore[attr-defined]
    if kind == "RESHAPE":
        inputs = inputs[:1]
    output = int(op.Outputs(0))  # type: ignore[attr-defined]
    if kind not in _CONVS:
        return Step(kind, inputs, output)
    options = tflite.Conv2DOptions() if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions()
    table = op.BuiltinOptions()  # type: ignore[attr-defined]
    options.Init(table.Bytes, table.Pos)
    if options.FusedActivationFunction() != 0 or options.StrideH() != options.StrideW():
        raise CheckpointInvalid(f"{path}: {kind} with a fused activation or uneven strides is not supported")
    return Step(kind, inputs, output, options.StrideH(), options.Padding() == tflite.Padding.SAME)


def _constant(model: object, graph: object, index: int, step: Step) -> torch.Tensor:
    tensor = graph.Tensors(index)  # type: ignore[attr-defined]
    if tensor.Type() != _FLOAT32:
        raise CheckpointInvalid(f"tensor {tensor.Name().decode()} is not float32 (quantised models unsupported)")
    raw = model.Buffers(tensor.Buffer()).DataAsNumpy().tobytes()  # type: ignore[attr-defined]
    array = np.frombuffer(raw, dtype=np.float32).reshape(tensor.ShapeAsNumpy()).copy()
    if array.ndim == 4 and step.kind == "CONV_2D":
        array = array.transpose(0, 3, 1, 2)  # [out, h, w, in] -> [out, in, h, w]
    elif array.ndim == 4:
        array = array.transpose(3, 0, 1, 2)  # depthwise [1, h, w, C] -> [C, 1, h, w]
    elif array.ndim == 1 and step.kind in ("MUL", "ADD", "SUB"):
        array = array.reshape(1, -1, 1, 1)  # a per-channel constant, broadcast over NCHW
    return torch.from_numpy(np.ascontiguousarray(array))
