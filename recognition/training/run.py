"""One fine-tuning job: data -> faces -> split -> base metrics -> epochs -> the best checkpoint and a report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from recognition.evaluation.metrics import TARGET_FARS
from recognition.models.embedder import TorchEmbedder, load_torch_embedder
from recognition.training import checkpoint
from recognition.training.augment import FaceAugment
from recognition.training.checkpoint import Progress
from recognition.training.config import TrainConfig
from recognition.training.data import load_dataset
from recognition.training.errors import ConfigInvalid, ResumeMismatch
from recognition.training.heads import build_head, imprint_from
from recognition.training.optim import build_optimizer, build_scheduler, freeze
from recognition.training.preprocess import FaceSet, default_cache_dir, prepare
from recognition.training.split import Split, split_identities
from recognition.training.trainer import Trainer, TrainingSet, deterministic, epoch_generator
from recognition.training.validation import Verification, embed_chips, verify
from recognition.types import ModelCard

RESUMABLE_CHANGES = frozenset({"epochs", "device", "patience", "data", "cache_dir"})
"""Settings a resumed run may change; any other difference would not continue the same run."""

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Session:
    """Everything fixed before the first epoch."""

    config: TrainConfig
    embedder: TorchEmbedder
    faces: FaceSet
    split: Split
    train: TrainingSet
    val_chips: npt.NDArray[np.uint8]
    val_names: tuple[str, ...]
    metric: str
    base_card: ModelCard
    base_metrics: Verification


def fine_tune(
    config: TrainConfig, resume: Path | None = None, progress: bool = True, log: Log = print
) -> dict[str, Any]:
    """Run (or continue) the job described by ``config``; returns the report (also written beside ``out``)."""
    _check_device(config.device)
    payload = checkpoint.load_epoch(resume) if resume is not None else None
    with deterministic(config.seed):
        session = open_session(config, payload)
        trainer, scheduler = _build_trainer(session)
        modules = {
            "network": session.embedder.network,
            "head": trainer.head,
            "optimizer": trainer.optimizer,
            "scheduler": scheduler,
            "scaler": trainer.scaler,
        }
        state = checkpoint.restore(payload, modules) if payload else _start_from_base(session)
        while state.epoch < config.epochs and not _patience_out(config, state):
            _run_epoch(session, trainer, scheduler, modules, state, progress)
            log(_epoch_line(state.history[-1]))
    return _finish(session, state)


def _start_from_base(session: Session) -> Progress:
    # The base is the score to beat and the checkpoint written until an epoch beats it, so the
    # result of a run is never worse than the model it started from on the unseen identities.
    card = finetuned_card(session, session.base_metrics, 0)
    checkpoint.export(session.config.out, session.embedder.network, session.embedder.arch, card)
    return Progress(best_score=_score(session.base_metrics), best_epoch=0)


def _score(metrics: Verification) -> tuple[float, ...]:
    return (metrics.primary, metrics.best_accuracy, metrics.auc)


def _check_device(device: str) -> None:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigInvalid(f"--device {device}: no CUDA device is available to torch {torch.__version__}")


def open_session(config: TrainConfig, payload: dict[str, Any] | None = None) -> Session:
    """Load the base, the faces and the split (the checkpoint's split when resuming); score the base."""
    embedder = _trainable(config)
    dataset = load_dataset(config.data, config.people, config.max_images_per_identity)
    faces = prepare(dataset, embedder.template, config.cache_dir or default_cache_dir(), config.device)
    split = split_identities(faces.names, config.validation_identities, config.seed)
    if payload is not None:
        _check_resume(payload["training"], config, faces, embedder.card)
    chips, names = faces.chips, np.asarray(faces.names)
    train_mask, val_mask = np.isin(names, split.train), np.isin(names, split.validation)
    val_names = tuple(str(n) for n in names[val_mask])
    metric = "cosine" if config.loss == "arcface" else embedder.card.metric
    base_embeddings = embed_chips(embedder, chips[val_mask])
    base_metrics = verify(base_embeddings, val_names, embedder.card.metric, config.seed, _fars(config))
    train = TrainingSet.build(chips[train_mask], [str(n) for n in names[train_mask]], split.train)
    return Session(
        config, embedder, faces, split, train, chips[val_mask], val_names, metric, embedder.card, base_metrics
    )


def _build_trainer(session: Session) -> tuple[Trainer, torch.optim.lr_scheduler.LRScheduler]:
    config, network = session.config, session.embedder.network
    freeze(network, session.embedder.arch, config.freeze)
    head = build_head(config.loss, session.base_card.embedding_size, len(session.split.train))
    train_embeddings = embed_chips(session.embedder, session.train.chips.numpy())
    imprint_from(head, torch.from_numpy(train_embeddings), session.train.labels)
    optimizer = build_optimizer(config, network, head)
    augment = FaceAugment() if config.augment else FaceAugment.none()
    trainer = Trainer(network, head, optimizer, session.embedder.device, augment)
    return trainer, build_scheduler(config, optimizer)


def _run_epoch(
    session: Session, trainer: Trainer, scheduler: Any, modules: dict[str, Any], state: Progress, progress: bool
) -> None:
    config, started = session.config, time.perf_counter()
    state.epoch += 1
    generator = epoch_generator(config.seed, state.epoch)
    backbone = state.epoch > config.warmup_epochs
    stats = trainer.train_epoch(session.train, config.batch_size, generator, progress, backbone)
    scheduler.step()
    metrics = _validate(session)
    state.history.append(
        {
            "epoch": state.epoch,
            "loss": stats.loss,
            "lr": stats.lr,
            "train_accuracy": stats.accuracy,
            "backbone": backbone,
            "images": stats.images,
            "validation": metrics.as_dict(),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    card = finetuned_card(session, metrics, state.epoch)
    score = _score(metrics)
    if not state.best_score or score > state.best_score:
        state.best_score, state.best_epoch = score, state.epoch
        checkpoint.export(config.out, session.embedder.network, session.embedder.arch, card)
    checkpoint.save_epoch(
        config.checkpoint_dir(), session.embedder.arch, card, modules, _training(session, state), state
    )


def _trainable(config: TrainConfig) -> TorchEmbedder:
    base = str(config.base)
    if "+" in base and not Path(base).is_file():
        raise ConfigInvalid(
            f"base {base!r} is a fusion: fine-tune its PyTorch parts one at a time (e.g. --base mobilefacenet) and "
            "fuse the result by naming the checkpoint in the model, e.g. model = 'fr-feature+/path/tuned.pt'"
        )
    if base == "fr-feature":
        raise ConfigInvalid("fr-feature runs in ONNX Runtime and cannot be fine-tuned here; use --base mobilefacenet")
    return load_torch_embedder(base, device=config.device)


def _validate(session: Session) -> Verification:
    embeddings = embed_chips(session.embedder, session.val_chips)
    return verify(embeddings, session.val_names, session.metric, session.config.seed, _fars(session.config))


def _fars(config: TrainConfig) -> tuple[float, ...]:
    return tuple(sorted({*TARGET_FARS, config.target_far}, reverse=True))


def _patience_out(config: TrainConfig, state: Progress) -> bool:
    return config.patience is not None and state.epoch > 0 and state.epochs_since_best() >= config.patience


def finetuned_card(session: Session, metrics: Verification, epoch: int) -> ModelCard:
    """The card of the fine-tuned model: provenance in ``notes`` (compact JSON), a calibrated threshold."""
    base, config = session.base_card, session.config
    threshold = metrics.threshold_at_far[f"{config.target_far:g}"]
    metric = session.metric if epoch else base.metric  # epoch 0 is the base itself, scored in its own metric
    notes = {
        "base": base.model_version,
        "data_sha256": session.faces.fingerprint,
        "split_sha256": session.split.digest(),
        "seed": config.seed,
        "train_ids": len(session.split.train),
        "val_ids": len(session.split.validation),
        "loss": config.loss,
        "epoch": epoch,
        "val_tar_at_far": metrics.tar_at_far,
        "threshold_far": config.target_far,
    }
    return ModelCard(
        name=f"{base.name}-ft",
        version=f"ft-{session.split.digest()[:8]}-e{epoch}",
        input_size=base.input_size,
        embedding_size=base.embedding_size,
        metric=metric,
        default_threshold=float(threshold),
        weights_sha256="",
        notes=json.dumps(notes, sort_keys=True),
    )


def _training(session: Session, state: Progress) -> dict[str, Any]:
    return {
        "config": session.config.as_dict(),
        "data_sha256": session.faces.fingerprint,
        "base": session.base_card.model_version,
        "split": session.split.as_dict(),
        "history": state.history,
    }


def _check_resume(training: dict[str, Any], config: TrainConfig, faces: FaceSet, base: ModelCard) -> None:
    saved, now = training["config"], config.as_dict()
    changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k])
    if changed:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in changed)
        raise ResumeMismatch(f"the checkpoint belongs to another run ({detail})")
    if training["data_sha256"] != faces.fingerprint:
        raise ResumeMismatch("the checkpoint was trained on other data (fingerprints differ)")
    if training["base"] != base.model_version:
        raise ResumeMismatch(f"the checkpoint was fine-tuned from {training['base']}, not {base.model_version}")


