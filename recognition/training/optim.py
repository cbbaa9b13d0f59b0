"""Layer freezing, the optimiser (SGD or Adam) and the learning-rate schedule (StepLR or cosine)."""

from __future__ import annotations

from torch import nn, optim

from recognition.training.config import TrainConfig
from recognition.training.errors import ConfigInvalid

EMBEDDING_LAYERS = {"dlib-resnet": ("fc.",), "facenet": ("inception.last_linear.", "inception.last_bn.")}
"""The final projection of each architecture: what ``--freeze backbone`` leaves trainable."""


def freeze(network: nn.Module, arch: str, specs: tuple[str, ...]) -> list[str]:
    """Stop gradients for parameters named by ``specs`` (name prefixes, or ``backbone``); returns their names."""
    names = [name for name, _ in network.named_parameters()]
    frozen: set[str] = set()
    for spec in specs:
        matched = _matching(names, arch, spec)
        if not matched:
            roots = sorted({n.split(".")[0] for n in names})
            raise ConfigInvalid(f"--freeze {spec!r} matches no parameter; top-level names: {', '.join(roots)}")
        frozen.update(matched)
    for name, parameter in network.named_parameters():
        parameter.requires_grad_(name not in frozen)
    if len(frozen) == len(names):
        raise ConfigInvalid("--freeze leaves no trainable parameter in the network")
    return sorted(frozen)


def _matching(names: list[str], arch: str, spec: str) -> list[str]:
    if spec == "backbone":
        return [n for n in names if not n.startswith(EMBEDDING_LAYERS[arch])]
    return [n for n in names if n == spec or n.startswith(spec.rstrip(".") + ".")]


def set_train_mode(network: nn.Module) -> None:
    """Training mode, except normalisation layers whose parameters are frozen keep their running statistics."""
    network.train()
    for module in network.modules():
        params = list(module.parameters(recurse=False))
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and params and not any(p.requires_grad for p in params):
            module.eval()


def build_optimizer(config: TrainConfig, network: nn.Module, head: nn.Module) -> optim.Optimizer:
    """SGD (with momentum) or Adam; the freshly initialised head learns ``head_lr_factor`` times faster."""
    groups = [
        {"params": [p for p in network.parameters() if p.requires_grad], "lr": config.lr},
        {"params": list(head.parameters()), "lr": config.lr * config.head_lr_factor},
    ]
    if config.optimizer == "sgd":
        return optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(config: TrainConfig, optimizer: optim.Optimizer) -> optim.lr_scheduler.LRScheduler:
    """StepLR, CosineAnnealingLR (``t_max`` defaults to the number of epochs) or a constant rate; stepped per epoch."""
    if config.scheduler == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size, gamma=config.gamma)
    if config.scheduler == "cosine":
        t_max = config.t_max or config.epochs
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=config.eta_min)
    return optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
