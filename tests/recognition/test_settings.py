from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.app.config.loader import load_config
from controller.domain.errors import ConfigError
from recognition.errors import RecognitionError
from recognition.pipeline.cohort import save_cohort
from recognition.settings import RecognitionSettings
from recognition.types import ModelCard


def card(name: str, threshold: float) -> ModelCard:
    return ModelCard(name, "1", 150, 128, "euclidean", threshold, "0" * 64)


def test_unconfigured_dlib_uses_the_calibrated_service_threshold_not_the_published_one() -> None:
    settings = RecognitionSettings.model_validate({})
    assert settings.agreement(card("dlib-resnet", 0.6)).threshold == 0.45
    assert settings.agreement(card("dlib-resnet-ft", 0.41)).threshold == 0.41


def test_a_configured_threshold_wins() -> None:
    settings = RecognitionSettings.model_validate({"threshold": 0.4, "frames_required": 2, "frames_window": 4})
    policy = settings.agreement(card("dlib-resnet", 0.6))
    assert (policy.threshold, policy.frames_required, policy.frames_window) == (0.4, 2, 4)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"treshold": 0.4}, "recognition.treshold is not a known key"),
        ({"threshold": "low"}, "recognition.threshold: input should be a valid number"),
        ({"frames_required": 6, "frames_window": 5}, "frames_required must not exceed frames_window"),
        ({"model": ""}, "recognition.model: string should have at least 1 character"),
        ({"enrol_samples": True}, "recognition.enrol_samples: input should be a valid integer"),
    ],
)
def test_invalid_sections_are_clear_errors(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, {"recognition": section})


def test_the_default_model_is_the_fusion_and_a_bare_threshold_keeps_dlib() -> None:
    assert RecognitionSettings.model_validate({}).model == "fr-feature+mobilefacenet"
    assert RecognitionSettings.model_validate({"threshold": 0.45}).model == "dlib-resnet"
    both = RecognitionSettings.model_validate({"threshold": 0.9, "model": "fr-feature"})
    assert (both.model, both.agreement(card("fr-feature", 1.2)).threshold) == ("fr-feature", 0.9)


def test_cohort_of_another_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cohort.npz"
    save_cohort(path, np.ones((3, 128), dtype=np.float32), "other@1+000000000000")
    settings = RecognitionSettings.model_validate({"cohort": str(path)})
    with pytest.raises(RecognitionError, match="rebuild it"):
        settings.gallery(card("dlib-resnet", 0.6))


def test_cohort_gives_the_single_template_a_runner_up(tmp_path: Path) -> None:
    path = tmp_path / "cohort.npz"
    owner = card("dlib-resnet", 0.6)
    save_cohort(path, np.eye(128, dtype=np.float32)[:3], owner.model_version)
    gallery = RecognitionSettings.model_validate({"cohort": str(path)}).gallery(owner)
    gallery.add("C1", np.eye(128, dtype=np.float32)[5], "s1")
    result = gallery.search(np.eye(128, dtype=np.float32)[0] * 0.9)
    assert result.best is not None and result.best.compartment_id == "C1"
    assert result.runner_up is not None and result.runner_up.subject_id == "cohort"
    assert abs(result.runner_up.distance - 0.1) < 1e-5  # the nearest stranger, not the owner
