"""Presentation-attack detection measured in ISO/IEC 30107-3 terms over attempts, clips and images.

APCER (per attack type, "PAI species"): share of attack attempts accepted as live. BPCER: share of
genuine attempts refused. The overall APCER is the worst type's, and ACER = (APCER + BPCER) / 2.
An attempt folder with no usable face is refused (counted under the reason ``too_few_frames``). A refusal
for too few usable frames names the quality gates that refused the others (``too_few_frames:not_frontal``,
``named_gates``); when every such frame had no face or more than one (``ACQUISITION``), the attempt is a
failed acquisition, counted apart (``not_acquired``) and left out of the rates, as ISO/IEC 30107-3 reports
failures to acquire: "one person at a time" is the right answer there, not a refusal of the person.

A source folder (``live`` or one attack type) may hold attempt sub-folders of frames, video files
(each cut into attempts by ``clips.Cut``; an attempt in which no frame shows a face is reported as
``no_face`` and left out of the rates, as a failed acquisition) and single images (scored by the
per-frame passive cue only and reported apart, under ``images``). Every rate carries its count and
the upper end of its 95% Clopper-Pearson interval.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from recognition.errors import EvaluationInputError
from recognition.evaluation.clips import VIDEO_SUFFIXES, Cut, attempts_of, read_clip, upper_95
from recognition.evaluation.datasets import IMAGE_SUFFIXES
from recognition.evaluation.transactions import ACCEPTED, AttemptRule, is_non_response, summary
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict
from recognition.pipeline.images import load_image
from recognition.pipeline.quality import SELECTION_CODES
from recognition.types import Image

ACQUISITION = frozenset(SELECTION_CODES)
"""Gate codes that say the camera did not get one face to judge (no face, several, outside the region)."""
TOO_FEW = "too_few_frames"
JudgeAttempt = Callable[[list[Image]], LivenessVerdict | None]
"""The verdict of one attempt's frames; None when no frame shows a face."""
ScoreImage = Callable[[Image], float | None]
"""The passive live score of one image's face; None when it shows none."""


@dataclass(slots=True)
class Tally:
    """Verdicts of one source (live, or one attack type): attempts, per clip, and single images."""

    verdicts: list[LivenessVerdict] = field(default_factory=list)
    clips: dict[str, dict[str, object]] = field(default_factory=dict)
    no_face: int = 0
    not_acquired: int = 0
    images: list[float | None] = field(default_factory=list)
    outcomes: list[list[str]] = field(default_factory=list)
    """Each clip's window outcomes in order (``live``, a refusal reason, ``no_face``): its transactions."""


