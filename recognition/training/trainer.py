"""The training loop: one epoch of mini-batch SGD/Adam over the training identities, with AMP on CUDA."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from recognition.training.augment import FaceAugment
from recognition.training.optim import set_train_mode
from recognition.training.progress import bar


@dataclass(frozen=True, slots=True)
class EpochStats:
    """What one training epoch measured (the learning rate is the one it trained with)."""

    loss: float
    accuracy: float
    lr: float
    images: int


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Aligned chips (N, S, S, 3) uint8 on the CPU and their class indices over the training identities."""

    chips: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def build(cls, chips: npt.NDArray[np.uint8], names: list[str], classes: tuple[str, ...]) -> TrainingSet:
        """Index ``names`` by their position in ``classes``."""
        index = {name: i for i, name in enumerate(classes)}
        labels = torch.tensor([index[n] for n in names], dtype=torch.long)
        return cls(torch.from_numpy(np.ascontiguousarray(chips)), labels)


class Trainer:
    """Runs epochs of a network + head with a loss, optimiser and (on CUDA) a gradient scaler."""

    def __init__(
        self,
        network: nn.Module,
        head: nn.Module,
        optimizer: torch.optim.Optimizer,
        device: torch.device,
        augment: FaceAugment,
    ) -> None:
        self.network, self.head, self.optimizer = network, head.to(device), optimizer
        self.device, self.augment = device, augment
        self.amp = device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.criterion = nn.CrossEntropyLoss()
        self.backbone = True

    def train_epoch(
        self, data: TrainingSet, batch_size: int, generator: torch.Generator, progress: bool, backbone: bool = True
    ) -> EpochStats:
        """One pass over ``data`` in the order ``generator`` draws; ``backbone=False`` trains the head alone."""
        self.backbone = backbone
        if backbone:
            set_train_mode(self.network)
        else:
            self.network.eval()
        self.head.train()
        lr = float(self.optimizer.param_groups[0]["lr"])
        total_loss, correct, seen = 0.0, 0, 0
        batches = list(_batches(len(data.labels), batch_size, generator))
        for index in bar(batches, f"train lr={lr:.2e}", "batch", progress):
            loss, hits = self._step(data.chips[index], data.labels[index], generator)
            total_loss, correct, seen = total_loss + loss * len(index), correct + hits, seen + len(index)
        return EpochStats(total_loss / max(seen, 1), correct / max(seen, 1), lr, seen)

    def _step(self, chips: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> tuple[float, int]:
        batch = chips.to(self.device, non_blocking=True).permute(0, 3, 1, 2).float()
        batch = self.augment(batch, generator)
        labels = labels.to(self.device, non_blocking=True)
        with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.amp):
            with torch.set_grad_enabled(self.backbone):
                embeddings = self.network(batch)
            loss = self.criterion(self.head(embeddings, labels).float(), labels)
            with torch.no_grad():  # inside autocast: under AMP the embeddings are float16
                predicted = self.head(embeddings.detach()).argmax(dim=1)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return float(loss.detach()), int((predicted == labels).sum())


def _batches(count: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled index batches; a last batch of one is dropped (batch norm cannot train on a single image)."""
    order = torch.randperm(count, generator=generator)
    for start in range(0, count, batch_size):
        index = order[start : start + batch_size]
        if len(index) > 1:
            yield index


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of one epoch: a function of (seed, epoch) only, so a resumed run draws the same batches."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


@contextlib.contextmanager
def deterministic(seed: int) -> Iterator[None]:
    """Seed torch and NumPy and ask for deterministic kernels for the duration of the run."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for reproducible GEMMs
    previous = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.backends.cudnn.benchmark = previous[1]
