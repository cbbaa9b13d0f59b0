"""The settings of one fine-tuning run (everything a checkpoint needs to resume it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recognition.training.errors import ConfigInvalid

OPTIMIZERS = ("sgd", "adam")
SCHEDULERS = ("none", "step", "cosine")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """Fine-tuning options; defaults suit a small dataset on a pretrained base."""

    data: Path
    base: str
    out: Path
    people: Path | None = None
    loss: str = "arcface"
    optimizer: str = "sgd"
    lr: float = 1e-3
    head_lr_factor: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    scheduler: str = "cosine"
    step_size: int = 5
    gamma: float = 0.1
    t_max: int | None = None
    eta_min: float = 0.0
    epochs: int = 10
    warmup_epochs: int = 0
    batch_size: int = 32
    freeze: tuple[str, ...] = ()
    augment: bool = True
    validation_identities: int | None = None
    max_images_per_identity: int | None = None
    patience: int | None = None
    target_far: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        _check_choice("loss", self.loss, ("ce", "arcface"))
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_positive(epochs=self.epochs, batch_size=self.batch_size, step_size=self.step_size)
        if self.lr <= 0 or not 0 < self.target_far < 1:
            raise ConfigInvalid("lr must be > 0 and target FAR in (0, 1)")
        if self.device not in ("cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ConfigInvalid(f"device must be cpu or cuda[:N], got {self.device!r}")

    def checkpoint_dir(self) -> Path:
        """Where the per-epoch checkpoints go: ``<out stem>.epochs/`` beside ``out``."""
        return self.out.with_name(self.out.stem + ".epochs")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (paths as strings)."""
        return {
            k: str(v) if isinstance(v, Path) else (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(self).items()
        }


def config_from_dict(values: dict[str, Any], **overrides: Any) -> TrainConfig:
    """Inverse of ``TrainConfig.as_dict``, with ``overrides`` applied (for resumed runs)."""
    merged = {**values, **overrides}
    for key in ("data", "out", "people", "cache_dir"):
        if merged.get(key) is not None:
            merged[key] = Path(merged[key])
    merged["freeze"] = tuple(merged.get("freeze", ()))
    return TrainConfig(**merged)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigInvalid(f"--{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigInvalid(f"--{name.replace('_', '-')} must be at least 1, got {value}")
