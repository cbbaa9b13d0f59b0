"""End to end with real faces: sequences from ``lockers attacks make`` open nothing; lockout and alarm follow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from controller.domain import events as ev
from recognition.evaluation.attack_set import make_attack_set
from tests.e2e.helpers import assert_passed, run_scenario

POWELL = "data/lfw-dev/images/Colin_Powell/Colin_Powell_{:04d}.jpg"
CONFIG = {
    "recognition": {"threshold": 0.45, "margin": 0.05, "frames_required": 2, "frames_window": 4,
                    "min_face_size": 40, "min_face_px": 40},
}  # fmt: skip


@pytest.fixture(scope="module")
def attack_set(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _attack_set(assets, tmp_path_factory, seed=3)


def _attack_set(assets: Path, tmp_path_factory: pytest.TempPathFactory, seed: int) -> Path:
    source = tmp_path_factory.mktemp("owner")
    for number in range(4, 14):  # photographs never used at enrolment (1-3)
        (source / f"p{number:02d}.jpg").symlink_to(assets / POWELL.format(number))
    out = tmp_path_factory.mktemp("attacks")
    make_attack_set(source, out, seed=seed, frames=4, per_person=1)
    return out


def _frames(kind: Path) -> list[Path]:
    (attempt,) = kind.iterdir()  # one person, one attempt per kind
    return sorted(attempt.iterdir())


def _scenario(tmp_path: Path, assets: Path, attempts: list[list[Path]]) -> Path:
    deposit = [str(assets / POWELL.format(n)) for n in (1, 2, 3)]
    steps: list[object] = [{"deposit": deposit}, {"door": {"compartment": 1, "action": "open"}},
                           {"door": {"compartment": 1, "action": "close"}}, {"wait": 5}]  # fmt: skip
    for frames in attempts:
        steps += [{"show": [str(f) for f in frames]}, {"expect": {"unlocked": []}}, {"wait": 2}]
    path = tmp_path / "attack.yaml"
    path.write_text(yaml.safe_dump({"compartments": 2, "config": CONFIG, "steps": steps}))
    return path


@pytest.mark.slow
def test_screen_attacks_open_nothing_and_raise_the_alarm(attack_set: Path, assets: Path, tmp_path: Path) -> None:
    attempts = [_frames(attack_set / "attacks" / "screen") for _ in range(2)]
    outcome = run_scenario(_scenario(tmp_path, assets, attempts), tmp_path)
    assert_passed(outcome)
    assert outcome.run.unlock_calls == [1]  # the deposit only
    rejected = outcome.of_type(ev.IdentityRejected)
    assert rejected and all(e.reason.startswith("liveness_failed: ") for e in rejected)
    assert [e.reason for e in outcome.of_type(ev.AlarmRaised)] == [ev.AlarmReason.PRESENTATION_ATTACK_SUSPECTED]
    assert not outcome.of_type(ev.IdentityConfirmed)


WARP_SEEDS = range(3, 13)
"""Warped attempts of ten seeds: the passive networks score these photographs near their threshold, and one
attempt's verdict can flip on a sub-pixel change of the face box (the crop moves by a pixel), so one seed
alone says nothing about the gap."""


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 18): one digital photograph warped frame by frame is an injected feed, not a print "
    "in front of the camera; its warps differ by more than a camera's noise floor, so the picture-based injection "
    "check lets it through and the passive networks score the photograph near their threshold. The camera link "
    "must exclude injection (docs/liveness.md); this test passes, and strict xfail then fails the run, once "
    "liveness refuses the warped attempts of every seed",
)
def test_a_warped_digital_photograph_is_refused(
    assets: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    opened = []
    for seed in WARP_SEEDS:
        attacks = _attack_set(assets, tmp_path_factory, seed)
        run_dir = tmp_path / f"seed{seed}"
        run_dir.mkdir()
        outcome = run_scenario(_scenario(run_dir, assets, [_frames(attacks / "attacks" / "printed")]), run_dir)
        if outcome.of_type(ev.IdentityConfirmed):
            opened.append(seed)
    assert not opened, f"warped photographs of seeds {opened} of {list(WARP_SEEDS)} opened the owner's door"


@pytest.mark.slow
def test_generated_genuine_attempt_opens(attack_set: Path, assets: Path, tmp_path: Path) -> None:
    # The no-wrong-door check names people by folder: the generated frames go under the owner's name.
    owner = tmp_path / "Colin_Powell"
    owner.mkdir()
    frames = [shutil.copy(f, owner / f.name) for f in _frames(attack_set / "live")]
    path = _scenario(tmp_path, assets, [])
    spec = yaml.safe_load(path.read_text())
    spec["steps"] += [{"show": [str(f) for f in frames]}, {"expect": {"unlocked": [1], "states": {1: "open"}}}]
    path.write_text(yaml.safe_dump(spec))
    outcome = run_scenario(path, tmp_path)
    assert_passed(outcome)
    assert outcome.of_type(ev.IdentityConfirmed)[0].evidence.liveness == "live"
