"""Every benchmark runs, at a smoke size, as its documented command: a benchmark that no longer runs fails here.

The list of benchmarks is the folder's scripts (a script is a module with ``if __name__ == "__main__"``); a new
one without a smoke command below fails ``test_every_benchmark_has_a_smoke_run``. The figures of a smoke run
mean nothing (a few samples on a busy machine): only that the command completes and prints what it promises.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from recognition.evaluation.clips import read_clip
from recognition.liveness.cues import frame_cue
from recognition.liveness.verdict import LivenessPolicy, judge
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
from recognition.pipeline.images import load_image
from tests.conftest import REPO_ROOT, assets_root
from tests.support.databases import PG_ENV, postgres_base_url
from tests.support.training import FAST_FREEZE

BENCHMARKS = REPO_ROOT / "benchmarks"
NEEDS_POSTGRES = {"fleet"}  # the centre runs on PostgreSQL only
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def smoke_commands(tmp: Path) -> dict[str, list[list[str]]]:
    """Each benchmark's smoke run: one or more argument lists, run in order (a later one may read an earlier's)."""
    cache = str(tmp / "model-cache")
    (tmp / "event-store").mkdir(exist_ok=True)
    att = str(assets_root() / "data" / "att_faces" / "orl_faces")
    return {
        "api_frames": [["--json", "--frames", "2", "--width", "640", "--height", "480"]],
        "event_store": [["--json", "--events", "300", "--new-events", "30", "--appends", "20", "--workers", "1",
                         "--checkpoints", "3", "--rounds", "2", "--dir", str(tmp / "event-store")]],
        "gallery": [["--json", "--size", "500", "--repeats", "5"]],
        "lock_board": [["--json", "--unlocks", "5", "--polls", "5"]],
        "fleet": [["--json", "--banks", "5", "--rounds", "2", "--batch", "20", "--backlog", "500", "--clients", "2"]],
        "pin_hash": [["--json", "--trials", "2", "--candidates", "1", "3"]],
        "recognition": [["--json", "--models", "dlib-resnet", "--frames", "3", "--memory-frames", "5",
                         "--liveness-frames", "3", "--threads", "1"]],
        "service": [["--json", "--trials", "1", "--cycles", "2", "--people", "26", "--images", "6"]],
        "models_table": [["--models", "fr-feature+mobilefacenet", "--limit", "40", "--cache", cache]],
        "cohort_transfer": [["--json", "--cache", cache, "--k", "3"]],
        "finetune": [["--data", att, "--base", "dlib-resnet", "--out", str(tmp / "ft.pt"), "--epochs", "1",
                      "--warmup-epochs", "0", "--batch-size", "16", "--val-identities", "10",
                      "--max-per-identity", "3", "--cache-dir", str(tmp / "chips"),
                      *[arg for name in FAST_FREEZE for arg in ("--freeze", name)]]],
    }


def benchmark_scripts() -> list[str]:
    """The benchmark scripts of the folder (modules run as ``python benchmarks/NAME.py``)."""
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if 'if __name__ == "__main__"' in p.read_text())


def test_every_benchmark_has_a_smoke_run(tmp_path: Path) -> None:
    scripts = benchmark_scripts()
    assert len(scripts) >= 8, scripts
    assert sorted(smoke_commands(tmp_path)) == scripts


@pytest.mark.parametrize("order", [["models_table", "cohort_transfer"]], ids=["models_table+cohort_transfer"])
def test_model_table_and_cohort_transfer_run(tmp_path: Path, assets: Path, order: list[str]) -> None:
    for name in order:
        for args in smoke_commands(tmp_path)[name]:
            run_benchmark(name, args, assets)


@pytest.mark.parametrize(
    "name", [n for n in benchmark_scripts() if n not in ("models_table", "cohort_transfer")]
)
def test_benchmark_runs_at_smoke_size(name: str, tmp_path: Path, assets: Path) -> None:
    if name in NEEDS_POSTGRES:
        postgres_base_url()  # skips without LOCKERS_TEST_POSTGRES_URL
    for args in smoke_commands(tmp_path)[name]:
        output = run_benchmark(name, args, assets)
        if "--json" in args:
            document = json_document(output)
            assert isinstance(document, dict)
            if name == "service":  # a frozen feed (one picture as every frame) is refused as replay
                assert not any("replay" in reason for reason in document["latency_refusals"]), document


def test_service_latency_trials_show_what_a_camera_gives(assets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither kind of owner is shown a frozen feed: the injection check passes the frames of every trial."""
    monkeypatch.setattr(sys, "path", [*sys.path, str(BENCHMARKS)])  # after the packages: the scripts' helpers
    latency = importlib.import_module("service_latency")
    bank = importlib.import_module("service_bank")
    photo = load_image(assets / "data" / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    clip = read_clip(assets / "data" / "video" / "live_grid_1.mpg", 10.0)
    owners = [bank.Person("still", probes=[photo]), bank.Person("filmed", probes=clip[15:], recording="grid")]
    detector = MtcnnDetector(DetectorConfig(min_face_size=40))
    for owner in owners:
        frames = latency.trial_frames(owner, random.Random(1))[:5]  # the liveness window at 10 fps
        cues = [frame_cue(frame, detector.detect(frame)[0], passive=1.0) for frame in frames]
        verdict = judge(cues, LivenessPolicy(), "test")
        assert (verdict.reason, verdict.frames) == (None, 5), (owner.name, verdict)


def json_document(output: str) -> object:
    """The JSON document a ``--json`` run prints last (one line, or indented from its opening brace)."""
    lines = output.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def run_benchmark(name: str, args: list[str], assets: Path) -> str:
    """Run ``python benchmarks/NAME.py ARGS`` from outside the repository, as its docstring says; its stdout."""
    env = {"LOCKERS_ASSETS": str(assets), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    env |= {key: value for key, value in os.environ.items() if key == PG_ENV}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *args],
        cwd=assets.parent, env=env, capture_output=True, text=True, timeout=840,
    )
    assert done.returncode == 0, f"{name} {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout
