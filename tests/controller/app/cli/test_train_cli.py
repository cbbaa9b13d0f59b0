"""``lockers train`` from the command line: bad input gives one clear line on stderr and exit status 2 (bad input)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from controller.app.cli import train as train_cli
from controller.app.cli.exits import BAD_INPUT


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    train_cli.register(root)
    root.command("noop", hidden=True)(lambda: None)  # a second command keeps "train" a sub-command
    return root


def _train(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, ["train", *args])


def _people(root: Path, identities: int, images: int, content: bytes) -> Path:
    for i in range(identities):
        folder = root / f"p{i}"
        folder.mkdir(parents=True)
        for j in range(images):
            (folder / f"{j}.jpg").write_bytes(content)
    return root


def _assert_one_error(result: Any, fragment: str) -> None:
    assert result.exit_code == BAD_INPUT, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_empty_folders_are_refused(app: typer.Typer, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / "data" / name).mkdir(parents=True)
    result = _train(app, "--data", str(tmp_path / "data"), "--base", "dlib-resnet", "--out", str(tmp_path / "o.pt"))
    _assert_one_error(result, "need at least two identity folders with two images")


def test_one_image_per_identity_is_refused(app: typer.Typer, tmp_path: Path, att: Path) -> None:
    data = tmp_path / "data"
    for i in range(1, 6):
        (data / f"s{i}").mkdir(parents=True)
        shutil.copy(att / f"s{i}" / "1.pgm", data / f"s{i}" / "1.pgm")
    result = _train(app, "--data", str(data), "--base", "dlib-resnet", "--out", str(tmp_path / "o.pt"))
    _assert_one_error(result, "two images or more")


def test_unreadable_images_are_reported(app: typer.Typer, tmp_path: Path, att: Path, chip_cache: Path) -> None:
    data = _people(tmp_path / "data", 4, 2, b"not an image at all")
    args = [
        "--data",
        str(data),
        "--base",
        "dlib-resnet",
        "--out",
        str(tmp_path / "o.pt"),
        "--cache-dir",
        str(chip_cache),
    ]
    _assert_one_error(_train(app, *args), "no usable face in 8 images (unreadable: 8)")


@pytest.mark.parametrize(
    ("base", "fragment"),
    [("/nonexistent/model.pt", "checkpoint not found"), ("resnet-9000", "unknown model 'resnet-9000'")],
)
def test_a_missing_base_is_refused(app: typer.Typer, tmp_path: Path, att: Path, base: str, fragment: str) -> None:
    result = _train(app, "--data", str(att), "--base", base, "--out", str(tmp_path / "o.pt"))
    _assert_one_error(result, fragment)


def test_bad_options_are_refused(app: typer.Typer, tmp_path: Path, att: Path) -> None:
    result = _train(app, "--data", str(att), "--base", "dlib-resnet", "--out", str(tmp_path / "o.pt"), "--loss", "x")
    _assert_one_error(result, "--loss must be one of ce, arcface")


def test_cuda_without_a_gpu_is_refused(app: typer.Typer, tmp_path: Path, att: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = _train(
        app, "--data", str(att), "--base", "dlib-resnet", "--out", str(tmp_path / "o.pt"), "--device", "cuda"
    )
    _assert_one_error(result, "no CUDA device")


def test_resume_from_a_non_checkpoint_is_refused(app: typer.Typer, tmp_path: Path, att: Path) -> None:
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"junk")
    args = ["--data", str(att), "--base", "dlib-resnet", "--out", str(tmp_path / "o.pt"), "--resume", str(bogus)]
    _assert_one_error(_train(app, *args), "not a readable torch checkpoint")


def test_table_renders_base_and_finetuned(att_run: dict[str, Any]) -> None:
    table = train_cli.render(att_run)
    assert "30 training / 10 validation identities" in table
    assert "base dlib-resnet@1.0+" in table and "fine-tuned (epoch" in table
