from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from controller.app.cli.recognition import register
from recognition.pipeline.agreement import DEFAULT_MODEL, SERVICE_THRESHOLDS


@pytest.fixture(scope="module")
def app(models_root: Path) -> typer.Typer:
    root = typer.Typer()
    register(root)
    return root


@pytest.fixture(autouse=True)
def assets_env(models_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKERS_MODELS", str(models_root))


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_detect_json(app: typer.Typer, samples: Path) -> None:
    code, out, _ = run(app, "faces", "detect", str(samples / "examples" / "two_people.jpg"), "--json")
    assert code == 0
    faces = json.loads(out)["faces"]
    assert len(faces) == 2
    assert {"box", "probability", "landmarks", "quality"} <= faces[0].keys()
    assert len(faces[0]["landmarks"]) == 5 and "reasons" in faces[0]["quality"]


def test_compare_json_uses_the_service_decision(app: typer.Typer, samples: Path) -> None:
    examples = samples / "examples"
    code, out, _ = run(app, "faces", "compare", str(examples / "obama.jpg"), str(examples / "obama2.jpg"), "--json")
    result = json.loads(out)
    assert code == 0 and result["same"] is True and result["threshold"] == SERVICE_THRESHOLDS[DEFAULT_MODEL]
    assert result["model"].startswith(DEFAULT_MODEL + "@")
    args = ("faces", "compare", str(examples / "obama.jpg"), str(examples / "obama2.jpg"), "--json")
    code, out, _ = run(app, *args, "--model", "dlib-resnet")
    result = json.loads(out)
    assert code == 0 and result["threshold"] == 0.45 and result["model"].startswith("dlib-resnet@")
    assert result["same"] is (result["distance"] <= 0.45)


def test_calibrate_writes_threshold_and_cohort(app: typer.Typer, assets: Path, tmp_path: Path) -> None:
    people = tmp_path / "people.txt"
    people.write_text("\n".join(f"s{i}" for i in range(1, 11)))
    snippet, cohort = tmp_path / "site.toml", tmp_path / "cohort.npz"
    folder = str(assets / "data" / "att_faces" / "orl_faces")
    args = ["--folder", folder, "--people", str(people), "--model", "dlib-resnet", "--far", "1e-3"]
    code, out, err = run(app, "calibrate", *args, "--write", str(snippet), "--cohort", str(cohort), "--json")
    report = json.loads(out)
    assert code == 0, err
    assert (report["genuine_pairs"], report["impostor_pairs"], report["identities"]) == (450, 4500, 10)
    assert report["far"] <= 1e-3 and 0 < report["tar"] <= 1
    text = snippet.read_text()
    assert f"threshold = {report['threshold']:.4f}" in text and f'cohort = "{cohort}"' in text
    from recognition.models.embedder import load_embedder
    from recognition.pipeline.cohort import load_cohort

    assert load_cohort(cohort, load_embedder("dlib-resnet").card).shape == (10, 128)
    code, _, err = run(app, "calibrate", *args[:-1], "1e-5")
    assert code == 2 and "cannot support FAR" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("absent.jpg", None, "no such file"), ("text.jpg", b"hello", "not an image"), ("cut.jpg", "truncated", "corrupt")],
)
def test_bad_input_is_one_clear_line(
    app: typer.Typer, samples: Path, tmp_path: Path, name: str, content: bytes | str | None, message: str
) -> None:
    path = tmp_path / name
    if content == "truncated":
        path.write_bytes((samples / "examples" / "obama.jpg").read_bytes()[:5000])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    code, out, err = run(app, "faces", "detect", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_compare_refuses_no_face_and_several_faces(app: typer.Typer, samples: Path, tmp_path: Path) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    obama = str(samples / "examples" / "obama.jpg")
    code, _, err = run(app, "faces", "compare", obama, str(blank))
    assert code == 2 and "no face" in err
    code, _, err = run(app, "faces", "compare", obama, str(samples / "examples" / "two_people.jpg"))
    assert code == 2 and "2 faces" in err


def test_eval_folder_with_people_and_plot(app: typer.Typer, assets: Path, tmp_path: Path) -> None:
    people = tmp_path / "people.txt"
    people.write_text("# a comment\nx\ts1\t10\nx\ts2\t10\ns3\n")
    plot = tmp_path / "roc.png"
    code, out, _ = run(
        app, "eval", "--folder", str(assets / "data" / "att_faces" / "orl_faces"), "--people", str(people),
        "--plot", str(plot), "--json",
    )
    report = json.loads(out)
    assert code == 0 and report["identities"] == 3 and report["images"] == 30
    for key in ("pairs", "accuracy", "threshold", "tar", "far", "best_threshold", "auc", "eer", "no_face", "rank1"):
        assert key in report
    assert set(report["threshold_at_far"]) == set(report["tar_at_far"]) == {"0.01", "0.001"}
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["threshold_source"] == "service default"
    assert report["threshold"] == SERVICE_THRESHOLDS[DEFAULT_MODEL] and report["model"].startswith(DEFAULT_MODEL)


def test_eval_argument_errors(app: typer.Typer, tmp_path: Path) -> None:
    code, _, err = run(app, "eval", "--pairs", str(tmp_path / "p.txt"))
    assert code == 2 and "--pairs and --images go together" in err
    bad = tmp_path / "pairs.txt"
    bad.write_text("500\nonly_one_field\n")
    code, _, err = run(app, "eval", "--pairs", str(bad), "--images", str(tmp_path))
    assert code == 2 and "pairs.txt:2" in err


def test_models_list_names_the_services_real_default(app: typer.Typer) -> None:
    code, out, _ = run(app, "models", "list", "--json")
    document = json.loads(out)
    assert code == 0 and document["default"] == DEFAULT_MODEL
    assert not [row["name"] for row in document["models"] if "default" in row["description"]]
    code, out, _ = run(app, "models", "list")
    assert code == 0 and f"default: {DEFAULT_MODEL} " in out


def test_models_list_and_verify(app: typer.Typer) -> None:
    code, out, _ = run(app, "models", "list", "--json")
    rows = {row["name"]: row for row in json.loads(out)["models"]}
    assert code == 0 and rows["dlib-resnet"]["installed"] is True
    code, out, _ = run(app, "models", "verify", "dlib-resnet", "--json")
    assert code == 0 and all(row["ok"] for row in json.loads(out)["files"])
