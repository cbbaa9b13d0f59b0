"""The ``[recognition]`` and ``[camera]`` sections of the configuration file, validated on load.

Example::

    [recognition]
    model = "fr-feature+mobilefacenet"  # default; or dlib-resnet, fr-feature, mobilefacenet, faceres, facenet-*, a
                                # '+'-joined fusion, or a fine-tuned checkpoint path
    threshold = 1.0             # default: recognition.pipeline.agreement.SERVICE_THRESHOLDS, else the model card's;
                                # calibrate per population (``lockers calibrate``). A threshold set without
                                # a model keeps the former default model, dlib-resnet, it was chosen for.
    margin = 0.05               # best must beat the runner-up by this much
    near_miss = 0.1             # a face within threshold x (1 + near_miss) still counts as a (failed) attempt
    cohort = ""                 # .npz from ``lockers cohort build``: runner-up when < 2 compartments are occupied
    frames_required = 3         # k of ...
    frames_window = 5           # ... the last n frames
    window_s = 2.0
    min_face_size = 80          # MTCNN's smallest face (pixels): larger is faster
    min_face_px = 60            # quality gate: the smallest face accepted for enrolment and matching
    device = "cpu"
    enrol_samples = 3

    [camera]
    source = "0"                # device index, rtsp:// or http:// URL, video file, or folder of images
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from controller.domain.errors import ConfigError
from recognition.gallery import Gallery
from recognition.pipeline.agreement import DEFAULT_MODEL, SERVICE_THRESHOLDS, AgreementPolicy, service_threshold
from recognition.types import ModelCard

LEGACY_MODEL = "dlib-resnet"
"""The default model before fusion: a configured threshold without a model was calibrated for it."""

__all__ = ["SERVICE_THRESHOLDS", "RecognitionSettings"]


@dataclass(frozen=True, slots=True)
class RecognitionSettings:
    """What the service needs to build its recognition pipeline and decision rules."""

    model: str = DEFAULT_MODEL
    threshold: float | None = None
    margin: float = 0.05
    near_miss: float = 0.1
    cohort: str = ""
    frames_required: int = 3
    frames_window: int = 5
    window_s: float = 2.0
    min_face_size: int = 80
    min_face_px: float = 60.0
    device: str = "cpu"
    enrol_samples: int = 3
    camera: str = ""

    @classmethod
    def from_sections(cls, recognition: Mapping[str, Any], camera: Mapping[str, Any]) -> RecognitionSettings:
        """Validate both sections; unknown keys and wrong types are a ``ConfigError``."""
        known = {f.name for f in fields(cls)} - {"camera"}
        unknown = sorted(set(recognition) - known)
        if unknown:
            raise ConfigError(f"[recognition] has unknown keys: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in recognition.items():
            values[key] = _checked(key, value, getattr(cls(), key))
        if "threshold" in values and "model" not in values:
            values["model"] = LEGACY_MODEL
        source = camera.get("source", "")
        if not isinstance(source, str | int) or isinstance(source, bool):
            raise ConfigError("camera.source must be a string or a device index")
        settings = cls(**values, camera=str(source))
        settings._policy(settings.threshold or 1.0)  # validates the decision rule now, not at the first face
        return settings

    def threshold_for(self, card: ModelCard) -> float:
        """The configured threshold, else the service default for the model, else its card's."""
        return self.threshold if self.threshold is not None else service_threshold(card)

    def agreement(self, card: ModelCard) -> AgreementPolicy:
        """The k-of-n decision rule for a pipeline whose model card is ``card``."""
        return self._policy(self.threshold_for(card))

    def _policy(self, threshold: float) -> AgreementPolicy:
        return AgreementPolicy(
            threshold=threshold,
            margin=self.margin,
            frames_required=self.frames_required,
            frames_window=self.frames_window,
            window_s=self.window_s,
            near_miss=self.near_miss,
        )

    def gallery(self, card: ModelCard) -> Gallery:
        """An empty gallery for ``card``'s descriptors, with the configured cohort as open-set runner-up."""
        gallery = Gallery(card.embedding_size, card.metric)
        if self.cohort:
            from pathlib import Path

            from recognition.pipeline.cohort import load_cohort

            gallery.set_cohort(load_cohort(Path(self.cohort), card))
        return gallery


def _checked(key: str, value: Any, default: Any) -> Any:
    if key == "threshold" or isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"recognition.{key} must be a non-negative number, got {value!r}")
        return float(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"recognition.{key} must be a positive integer, got {value!r}")
        return value
    if key == "cohort" and isinstance(value, str):
        return value
    if not isinstance(value, str) or not value:
        raise ConfigError(f"recognition.{key} must be a non-empty string, got {value!r}")
    return value
