"""``lockers train``: fine-tune an embedder on a folder-per-identity dataset (torch is imported lazily)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from controller.app.cli import exits
from controller.domain.errors import LockerError

Opt = typer.Option


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to the root app."""
    app.command("train")(train)


def train(
    data: Annotated[Path, Opt(help="Folder with one sub-folder of images per identity.")],
    base: Annotated[str, Opt(help="Base model: dlib-resnet, facenet-vggface2, facenet-casia or a checkpoint.")],
    out: Annotated[Path, Opt(help="Fine-tuned checkpoint to write (the best epoch); a .json report beside it.")],
    people: Annotated[Path | None, Opt(help="Only the identities listed in this file (LFW people format).")] = None,
    loss: Annotated[str, Opt(help="ce (softmax + CrossEntropyLoss) or arcface (angular margin).")] = "arcface",
    optimizer: Annotated[str, Opt(help="sgd (momentum 0.9) or adam.")] = "sgd",
    lr: Annotated[float, Opt(help="Learning rate of the network (the new head learns 10x faster).")] = 1e-3,
    scheduler: Annotated[str, Opt(help="step (StepLR), cosine (CosineAnnealingLR) or none.")] = "cosine",
    step_size: Annotated[int, Opt(help="StepLR: epochs between decays.")] = 5,
    gamma: Annotated[float, Opt(help="StepLR: decay factor.")] = 0.1,
    t_max: Annotated[int | None, Opt(help="Cosine: half-period in epochs (default: --epochs).")] = None,
    eta_min: Annotated[float, Opt(help="Cosine: final learning rate.")] = 0.0,
    epochs: Annotated[int, Opt(help="Epochs in total (a resumed run continues up to this).")] = 10,
    warmup_epochs: Annotated[int, Opt(help="First epochs train the (imprinted) head alone, backbone fixed.")] = 0,
    batch_size: Annotated[int, Opt(help="Images per batch.")] = 32,
    freeze: Annotated[
        list[str] | None, Opt(help="Freeze parameters by name prefix, or 'backbone'; repeatable.")
    ] = None,
    augment: Annotated[bool, Opt(help="Face augmentations (mirror, small jitter, photometric, grey).")] = True,
    val_identities: Annotated[int | None, Opt(help="Validation identities (default: a quarter).")] = None,
    max_per_identity: Annotated[int | None, Opt(help="Use at most N images per identity.")] = None,
    patience: Annotated[int | None, Opt(help="Stop after N epochs without a better validation TAR@FAR=1e-2.")] = None,
    target_far: Annotated[float, Opt(help="FAR at which the card's threshold is calibrated.")] = 1e-3,
    seed: Annotated[int, Opt(help="Seed of the split, the head, the batches and the augmentations.")] = 0,
    device: Annotated[str, Opt(help="cpu or cuda (AMP on CUDA).")] = "cpu",
    cache_dir: Annotated[Path | None, Opt(help="Cache of aligned faces (default ~/.cache/lockers/chips).")] = None,
    resume: Annotated[Path | None, Opt(help="Continue from a checkpoint in <out>.epochs/.")] = None,
    as_json: Annotated[
        bool, Opt("--json", help="Print the report as JSON (ends with base, finetuned, epochs).")
    ] = False,
) -> None:
    """Fine-tune an embedder; report verification on identities never seen in training, base vs fine-tuned."""
    options = dict(locals())
    try:
        report = _run(options)
    except LockerError as exc:
        exits.fail(exc)
    typer.echo(json.dumps(report, indent=2) if as_json else render(report))


def _run(options: dict[str, Any]) -> dict[str, Any]:
    from recognition.training.config import TrainConfig
    from recognition.training.run import fine_tune

    resume, _ = options.pop("resume"), options.pop("as_json")
    options["freeze"] = tuple(options["freeze"] or ())
    renames = {"val_identities": "validation_identities", "max_per_identity": "max_images_per_identity"}
    config = TrainConfig(**{renames.get(k, k): v for k, v in options.items()})
    return fine_tune(config, resume=resume, log=lambda line: typer.echo(line, err=True))


def render(report: dict[str, Any]) -> str:
    """A readable table: base vs fine-tuned on the validation identities."""
    split, base, tuned = report["split"], report["base"], report["finetuned"]
    head = f"{'':28}{'TAR@1e-2':>10}{'TAR@1e-3':>10}{'best acc':>10}{'AUC':>8}{'EER':>8}"
    lines = [
        f"data {report['data']['faces']} faces, skipped {report['data']['skipped'] or 'none'}; "
        f"{len(split['train'])} training / {len(split['validation'])} validation identities (seed {split['seed']})",
        f"validation pairs: {base['genuine_pairs']} genuine, {base['impostor_pairs']} impostor",
        head,
        _row(f"base {base['model'][:23]}", base),
        _row(f"fine-tuned (epoch {tuned['epoch']})", tuned),
        f"checkpoint: {tuned['checkpoint']} ({tuned.get('outcome', '')})",
    ]
    return "\n".join(lines)


def _row(label: str, metrics: dict[str, Any]) -> str:
    tar = metrics["tar_at_far"]
    return (
        f"{label:28}{tar['0.01']:>10.4f}{tar['0.001']:>10.4f}{metrics['best_accuracy']:>10.4f}"
        f"{metrics['auc']:>8.4f}{metrics['eer']:>8.4f}"
    )
