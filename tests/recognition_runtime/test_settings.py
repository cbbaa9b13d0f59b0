from __future__ import annotations

import pytest

from controller.domain.errors import ConfigError
from recognition.settings import RecognitionSettings
from recognition.types import ModelCard


def card(name: str, threshold: float) -> ModelCard:
    return ModelCard(name, "1", 150, 128, "euclidean", threshold, "0" * 64)


def test_unconfigured_dlib_uses_the_calibrated_service_threshold_not_the_published_one() -> None:
    settings = RecognitionSettings.from_sections({}, {})
    assert settings.agreement(card("dlib-resnet", 0.6)).threshold == 0.45
    assert settings.agreement(card("dlib-resnet-ft", 0.41)).threshold == 0.41


def test_a_configured_threshold_wins() -> None:
    settings = RecognitionSettings.from_sections({"threshold": 0.4, "frames_required": 2, "frames_window": 4}, {})
    policy = settings.agreement(card("dlib-resnet", 0.6))
    assert (policy.threshold, policy.frames_required, policy.frames_window) == (0.4, 2, 4)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"treshold": 0.4}, "unknown keys: treshold"),
        ({"threshold": "low"}, "non-negative number"),
        ({"frames_required": 6, "frames_window": 5}, "frames_required <= frames_window"),
        ({"model": ""}, "non-empty string"),
        ({"enrol_samples": True}, "positive integer"),
    ],
)
def test_invalid_sections_are_clear_errors(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RecognitionSettings.from_sections(section, {})
