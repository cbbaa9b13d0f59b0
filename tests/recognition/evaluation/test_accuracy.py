"""Real accuracy on real faces with the real dlib-resnet weights (the numbers issue 4 asks for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recognition.evaluation.datasets import FaceEmbedder, face_embedder
from recognition.evaluation.runs import evaluate_folder, evaluate_pairs
from recognition.models.embedder import TorchEmbedder
from recognition.pipeline.detector import MtcnnDetector

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embed(detector: MtcnnDetector, dlib_embedder: TorchEmbedder) -> FaceEmbedder:
    return face_embedder(detector, dlib_embedder)


def test_lfw_pairs_dev_test_at_the_default_threshold(assets: Path, embed: FaceEmbedder) -> None:
    lfw = assets / "data" / "lfw-dev"
    report, _ = evaluate_pairs(lfw / "pairsDevTest.txt", lfw / "images", embed, threshold=0.6)
    assert report["pairs"] == 1000
    assert report["accuracy"] >= 0.98, report
    assert report["auc"] >= 0.99


def test_att_leave_one_out_rank1(assets: Path, embed: FaceEmbedder) -> None:
    report, _ = evaluate_folder(assets / "data" / "att_faces" / "orl_faces", embed, threshold=0.6, mismatched=500)
    assert report["images"] == 400 and report["no_face"]["images"] == 0
    assert report["rank1"] >= 0.98, report


def test_east_asian_impostors_need_a_calibrated_threshold(assets: Path, embed: FaceEmbedder) -> None:
    lfw = assets / "data" / "lfw-dev"
    report, _ = evaluate_folder(
        lfw / "images", embed, threshold=0.6, people=lfw / "people_east_asian.txt", mismatched=1000
    )
    assert report["identities"] == 31
    assert report["far"] > 0.2  # the published 0.6 lets many look-alike strangers through
    calibrated = report["threshold_at_far"]["0.01"]
    assert calibrated < 0.5 and report["tar_at_far"]["0.01"] > 0.8
