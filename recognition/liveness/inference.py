"""The MiniFASNet networks prepared once at load for per-frame inference: the same logits, less overhead.

Each network is ~55 tiny convolutions on maps of at most 40x40, so a forward pass costs per-operation
overhead (Python module calls, a separate batch-norm and its temporaries, the im2col path that torch
takes for a 1x1 convolution on one thread) far more than arithmetic. Measured on the benchmark's
2-core machine, one thread: 6.2-6.6 ms per network as defined, 2.9-3.0 ms prepared. Preparing:

1. every batch norm is folded into the convolution or linear layer before it (eval statistics, exact
   up to float rounding: live probabilities agree to ~1e-6);
2. weights and activations use channels-last memory, the layout the crop arrives in (HWC);
3. the folded network is traced for the 80x80 input and frozen (``torch.jit``), so the frame's
   forward pass runs without Python in between; a few warm-up passes at load let the executor
   specialise before the first real frame.

Nothing is cached across frames: each frame's crop goes through the whole network.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from recognition.liveness.card import CROP_SIZE
from recognition.liveness.network import ConvUnit, MiniFASNet, SqueezeExcite

Forward = Callable[[torch.Tensor], torch.Tensor]

# (layer, the batch norm right after it) in each module type that has such pairs.
_PAIRS: dict[type[nn.Module], tuple[tuple[str, str], ...]] = {
    ConvUnit: (("conv", "bn"),),
    SqueezeExcite: (("fc1", "bn1"), ("fc2", "bn2")),
    MiniFASNet: (("linear", "bn"),),
}
_WARM_UP = 3  # the profiling executor optimises the graph after its first runs


def fold_batch_norms(net: MiniFASNet) -> MiniFASNet:
    """A copy of ``net`` in eval mode with every batch norm folded into the layer before it."""
    folded = copy.deepcopy(net).eval()
    for module in list(folded.modules()):
        for layer_name, norm_name in _PAIRS.get(type(module), ()):
            layer, norm = getattr(module, layer_name), getattr(module, norm_name)
            if isinstance(layer, nn.Linear):
                setattr(module, layer_name, fuse_linear_bn_eval(layer, norm))
            else:
                setattr(module, layer_name, fuse_conv_bn_eval(layer, norm))
            setattr(module, norm_name, nn.Identity())
    return folded


def channels_last(batch: torch.Tensor) -> torch.Tensor:
    """``batch`` in channels-last memory (no copy when an HWC crop was permuted to NCHW)."""
    return batch.contiguous(memory_format=torch.channels_last)


def prepare(net: MiniFASNet, device: torch.device) -> Forward:
    """``net`` folded, channels-last, traced and frozen for (1, 3, 80, 80) inputs on ``device``."""
    folded = fold_batch_norms(net).to(device).to(memory_format=torch.channels_last)
    example = channels_last(torch.zeros(1, 3, CROP_SIZE, CROP_SIZE, device=device))
    with torch.no_grad(), warnings.catch_warnings():
        # torch.jit is deprecated for torch.compile, which needs a C++ toolchain and a long first call;
        # the pinned torch (<= 2.14) has it, and these are the only uses.
        warnings.simplefilter("ignore", FutureWarning)
        # check_trace would run the graph again to compare (1 s of start-up); the tests compare scores.
        traced = torch.jit.trace(folded, example, check_trace=False)  # type: ignore[no-untyped-call]
        frozen = torch.jit.freeze(traced)
        for _ in range(_WARM_UP):
            frozen(example)
    return frozen  # type: ignore[no-any-return]
