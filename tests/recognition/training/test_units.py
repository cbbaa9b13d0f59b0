"""Fast checks without assets: split, heads, augmentations, freezing, options."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from recognition.training.augment import FaceAugment
from recognition.training.config import TrainConfig
from recognition.training.errors import ConfigInvalid, DatasetError
from recognition.training.heads import ArcFaceHead, SoftmaxHead, build_head
from recognition.training.optim import freeze
from recognition.training.split import split_identities


def _names(identities: int, per_identity: int) -> list[str]:
    return [f"id{i:02d}" for i in range(identities) for _ in range(per_identity)]


def test_split_is_by_identity_seeded_and_drops_singletons() -> None:
    names = _names(40, 3) + ["lonely"]
    split = split_identities(names, 10, seed=7)
    assert not set(split.train) & set(split.validation)
    assert (len(split.train), len(split.validation), split.dropped) == (30, 10, ("lonely",))
    assert split_identities(names, 10, seed=7) == split
    assert split_identities(names, 10, seed=8).validation != split.validation
    assert split.digest() == split_identities(list(reversed(names)), 10, seed=7).digest()


def test_split_defaults_to_a_quarter() -> None:
    assert len(split_identities(_names(40, 2), None, seed=0).validation) == 10


@pytest.mark.parametrize(
    ("names", "validation", "message"),
    [(_names(10, 1), None, "identities with 2"), (_names(5, 2), 4, "between 2 and 3")],
)
def test_split_rejects_unusable_input(names: list[str], validation: int | None, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        split_identities(names, validation, seed=0)


def test_arcface_adds_the_margin_to_the_true_class_only() -> None:
    head = ArcFaceHead(4, 3, scale=10.0, margin=0.3)
    with torch.no_grad():
        head.weight.copy_(torch.eye(3, 4))
    embedding = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    logits = head(embedding, torch.tensor([0]))
    theta = math.pi / 4
    assert logits[0, 0].item() == pytest.approx(10 * math.cos(theta + 0.3), abs=1e-4)
    assert logits[0, 1].item() == pytest.approx(10 * math.cos(theta), abs=1e-4)
    assert head(embedding)[0, 0].item() == pytest.approx(10 * math.cos(theta), abs=1e-4)


def test_heads_by_loss_name() -> None:
    assert isinstance(build_head("ce", 8, 5), SoftmaxHead)
    assert isinstance(build_head("arcface", 8, 5), ArcFaceHead)
    assert build_head("ce", 8, 5)(torch.zeros(2, 8), torch.tensor([0, 1])).shape == (2, 5)


def test_augmentation_is_reproducible_and_keeps_range() -> None:
    batch = torch.rand(4, 3, 32, 32) * 255
    first = FaceAugment()(batch, torch.Generator().manual_seed(1))
    again = FaceAugment()(batch, torch.Generator().manual_seed(1))
    assert torch.equal(first, again)
    assert first.shape == batch.shape and first.min() >= 0.0 and first.max() <= 255.0
    assert not torch.equal(first, batch)
    assert torch.equal(FaceAugment.none()(batch, torch.Generator().manual_seed(1)), batch)


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(3, 3)
        self.fc = nn.Linear(3, 2)


def test_freeze_backbone_leaves_the_embedding_layer() -> None:
    net = _Tiny()
    assert freeze(net, "dlib-resnet", ("backbone",)) == ["body.bias", "body.weight"]
    assert [n for n, p in net.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]


def test_freeze_rejects_unknown_names_and_freezing_everything() -> None:
    with pytest.raises(ConfigInvalid, match="matches no parameter; top-level names: body, fc"):
        freeze(_Tiny(), "dlib-resnet", ("nope",))
    with pytest.raises(ConfigInvalid, match="no trainable parameter"):
        freeze(_Tiny(), "dlib-resnet", ("body", "fc"))


@pytest.mark.parametrize(
    ("options", "message"),
    [({"loss": "triplet"}, "--loss"), ({"scheduler": "plateau"}, "--scheduler"), ({"epochs": 0}, "--epochs")],
)
def test_config_rejects_bad_options(options: dict[str, object], message: str) -> None:
    from pathlib import Path

    with pytest.raises(ConfigInvalid, match=message):
        TrainConfig(data=Path("d"), base="dlib-resnet", out=Path("o.pt"), **options)  # type: ignore[arg-type]
