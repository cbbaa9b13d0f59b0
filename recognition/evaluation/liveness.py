"""Presentation-attack detection measured in ISO/IEC 30107-3 terms over folders of attempts.

APCER (per attack type, "PAI species"): share of attack attempts accepted as live. BPCER: share of
genuine attempts refused. The overall APCER is the worst type's, and ACER = (APCER + BPCER) / 2.
An attempt with no usable face is refused (counted under the reason ``too_few_frames``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from recognition.errors import EvaluationInputError
from recognition.evaluation.datasets import IMAGE_SUFFIXES
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict

JudgeAttempt = Callable[[list[Path]], LivenessVerdict]


def attempt_folders(root: Path) -> dict[str, list[Path]]:
    """Frames (file-name order) of each attempt sub-folder of ``root``; a folder with no image is an error."""
    if not root.is_dir():
        raise EvaluationInputError(f"{root}: not a folder")
    attempts = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        frames = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not frames:
            raise EvaluationInputError(f"{folder}: an attempt folder with no image")
        attempts[folder.name] = frames
    if not attempts:
        raise EvaluationInputError(f"{root}: no attempt folders (one sub-folder of frames per attempt)")
    return attempts


def attack_types(root: Path) -> dict[str, dict[str, list[Path]]]:
    """Attempts per attack type: ``root/<type>/<attempt>/frames``."""
    if not root.is_dir():
        raise EvaluationInputError(f"{root}: not a folder")
    types = {folder.name: attempt_folders(folder) for folder in sorted(p for p in root.iterdir() if p.is_dir())}
    if not types:
        raise EvaluationInputError(f"{root}: no attack-type folders (one per type, each with attempt folders)")
    return types


def evaluate(live: Path, attacks: Path, judge: JudgeAttempt, policy: LivenessPolicy) -> dict[str, object]:
    """The 30107-3 report: attempts, apcer_by_type, apcer, bpcer, acer, threshold, policy and reasons."""
    genuine = attempt_folders(live)
    by_type = attack_types(attacks)
    live_verdicts = [judge(frames) for frames in genuine.values()]
    attack_verdicts = {kind: [judge(frames) for frames in found.values()] for kind, found in by_type.items()}
    bpcer = _share(live_verdicts, accepted=False)
    apcer_by_type = {kind: _share(verdicts, accepted=True) for kind, verdicts in attack_verdicts.items()}
    apcer = max(apcer_by_type.values())
    return {
        "attempts": {"live": len(live_verdicts), **{k: len(v) for k, v in attack_verdicts.items()}},
        "apcer_by_type": apcer_by_type,
        "apcer": apcer,
        "bpcer": bpcer,
        "acer": (apcer + bpcer) / 2,
        "threshold": policy.passive_threshold,
        "policy": policy.model_dump(),
        "reasons": {"live": _reasons(live_verdicts), **{k: _reasons(v) for k, v in attack_verdicts.items()}},
    }


def _share(verdicts: list[LivenessVerdict], accepted: bool) -> float:
    return sum(1 for v in verdicts if v.live is accepted) / len(verdicts) if verdicts else 0.0


def _reasons(verdicts: list[LivenessVerdict]) -> dict[str, int]:
    return dict(Counter(v.reason or "live" for v in verdicts))