def collect(root: Path, judge: JudgeAttempt, score: ScoreImage, cut: Cut) -> Tally:
    """Judge every attempt folder, clip and image directly under ``root``."""
    if not root.is_dir():
        raise EvaluationInputError(f"{root}: not a folder")
    tally = Tally()
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            frames = sorted(p for p in entry.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not frames:
                raise EvaluationInputError(f"{entry}: an attempt folder with no image")
            verdict = judge([load_image(p) for p in frames])
            _count(verdict or _no_usable_face(), tally)
        elif entry.suffix.lower() in VIDEO_SUFFIXES:
            _clip(entry, judge, cut, tally)
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            tally.images.append(score(load_image(entry)))
    if not tally.verdicts and not tally.images and not tally.no_face and not tally.not_acquired:
        raise EvaluationInputError(f"{root}: no attempt folders, videos or images")
    return tally


def _clip(path: Path, judge: JudgeAttempt, cut: Cut, tally: Tally) -> None:
    clip = Tally()
    outcomes: list[str] = []
    for frames in attempts_of(read_clip(path, cut.fps), cut):
        verdict = judge(frames)
        if verdict is None:
            clip.no_face += 1
        else:
            _count(verdict, clip)
        outcomes.append("no_face" if verdict is None else verdict.reason or ACCEPTED)
    tally.outcomes.append(outcomes)
    tally.verdicts += clip.verdicts
    tally.no_face += clip.no_face
    tally.not_acquired += clip.not_acquired
    tally.clips[path.name] = {
        **_rate(clip.verdicts, accepted=None),
        "no_face": clip.no_face,
        "not_acquired": clip.not_acquired,
        "reasons": _reasons(clip.verdicts),
        "outcomes": outcomes,
    }


def _count(verdict: LivenessVerdict, tally: Tally) -> None:
    """A judged attempt, or a failed acquisition (only no face or several faces in the frames refused)."""
    gates = (verdict.reason or "").removeprefix(f"{TOO_FEW}:")
    if gates != (verdict.reason or "") and set(gates.split("+")) <= ACQUISITION:
        tally.not_acquired += 1
    else:
        tally.verdicts.append(verdict)


def named_gates(verdict: LivenessVerdict, rejections: list[str]) -> LivenessVerdict:
    """A refusal for too few usable frames, named after the gates that refused the other frames."""
    if verdict.reason != TOO_FEW or not rejections:
        return verdict
    return dataclasses.replace(verdict, reason=f"{TOO_FEW}:{'+'.join(sorted(set(rejections)))}")


def _no_usable_face() -> LivenessVerdict:
    return LivenessVerdict(False, 0.0, "none", "", TOO_FEW, 0.0, 0.0, 0)


def evaluate(
    live: Path,
    attacks: Path,
    judge: JudgeAttempt,
    policy: LivenessPolicy,
    score: ScoreImage,
    cut: Cut,
    rule: AttemptRule | None = None,
) -> dict[str, object]:
    """The 30107-3 report: attempts, apcer_by_type, apcer, bpcer, acer, bounds, clips, images, cut.

    ``bpcer``/``apcer`` count every window that reached a verdict, a gate's refusal included (the
    strictest view); ``judged`` counts only the windows the liveness checks decided, with the gates'
    non-responses apart; ``transactions`` replays each clip through the service's attempt ``rule``.
    """
    rule = rule or AttemptRule()
    genuine = collect(live, judge, score, cut)
    if not attacks.is_dir():
        raise EvaluationInputError(f"{attacks}: not a folder")
    kinds = {p.name: collect(p, judge, score, cut) for p in sorted(attacks.iterdir()) if p.is_dir()}
    if not kinds:
        raise EvaluationInputError(f"{attacks}: no attack-type folders (one per type)")
    bpcer = _share(genuine.verdicts, accepted=False)
    apcer_by_type = {kind: _share(t.verdicts, accepted=True) for kind, t in kinds.items()}
    apcer = max(apcer_by_type.values())
    every = {"live": genuine, **kinds}
    return {
        "attempts": {name: len(t.verdicts) for name, t in every.items()},
        "apcer_by_type": apcer_by_type,
        "apcer": apcer,
        "bpcer": bpcer,
        "acer": (apcer + bpcer) / 2,
        "bpcer_upper_95": _rate(genuine.verdicts, accepted=False)["upper_95"],
        "apcer_upper_95_by_type": {k: _rate(t.verdicts, accepted=True)["upper_95"] for k, t in kinds.items()},
        "bound": "Clopper-Pearson, two-sided 95%, upper end",
        "threshold": policy.passive_threshold,
        "policy": policy.model_dump(),
        "reasons": {name: _reasons(t.verdicts) for name, t in every.items()},
        "no_face": {name: t.no_face for name, t in every.items()},
        "not_acquired": {name: t.not_acquired for name, t in every.items()},
        "clips": {name: t.clips for name, t in every.items() if t.clips},
        "images": {name: _images(t.images, policy) for name, t in every.items() if t.images},
        "cut": cut.as_dict(),
        "judged": _judged(every),
        "transactions": {name: summary(t.outcomes, rule, attack=name != "live") for name, t in every.items()},
        "transaction_rule": rule.describe(),
    }


def _judged(every: dict[str, Tally]) -> dict[str, object]:
    """Rates over the windows the liveness checks decided; the gates' non-responses counted apart."""
    decided = {name: [v for v in t.verdicts if not is_non_response(v.reason or ACCEPTED)] for name, t in every.items()}
    report: dict[str, object] = {"attempts": {name: len(v) for name, v in decided.items()}}
    for name, verdicts in decided.items():
        windows = len(every[name].verdicts) + every[name].no_face + every[name].not_acquired
        silent = windows - len(verdicts)
        errors = _rate(verdicts, accepted=name != "live")
        report[name] = {
            "error_rate": _share(verdicts, accepted=name != "live"),
            "upper_95": errors["upper_95"],
            "non_responses": silent,
            "non_response_rate": silent / windows if windows else 0.0,
            "non_response_upper_95": upper_95(silent, windows),
        }
    return report


def _rate(verdicts: list[LivenessVerdict], accepted: bool | None) -> dict[str, object]:
    """Accepted/refused counts; with ``accepted`` given, the error rate and its 95% upper bound."""
    live = sum(1 for v in verdicts if v.live)
    out: dict[str, object] = {"attempts": len(verdicts), "accepted": live, "refused": len(verdicts) - live}
    if accepted is not None:
        errors = live if accepted else len(verdicts) - live
        out["upper_95"] = upper_95(errors, len(verdicts))
    return out


def _images(scores: list[float | None], policy: LivenessPolicy) -> dict[str, int]:
    faces = [s for s in scores if s is not None]
    live = sum(1 for s in faces if s >= policy.passive_threshold)
    return {"images": len(scores), "no_face": len(scores) - len(faces), "live": live, "attack": len(faces) - live}


def _share(verdicts: list[LivenessVerdict], accepted: bool) -> float:
    return sum(1 for v in verdicts if v.live is accepted) / len(verdicts) if verdicts else 0.0


def _reasons(verdicts: list[LivenessVerdict]) -> dict[str, int]:
    return dict(Counter(v.reason or "live" for v in verdicts))
