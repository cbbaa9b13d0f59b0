"""How ``lockers eval --liveness`` counts attempts: gate refusals named, failed acquisitions apart."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from recognition.evaluation.clips import Cut
from recognition.evaluation.liveness import evaluate, named_gates
from recognition.liveness.verdict import LivenessPolicy, LivenessVerdict
from recognition.types import Image

LIVE = LivenessVerdict(True, 0.99, "m", "v", None, 0.5, 0.2, 5)
TOO_FEW = LivenessVerdict(False, 0.0, "m", "v", "too_few_frames", 0.0, 0.0, 1)


def test_a_refusal_for_too_few_frames_names_the_gates() -> None:
    named = named_gates(TOO_FEW, ["no_face", "multiple_faces", "no_face"])
    assert named.reason == "too_few_frames:multiple_faces+no_face"
    assert named_gates(TOO_FEW, []).reason == "too_few_frames"
    passive = LivenessVerdict(False, 0.1, "m", "v", "passive", 0.5, 0.2, 5)
    assert named_gates(passive, ["not_frontal"]) == passive


def test_no_face_or_two_faces_is_a_failed_acquisition_counted_apart(tmp_path: Path) -> None:
    # Each attempt folder holds one grey frame whose level says which verdict the judge gives.
    verdicts = {
        10: LIVE,
        20: named_gates(TOO_FEW, ["multiple_faces", "no_face"]),  # one person at a time: not a refusal
        30: named_gates(TOO_FEW, ["not_frontal", "multiple_faces"]),  # a gate refused this person
        40: LivenessVerdict(False, 0.05, "m", "v", "passive", 0.5, 0.2, 5),
    }
    for level in verdicts:
        folder = tmp_path / ("live" if level < 40 else "attacks/screen") / f"attempt_{level}"
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / "0.png"), np.full((8, 8, 3), level, np.uint8))

    def judge(frames: list[Image]) -> LivenessVerdict:
        return verdicts[int(frames[0][0, 0, 0])]

    report = evaluate(tmp_path / "live", tmp_path / "attacks", judge, LivenessPolicy(), lambda _: None,
                      Cut(5, 5, 10.0))  # fmt: skip
    assert report["attempts"] == {"live": 2, "screen": 1}
    assert report["not_acquired"] == {"live": 1, "screen": 0}
    assert report["bpcer"] == 0.5
    assert report["reasons"]["live"] == {"live": 1, "too_few_frames:multiple_faces+not_frontal": 1}  # type: ignore[index]
    judged = report["judged"]
    assert judged["attempts"] == {"live": 1, "screen": 1}  # type: ignore[index]
    assert judged["live"]["non_responses"] == 2 and judged["live"]["error_rate"] == 0.0  # type: ignore[index]
    assert judged["screen"]["error_rate"] == 0.0  # type: ignore[index]
    assert report["transactions"]["live"]["transactions"] == 0  # type: ignore[index]  # folders are no clips
