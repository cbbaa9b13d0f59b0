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
    live: Path | None,
    attacks: Path | None,
    threshold: float | None,
    min_face_size: int,
    device: str,
    as_json: bool,
    fps: float = 10.0,
    config: Path | None = None,
) -> None:
    """``lockers eval --liveness``: APCER per attack type, BPCER and ACER, with counts and 95% bounds."""
    from controller.app.config.loader import load_config
    from recognition.errors import EvaluationInputError
    from recognition.evaluation.clips import Cut
    from recognition.evaluation.liveness import evaluate
    from recognition.evaluation.transactions import AttemptRule

    if live is None or attacks is None:
        raise EvaluationInputError("--liveness needs --live DIR and --attacks DIR")
    loaded = load_config(config).site
    policy = loaded.liveness
    if threshold is not None:
        policy = policy.model_copy(update={"passive_threshold": threshold})
    window = loaded.recognition
    cut = Cut.of_window(window.frames_window, window.window_s, fps)
    judge, score = _judges(policy, min_face_size, device)
    limits = loaded.policy  # the compartment's alarm rule ends a person's transaction
    rule = AttemptRule(limits.max_presentation_attacks, limits.max_failed_verifications)
    report = evaluate(live, attacks, judge, policy, score, cut, rule)
    emit(report, as_json, lambda: _text(report))


def _judges(policy: Any, min_face_size: int, device: str) -> tuple[Any, Any]:
    """The attempt judge and the single-image scorer, on the service's pipeline and networks."""
    from recognition.evaluation.liveness import named_gates
    from recognition.liveness.monitor import LivenessMonitor
    from recognition.liveness.passive import load_passive
    from recognition.pipeline.face import build_pipeline
    from recognition.pipeline.quality import QualityConfig
    from recognition.types import Image

    # The size gate follows --min-face-size: the face the detector is asked for is the face judged.
    quality = QualityConfig(min_face_px=float(min_face_size))
    pipeline = build_pipeline("dlib-resnet", device=device, min_face_size=min_face_size, quality=quality)
    scorer = load_passive(device=device)
    monitor = LivenessMonitor(scorer, policy, window=0)

    def judge(images: list[Image]) -> Any:
        analyses = [pipeline.analyse(image) for image in images]
        if not any(a.samples for a in analyses):
            return None  # no face in any frame: a failed acquisition, not a liveness decision
        verdict = monitor.judge_frames(list(zip(images, analyses, strict=True)))
        return named_gates(verdict, [a.rejection for a in analyses if a.rejection])

    def score(image: Image) -> float | None:
        analysis = pipeline.analyse(image)
        return None if analysis.primary is None else scorer.score(image, analysis.primary.face)

    return judge, score


def _text(report: dict[str, Any]) -> str:
    lines = [f"attempts  {report['attempts']}"]
    lines += [f"APCER {kind:<10} {value:.4f}" for kind, value in report["apcer_by_type"].items()]
    lines.append(f"APCER (worst) {report['apcer']:.4f}  BPCER {report['bpcer']:.4f}  ACER {report['acer']:.4f}")
    lines.append(f"BPCER upper 95% {report['bpcer_upper_95']:.4f}; APCER upper 95% {report['apcer_upper_95_by_type']}")
    judged = report["judged"]
    lines.append(f"judged windows {judged['attempts']}: " + "; ".join(
        f"{name} error {judged[name]['error_rate']:.4f} (upper 95% {judged[name]['upper_95']:.4f}), "
        f"non-responses {judged[name]['non_responses']}" for name in judged["attempts"]))  # fmt: skip
    lines += [f"transactions {name:<10} {t}" for name, t in report["transactions"].items()]
    lines.append(f"passive threshold {report['threshold']}; reasons {report['reasons']}; cut {report['cut']}")
    return "\n".join(lines)
