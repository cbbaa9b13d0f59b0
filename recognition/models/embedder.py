"""Embedders: alignment plus a PyTorch descriptor network, each with a model card.

``load_embedder(model)`` accepts a registered name (``dlib-resnet``, ``fr-feature``, ``mobilefacenet``,
``faceres``, ``facenet-vggface2``, ``facenet-casia``), a fusion of registered names joined by ``+`` (see
``recognition.models.zoo``), or the path of a fine-tuned checkpoint.

Checkpoint format (written by fine-tuning with ``save_checkpoint``, read by ``load_checkpoint``): a
``torch.save`` of a dict with exactly these keys::

    {
        "card": {...},            # ModelCard fields as a dict: name, version, input_size,
                                  # embedding_size, metric, default_threshold, weights_sha256, notes
        "arch": "dlib-resnet",    # or "facenet", "mobilefacenet", "faceres"
        "state_dict": {...},      # "dlib-resnet": recognition.models.dlib_resnet.DlibResNet().state_dict()
                                  # "facenet": facenet_pytorch.InceptionResnetV1().state_dict()
                                  # "mobilefacenet": recognition.models.mobilefacenet.MobileFaceNet(folder)
                                  # "faceres": recognition.models.faceres.FaceRes(folder)
    }

Both networks take aligned RGB chips as float 0..255 (N, 3, S, S) and normalise internally.
On loading, ``weights_sha256`` is replaced by the SHA-256 of the checkpoint file itself, so that the
card always names the bytes that were actually loaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from recognition.errors import CheckpointInvalid, WeightsMissing
from recognition.models import registry as models
from recognition.models.dlib_resnet import DlibResNet, load_faceapi
from recognition.pipeline.align import (
    ARCFACE_112,
    DLIB_150,
    FACENET_160,
    FACERES_224,
    AlignedChipEmbedder,
    AlignTemplate,
)
from recognition.types import Embedder, ModelCard

ARCH_TEMPLATES: dict[str, AlignTemplate] = {
    "dlib-resnet": DLIB_150,
    "facenet": FACENET_160,
    "mobilefacenet": ARCFACE_112,
    "faceres": FACERES_224,
}


class TorchEmbedder(AlignedChipEmbedder):
    """Aligns faces on the model's template and runs the descriptor network (implements ``Embedder``)."""

    def __init__(self, network: nn.Module, card: ModelCard, arch: str, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self.network = network.eval().to(self.device)
        self.arch = arch
        self.template = ARCH_TEMPLATES[arch]
        self._card = card

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Descriptors (N, D) for already aligned chips (N, S, S, 3) uint8 RGB."""
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(chips)).to(self.device)
            batch = batch.permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)
            out = self.network(batch)
        return np.ascontiguousarray(out.cpu().numpy(), dtype=np.float32)


def load_embedder(model: str | Path = "dlib-resnet", device: str = "cpu", root: Path | None = None) -> Embedder:
    """Build the embedder for a registered model name, a ``+``-joined fusion of them, or a checkpoint path."""
    name = str(model)
    if "+" in name and not Path(name).is_file():
        from recognition.models.zoo import FusedEmbedder

        return FusedEmbedder([load_embedder(part, device, root) for part in name.split("+")])
    if name == "fr-feature":
        from recognition.models.zoo import load_fr_feature

        return load_fr_feature(root)
    return load_torch_embedder(name, device, root)


def load_torch_embedder(name: str, device: str = "cpu", root: Path | None = None) -> TorchEmbedder:
    """Build a PyTorch embedder (trainable) for a registered name or a checkpoint path."""
    if name == "dlib-resnet":
        return _dlib_resnet(device, root)
    if name == "mobilefacenet":
        return _mobilefacenet(device, root)
    if name == "faceres":
        return _faceres(device, root)
    if name in ("facenet-vggface2", "facenet-casia"):
        return _facenet(name, device, root)
    if Path(name).suffix in (".pt", ".pth") or Path(name).is_file():
        return load_checkpoint(Path(name), device)
    models.spec(name)  # raises the "unknown model" error
    raise AssertionError("unreachable")


def _dlib_resnet(device: str, root: Path | None) -> TorchEmbedder:
    spec = models.spec("dlib-resnet")
    folder = (root or models.models_root()) / spec.folder
    network = load_faceapi(folder)
    card = ModelCard(
        name="dlib-resnet",
        version="1.0",
        input_size=DLIB_150.size,
        embedding_size=128,
        metric="euclidean",
        default_threshold=0.6,
        weights_sha256=models.sha256_of(folder / spec.files[1].name),
        notes="dlib_face_recognition_resnet_model_v1 via face-api.js (MIT); sha256 of the .bin",
    )
    return TorchEmbedder(network, card, "dlib-resnet", device)


def _mobilefacenet(device: str, root: Path | None) -> TorchEmbedder:
    from recognition.models.mobilefacenet import MobileFaceNet
    from recognition.models.zoo import verified_card

    path, card = verified_card("mobilefacenet", 192, "expo-1.0.24", root)
    return TorchEmbedder(MobileFaceNet(path.parent), card, "mobilefacenet", device)


def _faceres(device: str, root: Path | None) -> TorchEmbedder:
    from recognition.models.faceres import FaceRes
    from recognition.models.zoo import verified_card

    path, card = verified_card("faceres", 1024, "human-models-3.0.4", root, FACERES_224.size)  # the graph's pin too
    return TorchEmbedder(FaceRes(path.parent), card, "faceres", device)


def _facenet(name: str, device: str, root: Path | None) -> TorchEmbedder:
    from recognition.models.facenet import load_facenet_file

    spec = models.spec(name)
    file = spec.files[0]
    path = models.locate(spec, file, root)
    if path is None:
        looked = ", ".join(str(p) for p in models.candidates(spec, file, root))
        raise WeightsMissing(
            f"{name} weights not found (looked in {looked}); run `lockers models fetch {name}` "
            f"where online, or copy {file.name} (from {file.url}) into one of those folders"
        )
    card = ModelCard(
        name=name,
        version="2.2.9",
        input_size=FACENET_160.size,
        embedding_size=512,
        metric="euclidean",
        default_threshold=1.1,
        weights_sha256=models.sha256_of(path),
        notes="facenet-pytorch InceptionResnetV1, L2-normalised output; threshold not calibrated here",
    )
    return TorchEmbedder(load_facenet_file(path), card, "facenet", device)


def build_network(arch: str) -> nn.Module:
    """An untrained network of architecture ``arch`` ("dlib-resnet" or "facenet")."""
    if arch == "dlib-resnet":
        return DlibResNet()
    if arch == "facenet":
        from recognition.models.facenet import FacenetNetwork

        return FacenetNetwork()
    if arch == "mobilefacenet":
        from recognition.models.mobilefacenet import MobileFaceNet
        from recognition.models.zoo import verified_file

        return MobileFaceNet(verified_file("mobilefacenet", None).parent)  # the graph's layout; weights follow
    if arch == "faceres":
        from recognition.models.faceres import FaceRes
        from recognition.models.zoo import verified_file

        return FaceRes(verified_file("faceres", None).parent)  # the graph's layout; weights follow
    raise CheckpointInvalid(f"unknown arch {arch!r}; expected one of {', '.join(ARCH_TEMPLATES)}")


def load_checkpoint(path: Path, device: str = "cpu") -> TorchEmbedder:
    """Load a fine-tuned checkpoint (format in the module docstring)."""
    if not path.is_file():
        raise WeightsMissing(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file (pickle, zip, runtime errors)
        raise CheckpointInvalid(f"{path}: not a readable torch checkpoint ({exc})") from exc
    arch, card_fields, state = _checkpoint_parts(path, payload)
    network = build_network(arch)
    _load_state(network, arch, state, path)
    card = _card_from(card_fields, path)
    return TorchEmbedder(network, card, arch, device)


def _checkpoint_parts(path: Path, payload: Any) -> tuple[str, dict[str, Any], dict[str, torch.Tensor]]:
    if not isinstance(payload, dict) or not {"card", "arch", "state_dict"} <= payload.keys():
        raise CheckpointInvalid(f"{path}: expected a dict with keys 'card', 'arch', 'state_dict'")
    if not isinstance(payload["card"], dict) or not isinstance(payload["state_dict"], dict):
        raise CheckpointInvalid(f"{path}: 'card' and 'state_dict' must be dicts")
    return str(payload["arch"]), payload["card"], payload["state_dict"]


def _load_state(network: nn.Module, arch: str, state: dict[str, torch.Tensor], path: Path) -> None:
    if arch == "facenet":
        network.load_inception_state(state)  # type: ignore[operator]
        return
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointInvalid(f"{path}: state_dict does not fit {arch}: {str(exc).splitlines()[0]}") from exc


def _card_from(fields: dict[str, Any], path: Path) -> ModelCard:
    names = {f.name for f in dataclasses.fields(ModelCard)} - {"weights_sha256"}
    try:
        values = {k: fields[k] for k in names if k in fields}
        return ModelCard(**values, weights_sha256=models.sha256_of(path))
    except TypeError as exc:
        raise CheckpointInvalid(f"{path}: card is missing fields ({exc})") from exc


def save_checkpoint(path: Path, network: nn.Module, arch: str, card: ModelCard) -> None:
    """Write a checkpoint in the documented format (``network`` is a ``DlibResNet`` or ``FacenetNetwork``)."""
    if arch not in ARCH_TEMPLATES:
        raise CheckpointInvalid(f"unknown arch {arch!r}")
    module = getattr(network, "inception", network) if arch == "facenet" else network
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save({"card": dataclasses.asdict(card), "arch": arch, "state_dict": state}, path)
