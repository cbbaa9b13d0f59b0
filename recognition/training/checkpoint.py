"""Checkpoints: the fine-tuned model in ``recognition.models.embedder``'s format, plus the state to resume from.

* ``--out`` is written by ``recognition.models.embedder.save_checkpoint`` (keys ``card``, ``arch``,
  ``state_dict``): it loads wherever recognition takes a model (``load_embedder(path)``).
  A sidecar ``<out>.json`` holds the run's full report.
* Every epoch writes ``<out stem>.epochs/epoch-NNN.pt`` (the previous one is removed): the same three
  keys, so it loads the same way, plus ``training`` (settings, data fingerprint, split, history) and
  ``resume`` (head, optimiser, scheduler, AMP scaler, early-stopping state) for ``--resume``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from recognition.models.embedder import save_checkpoint
from recognition.training.errors import ResumeMismatch
from recognition.types import ModelCard


@dataclass(slots=True)
class Progress:
    """Where a run stands: the last finished epoch, the history, and the best epoch so far."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: tuple[float, ...] = ()
    best_epoch: int = 0

    def epochs_since_best(self) -> int:
        """Finished epochs after the best one."""
        return self.epoch - self.best_epoch


def epoch_path(folder: Path, epoch: int) -> Path:
    """The checkpoint file of ``epoch``."""
    return folder / f"epoch-{epoch:03d}.pt"


def save_epoch(
    folder: Path, arch: str, card: ModelCard, modules: dict[str, Any], training: dict[str, Any], progress: Progress
) -> Path:
    """Write this epoch's checkpoint atomically and drop the previous one."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: _state(module) for name, module in modules.items() if name != "network"}
    state["progress"] = asdict(progress)
    payload = {
        "card": asdict(card),
        "arch": arch,
        "state_dict": _state(modules["network"]),
        "training": training,
        "resume": state,
    }
    path = epoch_path(folder, progress.epoch)
    partial = path.with_suffix(".part")
    torch.save(payload, partial)
    partial.replace(path)
    previous = epoch_path(folder, progress.epoch - 1)
    previous.unlink(missing_ok=True)
    return path


def load_epoch(path: Path) -> dict[str, Any]:
    """Read a per-epoch checkpoint for resuming (tensors on the CPU)."""
    if not path.is_file():
        raise ResumeMismatch(f"checkpoint to resume from not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file (pickle, zip, runtime errors)
        raise ResumeMismatch(f"{path}: not a readable torch checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or not {"training", "resume", "state_dict"} <= payload.keys():
        raise ResumeMismatch(f"{path}: holds no training state; resume from a file in <out>.epochs/")
    return payload


def restore(payload: dict[str, Any], modules: dict[str, Any]) -> Progress:
    """Load the saved states into ``modules`` (network, head, optimizer, scheduler, scaler)."""
    modules["network"].load_state_dict(payload["state_dict"])
    for name, module in modules.items():
        if name != "network":
            module.load_state_dict(payload["resume"][name])
    saved = payload["resume"]["progress"]
    return Progress(saved["epoch"], list(saved["history"]), tuple(saved["best_score"]), saved["best_epoch"])


def export(path: Path, network: nn.Module, arch: str, card: ModelCard) -> None:
    """Write the fine-tuned model in recognition's checkpoint format (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    save_checkpoint(partial, network, arch, card)
    partial.replace(path)


def write_report(out: Path, report: dict[str, Any]) -> Path:
    """Write the run's JSON report beside the fine-tuned checkpoint."""
    path = out.with_name(out.name + ".json")
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def _state(module: Any) -> dict[str, Any]:
    state = module.state_dict()
    return {k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in state.items()}
