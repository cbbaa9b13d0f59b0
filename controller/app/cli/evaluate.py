"""``lockers eval``: verification and identification accuracy on LFW pairs or identity folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from controller.app.cli.options import DeviceOption, JsonFlag, MinFace, ModelOption, clean_errors, emit
from recognition.errors import EvaluationInputError
from recognition.pipeline.agreement import DEFAULT_MODEL


@clean_errors
def evaluate(
    pairs: Annotated[Path | None, typer.Option("--pairs", help="LFW pairs file (with --images).")] = None,
    images: Annotated[Path | None, typer.Option("--images", help="Folder of <name>/<name>_NNNN.jpg.")] = None,
    folder: Annotated[Path | None, typer.Option("--folder", help="One sub-folder per identity.")] = None,
    people: Annotated[Path | None, typer.Option("--people", help="Keep the identities this file lists.")] = None,
    model: ModelOption = DEFAULT_MODEL,
    threshold: Annotated[
        float | None, typer.Option(help="Threshold for 'accuracy', 'tar', 'far' (default: the service's).")
    ] = None,
    mismatched: Annotated[int | None, typer.Option(help="Impostor pairs to sample (folder mode).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the impostor sampling.")] = 0,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the ROC curve to this PNG.")] = None,
    as_json: JsonFlag = False,
    min_face_size: MinFace = 40,
    device: DeviceOption = "cpu",
    liveness: Annotated[bool, typer.Option("--liveness", help="Evaluate liveness (--live, --attacks).")] = False,
    live: Annotated[Path | None, typer.Option("--live", help="One folder of frames per genuine attempt.")] = None,
    attacks: Annotated[Path | None, typer.Option("--attacks", help="<type>/<attempt>/frames.")] = None,
    fps: Annotated[float, typer.Option("--fps", min=0.1, help="Liveness: pace clips are sampled at.")] = 10.0,
    config: Annotated[Path | None, typer.Option("--config", help="Liveness: config with the window.")] = None,
) -> None:
    """Accuracy, calibrated thresholds (at FAR 0.01 and 0.001), AUC, EER and, for folders, rank-1.

    Without --threshold this is the service's default decision for the model (``RecognitionSettings``).
    JSON keys: pairs, accuracy, tar and far (at threshold), threshold, threshold_source, best_threshold, best_accuracy,
    threshold_at_far, tar_at_far, auc, eer, no_face, unreadable; folders add identities, images, rank1.
    With ``--liveness``: attempts, apcer_by_type, apcer, bpcer, acer, threshold (the passive one), bpcer_upper_95,
    apcer_upper_95_by_type, bound, no_face, clips, images, cut (``--live``/``--attacks`` folders may hold attempt
    folders, video files cut into attempts at ``--fps`` by ``[recognition]`` frames_window/window_s, and images).
    """
    if liveness:
        from controller.app.cli.liveness import evaluate_liveness

        return evaluate_liveness(live, attacks, threshold, min_face_size, device, as_json, fps, config)
    from recognition.evaluation.datasets import face_embedder
    from recognition.evaluation.runs import evaluate_folder, evaluate_pairs, plot_roc
    from recognition.models.embedder import load_embedder
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
    from recognition.settings import RecognitionSettings

    _check_mode(pairs, images, folder, people)
    embedder = load_embedder(model, device=device)
    embed = face_embedder(MtcnnDetector(DetectorConfig(min_face_size=min_face_size, device=device)), embedder)
    used = RecognitionSettings(model=model, threshold=threshold).agreement(embedder.card).threshold
    if pairs is not None and images is not None:
        report, points = evaluate_pairs(pairs, images, embed, used, _progress)
    else:
        assert folder is not None
        report, points = evaluate_folder(
            folder, embed, used, people=people, mismatched=mismatched, seed=seed, progress=_progress
        )
    report["model"] = embedder.card.model_version
    report["threshold_source"] = "service default" if threshold is None else "--threshold"
    if plot is not None:
        plot_roc(points, report, plot)
    emit(report, as_json, lambda: _text(report))


def _check_mode(pairs: Path | None, images: Path | None, folder: Path | None, people: Path | None) -> None:
    if (pairs is None) != (images is None):
        raise EvaluationInputError("--pairs and --images go together")
    if (pairs is None) == (folder is None):
        raise EvaluationInputError("give either --pairs FILE --images DIR or --folder DIR")
    if people is not None and folder is None:
        raise EvaluationInputError("--people applies to --folder")


def _progress(paths: list[Path]) -> Iterable[Path]:
    from tqdm import tqdm  # type: ignore[import-untyped]

    bar: Iterable[Path] = tqdm(paths, desc="embedding", unit="img", disable=None, leave=False)
    return bar


def _text(report: dict[str, Any]) -> str:
    lines = [
        f"model            {report['model']}",
        f"pairs            {report['pairs']} ({report['genuine_pairs']} genuine, {report['impostor_pairs']} impostor)",
        f"accuracy         {report['accuracy']:.4f} at threshold {report['threshold']:.4f}",
        f"threshold from   {report['threshold_source']}",
        f"TAR / FAR        {report['tar']:.4f} / {report['far']:.5f} at that threshold",
        f"best accuracy    {report['best_accuracy']:.4f} at threshold {report['best_threshold']:.4f}",
        f"AUC / EER        {report['auc']:.4f} / {report['eer']:.4f}",
    ]
    for far, value in report["threshold_at_far"].items():
        lines.append(f"FAR {far:<6}       threshold {value:.4f}, TAR {report['tar_at_far'][far]:.4f}")
    if "rank1" in report and report["rank1"] is not None:
        lines.append(f"rank-1           {report['rank1']:.4f} over {report['rank1_images']} images")
    lines.append(f"no face          {report['no_face']['images']} images, {report['no_face']['pairs']} pairs")
    return "\n".join(lines)
