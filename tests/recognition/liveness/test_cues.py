"""Checks across the frames of one attempt, on real faces and on exact landmark geometry."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from controller.app.config.loader import load_config
from controller.domain.errors import ConfigError
from recognition.evaluation.attacks import GENERATORS
from recognition.liveness.cues import FrameCue, parallax, same_picture
from recognition.liveness.monitor import LivenessMonitor
from recognition.liveness.passive import MiniFasScorer
from recognition.liveness.verdict import LivenessPolicy, judge
from recognition.pipeline.face import MtcnnPipeline, build_pipeline
from recognition.pipeline.images import load_image
from recognition.pipeline.quality import QualityConfig
from recognition.types import Image

POWELL = "data/lfw-dev/images/Colin_Powell/Colin_Powell_{:04d}.jpg"


@pytest.fixture(scope="module")
def pipeline(liveness_models_root: Path) -> MtcnnPipeline:
    quality = QualityConfig(min_face_px=40)  # LFW faces are about 55 px, as in the scenarios
    return build_pipeline("dlib-resnet", min_face_size=40, quality=quality, models_root=liveness_models_root)


@pytest.fixture(scope="module")
def monitor(scorer: MiniFasScorer) -> LivenessMonitor:
    return LivenessMonitor(scorer, LivenessPolicy(), window=4)


def _judge(monitor: LivenessMonitor, pipeline: MtcnnPipeline, frames: list[Image]) -> tuple[bool, str | None]:
    verdict = monitor.judge_frames([(frame, pipeline.analyse(frame)) for frame in frames])
    return verdict.live, verdict.reason


def test_distinct_photographs_of_the_owner_pass(
    assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline
) -> None:
    for numbers in ((4, 5), (4, 5, 6, 7), (1, 2, 3)):
        frames = [load_image(assets / POWELL.format(n)) for n in numbers]
        assert _judge(monitor, pipeline, frames) == (True, None), numbers


def test_one_picture_repeated_is_a_replay(assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline) -> None:
    photo = load_image(assets / POWELL.format(4))
    assert _judge(monitor, pipeline, [photo] * 6) == (False, "replay")


@pytest.mark.parametrize("kind", ["printed", "screen"])
def test_generated_print_and_screen_attempts_are_refused(
    kind: str, assets: Path, monitor: LivenessMonitor, pipeline: MtcnnPipeline
) -> None:
    for seed, number in enumerate((4, 8, 9)):
        frames = GENERATORS[kind](load_image(assets / POWELL.format(number)), 4, np.random.default_rng(seed))
        live, reason = _judge(monitor, pipeline, frames)
        assert not live and reason is not None, (kind, number)


def test_no_usable_frame_is_too_few(monitor: LivenessMonitor, pipeline: MtcnnPipeline) -> None:
    blank = np.full((240, 320, 3), 128, np.uint8)
    assert _judge(monitor, pipeline, [blank, blank]) == (False, "too_few_frames")


def _head(yaw: float, tilt: float = 0.0) -> tuple[tuple[float, float], ...]:
    """Five landmarks of a head turned by ``yaw`` (radians): the nose sits 0.6 eye distances in front."""
    points = [(-0.5, -0.4, 0.0), (0.5, -0.4, 0.0), (0.0, 0.1, 0.6), (-0.4, 0.5, 0.0), (0.4, 0.5, 0.0)]
    out = []
    for x, y, z in points:
        xr, zr = x * math.cos(yaw) + z * math.sin(yaw), -x * math.sin(yaw) + z * math.cos(yaw)
        depth = 5.0 + zr + tilt * x  # a little perspective: the camera is five eye distances away
        out.append((320 + 400 * xr / depth, 240 + 400 * y / depth))
    return tuple(out)


def _flat(landmarks: tuple[tuple[float, float], ...], h: np.ndarray) -> tuple[tuple[float, float], ...]:
    moved = []
    for x, y in landmarks:
        u, v, w = h @ np.array([x, y, 1.0])
        moved.append((u / w, v / w))
    return tuple(moved)


def test_a_tilted_picture_moves_by_one_homography_a_turning_head_does_not() -> None:
    tilt = np.array([[1.05, 0.08, -20.0], [0.02, 0.97, 10.0], [2e-4, 1e-4, 1.0]])
    picture = _head(0.0)
    nose_off_plane, plane_moved = parallax(picture, _flat(picture, tilt))
    assert nose_off_plane < 1e-6 and plane_moved > 0.01
    turned, _ = parallax(_head(0.0), _head(0.35))
    assert turned > LivenessPolicy().min_parallax


def test_same_picture_sees_through_mirror_and_light() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(48, 48))
    probe = ((raw - raw.mean()) / raw.std()).astype(np.float32)  # what face_probe hands over
    assert same_picture(probe, probe[:, ::-1].copy()) == pytest.approx(1.0, abs=1e-5)
    assert same_picture(probe, rng.normal(size=(48, 48)).astype(np.float32)) < 0.3


def test_turn_head_challenge_is_required_only_when_inconclusive() -> None:
    policy = LivenessPolicy(challenge="turn_head", min_plane_motion=1.0)
    rng = np.random.default_rng(1)
    probes = [rng.normal(size=(48, 48)).astype(np.float32) for _ in range(3)]

    def cues(passive: float, yaws: tuple[float, ...]) -> list[FrameCue]:
        pairs = zip(yaws, probes, strict=False)
        return [FrameCue(passive, _head(yaw), probe, probe * 40 + 128) for yaw, probe in pairs]

    assert judge(cues(0.6, (0.0, 0.02)), policy, "m").reason == "challenge_turn_head"
    assert judge(cues(0.6, (0.0, 0.3, 0.6)), policy, "m").live
    assert judge(cues(0.95, (0.0, 0.02)), policy, "m").live


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"passive_threshold": 1.5}, "passive_threshold"),
        ({"replay_similarity": 0.0}, "replay_similarity"),
        ({"min_parallax": -1.0}, "greater than or equal to 0"),
        ({"challenge": "dance"}, "liveness.challenge: input should be 'none' or 'turn_head'"),
        ({"min_frames": 0}, "min_frames"),
    ],
)
def test_policy_refuses_nonsense(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, {"liveness": change})


def test_replay_similarity_is_deprecated_but_accepted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        policy = load_config(None, {"liveness": {"replay_similarity": 0.8}}).site.liveness
    assert policy.replay_similarity == 0.8 and "replay_similarity is deprecated" in caplog.text


def test_a_face_that_tilts_like_a_plane_is_flat_motion_and_no_motion_is_not_an_attack() -> None:
    from dataclasses import replace

    from recognition.liveness.cues import AttemptCues
    from recognition.liveness.verdict import _failure

    policy = LivenessPolicy()
    flat = AttemptCues(frames=4, passive=0.99, same_picture=0.5, parallax=0.01, plane_motion=0.2, difference=5.0)
    assert _failure(flat, [], policy) == "flat_motion"  # a print or screen tilted: the nose moved with the plane
    assert _failure(replace(flat, parallax=0.5), [], policy) is None  # a real head: the nose left the plane
    assert _failure(replace(flat, plane_motion=0.0), [], policy) is None  # a still person: nothing to judge


def test_a_person_filmed_by_a_hand_held_phone_while_talking_is_not_flat_motion() -> None:
    from recognition.liveness.cues import AttemptCues
    from recognition.liveness.verdict import _failure

    # live_jomariya_1 (phone selfie, talking, moving): up to 0.16 of plane motion with 0.07-0.1 of parallax.
    talking = AttemptCues(frames=5, passive=0.99, same_picture=0.9, parallax=0.065, plane_motion=0.16, difference=25.0)
    assert _failure(talking, [], LivenessPolicy()) is None
