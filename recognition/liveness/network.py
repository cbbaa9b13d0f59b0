"""MiniFASNetV2 and MiniFASNetV1SE (Silent-Face-Anti-Spoofing, Apache-2.0) defined in PyTorch.

Both are MobileFaceNet-like stacks of inverted bottlenecks, pruned to per-layer widths (``V1_WIDTHS``
and ``V2_WIDTHS``: 49 channel counts in the order the layers use them); the SE variant adds a
squeeze-and-excitation gate to the last bottleneck of each residual stage. Module names follow the
published checkpoints so their state dicts load as they are (after dropping the ``module.`` prefix).
Input: (N, 3, 80, 80) BGR float 0..255; output: three class logits, class 1 = live.
"""

from __future__ import annotations

import torch
from torch import nn

V1_WIDTHS: tuple[int, ...] = (
    32, 32, 103, 103, 64, 13, 13, 64, 26, 26, 64, 13, 13, 64, 52, 52, 64, 231, 231, 128,
    154, 154, 128, 52, 52, 128, 26, 26, 128, 52, 52, 128, 26, 26, 128, 26, 26, 128, 308, 308,
    128, 26, 26, 128, 26, 26, 128, 512, 512,
)  # fmt: skip
V2_WIDTHS: tuple[int, ...] = (
    32, 32, 103, 103, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 13, 13, 64, 231, 231, 128,
    231, 231, 128, 52, 52, 128, 26, 26, 128, 77, 77, 128, 26, 26, 128, 26, 26, 128, 308, 308,
    128, 26, 26, 128, 26, 26, 128, 512, 512,
)  # fmt: skip

# Where each stage starts in the width table: (first index, bottlenecks) for the residual stages.
_STAGES = {"conv_3": (4, 4), "conv_4": (19, 6), "conv_5": (40, 2)}
_DOWNS = {"conv_23": 1, "conv_34": 16, "conv_45": 37}


class ConvUnit(nn.Module):
    """Convolution, batch norm and (unless linear) a per-channel PReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2 if kernel == 3 else 0, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.prelu: nn.Module = nn.PReLU(cout) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the unit."""
        return self.prelu(self.bn(self.conv(x)))  # type: ignore[no-any-return]


class SqueezeExcite(nn.Module):
    """Channel gate: global pooling, a 4x bottleneck with batch norm, sigmoid."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels // reduction)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale each channel by its gate."""
        gate = torch.relu(self.bn1(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(self.bn2(self.fc2(gate)))


class Bottleneck(nn.Module):
    """Expand (1x1), depthwise 3x3, project (1x1, linear); residual when the stride is 1."""

    def __init__(self, w: tuple[int, ...], at: int, stride: int, se: bool = False) -> None:
        super().__init__()
        cin, expand, depth, cout = w[at], w[at + 1], w[at + 2], w[at + 3]
        self.conv = ConvUnit(cin, expand)
        self.conv_dw = ConvUnit(expand, depth, 3, stride, groups=expand)
        self.project = ConvUnit(depth, cout, act=False)
        self.residual = stride == 1
        if se:
            self.se_module = SqueezeExcite(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the bottleneck."""
        out = self.project(self.conv_dw(self.conv(x)))
        if hasattr(self, "se_module"):
            out = self.se_module(out)
        return x + out if self.residual else out  # type: ignore[no-any-return]


class Stage(nn.Module):
    """Residual bottlenecks at one resolution (the last one gated when ``se``)."""

    def __init__(self, w: tuple[int, ...], first: int, count: int, se: bool) -> None:
        super().__init__()
        blocks = [Bottleneck(w, first + 3 * i, 1, se and i == count - 1) for i in range(count)]
        self.model = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the stage."""
        return self.model(x)  # type: ignore[no-any-return]


class MiniFASNet(nn.Module):
    """The whole network for one width table; ``se`` selects the V1SE variant."""

    def __init__(self, widths: tuple[int, ...], se: bool = False, classes: int = 3) -> None:
        super().__init__()
        w = widths
        self.conv1 = ConvUnit(3, w[0], 3, 2)
        self.conv2_dw = ConvUnit(w[0], w[1], 3, 1, groups=w[1])
        for name, at in _DOWNS.items():
            self.add_module(name, Bottleneck(w, at, 2))
        for name, (first, count) in _STAGES.items():
            self.add_module(name, Stage(w, first, count, se))
        self.conv_6_sep = ConvUnit(w[46], w[47])
        self.conv_6_dw = ConvUnit(w[47], w[48], 5, groups=w[48], act=False)  # 5x5 = the whole 80/16 map
        self.linear = nn.Linear(512, 128, bias=False)
        self.bn = nn.BatchNorm1d(128)
        self.prob = nn.Linear(128, classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, 3) for BGR crops (N, 3, 80, 80), float 0..255."""
        out = self.conv2_dw(self.conv1(x))
        for name in ("conv_23", "conv_3", "conv_34", "conv_4", "conv_45", "conv_5"):
            out = getattr(self, name)(out)
        out = self.conv_6_dw(self.conv_6_sep(out))
        return self.prob(self.bn(self.linear(out.flatten(1))))  # type: ignore[no-any-return]


def minifasnet_v2() -> MiniFASNet:
    """MiniFASNetV2 (the 2.7-scale model)."""
    return MiniFASNet(V2_WIDTHS)


def minifasnet_v1se() -> MiniFASNet:
    """MiniFASNetV1SE (the 4.0-scale model)."""
    return MiniFASNet(V1_WIDTHS, se=True)
