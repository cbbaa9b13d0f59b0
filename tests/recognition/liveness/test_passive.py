"""The MiniFASNet pair on real pictures, and its weights refused when they are not the pinned ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from recognition.errors import CheckpointInvalid, WeightsMissing
from recognition.liveness.network import minifasnet_v1se, minifasnet_v2
from recognition.liveness.passive import MiniFasScorer, load_passive
from recognition.models import registry as models
from recognition.pipeline.detector import MtcnnDetector
from tests.recognition.liveness.conftest import load_upright


@pytest.mark.parametrize(("name", "live"), [("image_T1.jpg", True), ("image_F1.jpg", False), ("image_F2.jpg", False)])
def test_samples_score_as_published(
    name: str, live: bool, scorer: MiniFasScorer, detector: MtcnnDetector, liveness_models_root: Path
) -> None:
    image = load_upright(liveness_models_root / "anti-spoof" / "samples" / name)
    faces = detector.detect(image)
    assert faces, f"{name}: MTCNN found no face"
    assert (scorer.score(image, faces[0]) >= 0.5) is live


def test_definitions_take_the_published_state_dicts_exactly(liveness_models_root: Path) -> None:
    pairs = (("2.7_80x80_MiniFASNetV2.pth", minifasnet_v2()), ("4_0_0_80x80_MiniFASNetV1SE.pth", minifasnet_v1se()))
    for file, net in pairs:
        state = torch.load(liveness_models_root / "anti-spoof" / file, map_location="cpu", weights_only=True)
        result = net.load_state_dict({k.removeprefix("module."): v for k, v in state.items()}, strict=True)
        assert not result.missing_keys and not result.unexpected_keys


def test_card_names_both_weight_files(scorer: MiniFasScorer) -> None:
    card = scorer.card
    assert (card.name, card.input_size, card.scales) == ("minifasnet", 80, (2.7, 4.0))
    assert card.model_version.startswith("minifasnet@") and card.weights_sha256[:12] in card.model_version


def test_tampered_weights_are_refused_before_loading(liveness_models_root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "anti-spoof"
    folder.mkdir()
    for file in models.spec("minifasnet").files:
        shutil.copyfile(liveness_models_root / "anti-spoof" / file.name, folder / file.name)
    with (folder / "4_0_0_80x80_MiniFASNetV1SE.pth").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CheckpointInvalid, match="does not match the pinned"):
        load_passive(root=tmp_path)


def test_missing_weights_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissing, match="lockers models fetch minifasnet"):
        load_passive(root=tmp_path)
