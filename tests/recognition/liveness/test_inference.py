"""The prepared MiniFASNet pair gives the probabilities of the networks as defined, on real live and attack faces."""

from __future__ import annotations

from pathlib import Path

import pytest

from recognition.liveness.passive import MiniFasScorer
from recognition.pipeline.detector import MtcnnDetector
from recognition.recording import timed_frames
from recognition.types import Face, Image
from tests.recognition.liveness.conftest import load_upright

CLIPS = (
    "live_proctoring_1.mp4",
    "live_grid_1.mpg",
    "live_zubair_1.webm",
    "attack_phone_jomariya_1.mp4",
    "attack_phonephoto_manikantha_1.mp4",
    "attack_screen_tranvanluyt_1.mp4",
)
SAMPLES = ("image_T1.jpg", "image_F1.jpg", "image_F2.jpg")
SECONDS = 6  # the first seconds of each clip, one frame a second
TOLERANCE = 1e-4  # float rounding of the folded batch norms is ~1e-6


@pytest.fixture(scope="module")
def faces(assets: Path, liveness_models_root: Path, detector: MtcnnDetector) -> list[tuple[Image, Face]]:
    video = assets / "data/video"
    pictures = [frame.image for clip in CLIPS for frame in timed_frames(video / clip, to_s=SECONDS, fps=1.0)]
    pictures += [load_upright(liveness_models_root / "anti-spoof" / "samples" / name) for name in SAMPLES]
    return [(picture, found[0]) for picture in pictures if (found := detector.detect(picture))]


def test_prepared_networks_score_as_the_networks_as_defined(
    scorer: MiniFasScorer, faces: list[tuple[Image, Face]]
) -> None:
    plain = MiniFasScorer(scorer.networks, scorer.card, prepared=False)
    pairs = [(plain.score(image, face), scorer.score(image, face)) for image, face in faces]
    assert len(pairs) >= 30, f"only {len(pairs)} faces found"
    assert {reference >= 0.5 for reference, _ in pairs} == {True, False}, "both verdicts must be compared"
    worst = max(abs(reference - prepared) for reference, prepared in pairs)
    assert worst <= TOLERANCE, f"prepared networks differ by {worst:.2e} in live probability"