def _finish(session: Session, state: Progress) -> dict[str, Any]:
    if state.best_epoch == 0:
        best = {"validation": session.base_metrics.as_dict()}
        outcome = "no epoch beat the base on the validation identities: the written checkpoint is the base model"
    else:
        best = next(h for h in state.history if h["epoch"] == state.best_epoch)
        outcome = f"epoch {state.best_epoch} beat the base on the validation identities and was written"
    report = {
        "data": {
            "root": str(session.config.data),
            "sha256": session.faces.fingerprint,
            "faces": len(session.faces.names),
            "skipped": session.faces.skip_summary(),
            "skipped_files": [list(s) for s in session.faces.skipped],
        },
        "split": {**session.split.as_dict(), "sha256": session.split.digest()},
        "config": session.config.as_dict(),
        "base": {
            "model": session.base_card.model_version,
            "metric": session.base_card.metric,
            **session.base_metrics.as_dict(),
        },
        "finetuned": {
            "checkpoint": str(session.config.out),
            "epoch": state.best_epoch,
            "metric": session.metric if state.best_epoch else session.base_card.metric,
            "outcome": outcome,
            **best["validation"],
        },
        "epochs": state.history,
    }
    checkpoint.write_report(session.config.out, report)
    return report


def _epoch_line(entry: dict[str, Any]) -> str:
    val = entry["validation"]
    return (
        f"epoch {entry['epoch']:3d}  loss {entry['loss']:.4f}  lr {entry['lr']:.2e}  "
        f"train acc {entry['train_accuracy']:.3f}  val TAR@1e-2 {val['tar_at_far']['0.01']:.3f}  "
        f"TAR@1e-3 {val['tar_at_far']['0.001']:.3f}  best acc {val['best_accuracy']:.3f}  {entry['seconds']}s"
    )
