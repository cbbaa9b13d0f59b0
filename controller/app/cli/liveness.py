"""``lockers attacks make`` and the liveness mode of ``lockers eval`` (torch is imported inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from controller.app.cli.options import JsonFlag, clean_errors, emit


def register(app: typer.Typer) -> None:
    """Add the ``attacks`` group to the root app."""
    attacks = typer.Typer(no_args_is_help=True, help="Synthetic presentation attacks for liveness evaluation.")
    attacks.command("make")(make)
    app.add_typer(attacks, name="attacks")


@clean_errors
def make(
    source: Annotated[Path, typer.Option("--from", help="Photographs: one sub-folder per person, or one person.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write live/ and attacks/<type>/.")],
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same frames.")] = 0,
    frames: Annotated[int, typer.Option(help="Frames per attempt.")] = 4,
    limit: Annotated[int | None, typer.Option(help="At most this many people.")] = None,
    per_person: Annotated[int, typer.Option(help="Genuine attempts, and attempts per attack type, per person.")] = 2,
    as_json: JsonFlag = False,
) -> None:
    """Write genuine attempts (distinct photographs) and replay, reencoded, printed and screen attacks."""
    from recognition.evaluation.attack_set import make_attack_set

    report = make_attack_set(source, out, seed, frames, limit, per_person).as_dict()
    emit(report, as_json, lambda: f"{report['people']} people: {report['live']} live attempts, "
         f"attacks {report['attacks']} under {out}")  # fmt: skip


def evaluate_liveness(
    live: Path | None, attacks: Path | None, threshold: float | None, min_face_size: int, device: str, as_json: bool
) -> None:
    """``lockers eval --liveness``: APCER per attack type, BPCER and ACER of the attempt decision."""
    from recognition.errors import EvaluationInputError
    from recognition.evaluation.liveness import evaluate
    from recognition.liveness.monitor import LivenessMonitor
    from recognition.liveness.passive import load_passive
    from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict
    from recognition.pipeline.face import build_pipeline
    from recognition.pipeline.images import load_image
    from recognition.pipeline.quality import QualityConfig

    if live is None or attacks is None:
        raise EvaluationInputError("--liveness needs --live DIR and --attacks DIR")
    policy = LivenessPolicy() if threshold is None else LivenessPolicy(passive_threshold=threshold)
    # The size gate follows --min-face-size: the face the detector is asked for is the face judged.
    quality = QualityConfig(min_face_px=float(min_face_size))
    pipeline = build_pipeline("dlib-resnet", device=device, min_face_size=min_face_size, quality=quality)
    monitor = LivenessMonitor(load_passive(device=device), policy, window=0)

    def judge(paths: list[Path]) -> LivenessVerdict:
        images = [load_image(path) for path in paths]
        return monitor.judge_frames([(image, pipeline.analyse(image)) for image in images])

    report = evaluate(live, attacks, judge, policy)
    emit(report, as_json, lambda: _text(report))


def _text(report: dict[str, Any]) -> str:
    lines = [f"attempts  {report['attempts']}"]
    lines += [f"APCER {kind:<10} {value:.4f}" for kind, value in report["apcer_by_type"].items()]
    lines.append(f"APCER (worst) {report['apcer']:.4f}  BPCER {report['bpcer']:.4f}  ACER {report['acer']:.4f}")
    lines.append(f"passive threshold {report['threshold']}; reasons {report['reasons']}")
    return "\n".join(lines)
