"""``lockers attacks make`` and ``lockers eval --liveness`` on real faces, and their bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from controller.app.cli.recognition import register

POWELL = "data/lfw-dev/images/Colin_Powell/Colin_Powell_{:04d}.jpg"


@pytest.fixture(scope="module")
def app(liveness_models_root: Path) -> typer.Typer:
    root = typer.Typer()
    register(root)
    return root


def run(app: typer.Typer, *args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def photos(assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("people") / "Colin_Powell"
    folder.mkdir()
    for number in range(1, 6):
        (folder / f"{number}.jpg").symlink_to(assets / POWELL.format(number))
    return folder.parent


def test_make_is_reproducible_and_eval_reports_30107_figures(app: typer.Typer, photos: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        code, text, _ = run(app, "attacks", "make", "--from", photos, "--out", out, "--frames", 2, "--per-person", 1,
                            "--seed", 5, "--json")  # fmt: skip
        assert code == 0
    report = json.loads(text)
    assert report["live"] == 1 and report["attacks"] == {"replay": 1, "reencoded": 1, "printed": 1, "screen": 1}
    files = sorted(p.relative_to(first) for p in first.rglob("*.jpg"))
    assert len(files) == 10
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    code, text, err = run(app, "eval", "--liveness", "--live", first / "live", "--attacks", first / "attacks", "--json")
    assert code == 0, err
    result = json.loads(text)
    assert result["attempts"] == {"live": 1, "printed": 1, "reencoded": 1, "replay": 1, "screen": 1}
    assert result["apcer"] == max(result["apcer_by_type"].values())
    assert result["acer"] == pytest.approx((result["apcer"] + result["bpcer"]) / 2)
    assert result["apcer_by_type"]["replay"] == 0.0  # one JPEG repeated is always a replay
    assert result["threshold"] == result["policy"]["passive_threshold"]


def test_bad_inputs_are_one_clear_line(app: typer.Typer, photos: Path, tmp_path: Path) -> None:
    code, _, err = run(app, "attacks", "make", "--from", tmp_path / "missing", "--out", tmp_path / "o")
    assert code == 2 and "not a folder" in err
    code, _, err = run(app, "attacks", "make", "--from", photos, "--out", tmp_path / "o", "--frames", 1)
    assert code == 2 and "at least 2 frames" in err
    code, _, err = run(app, "eval", "--liveness", "--live", tmp_path)
    assert code == 2 and "--liveness needs --live DIR and --attacks DIR" in err
    (tmp_path / "live" / "a1").mkdir(parents=True)
    (tmp_path / "attacks" / "replay").mkdir(parents=True)
    code, _, err = run(app, "eval", "--liveness", "--live", tmp_path / "live", "--attacks", tmp_path / "attacks")
    assert code == 2 and "an attempt folder with no image" in err
