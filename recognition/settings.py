"""The ``[recognition]`` and ``[camera]`` sections of the configuration file: their models, defaults and rules.

The site schema (``controller.app.config.schema``) composes these models; the service receives them as they
were validated. Example::

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
    threads = 1                 # torch's intra-op threads: a frame's parts already run side by side

    [camera]
    source = "0"                # device index, rtsp:// or http:// URL, video file, or folder of images
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from recognition.gallery import Gallery
from recognition.pipeline.agreement import DEFAULT_MODEL, SERVICE_THRESHOLDS, AgreementPolicy, service_threshold
from recognition.types import ModelCard

LEGACY_MODEL = "dlib-resnet"
"""The default model before fusion: a configured threshold without a model was calibrated for it."""

__all__ = ["SERVICE_THRESHOLDS", "CameraSettings", "RecognitionSettings", "Section"]


class Section(BaseModel):
    """A table of the configuration file: unknown keys, wrong types, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class RecognitionSettings(Section):
    """``[recognition]``: the model, the decision rule and the quality gates the service recognises with."""

    model: str = Field(DEFAULT_MODEL, min_length=1)
    threshold: float | None = Field(None, gt=0, le=2)  # a distance between unit vectors lies in 0..2
    margin: float = Field(0.05, ge=0, lt=2)
    near_miss: float = Field(0.1, ge=0, le=1)  # relative: threshold x (1 + near_miss) is still an attempt
    cohort: str = ""  # .npz from `lockers cohort build`; empty: no open-set runner-up
    frames_required: int = Field(3, ge=1, le=100)
    frames_window: int = Field(5, ge=1, le=100)
    window_s: float = Field(2.0, gt=0, le=60)
    min_face_size: int = Field(80, ge=10, le=4096)
    min_face_px: float = Field(60.0, gt=0, le=4096)
    device: str = Field("cpu", min_length=1)
    enrol_samples: int = Field(3, ge=1, le=50)
    threads: int = Field(1, ge=1, le=256)
    """Torch's intra-op threads (process-wide). One: a frame's work already runs on several threads (the
    fusion's parts, the liveness score beside the embedding), and a kiosk's cores also serve its page;
    two intra-op threads per part on two shared cores made the per-frame time 4-5x longer under load."""

    @model_validator(mode="before")
    @classmethod
    def _bare_threshold_keeps_its_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("threshold") is not None and "model" not in data:
            return {**data, "model": LEGACY_MODEL}
        return data

    @model_validator(mode="after")
    def _window_holds_the_frames(self) -> RecognitionSettings:
        if self.frames_required > self.frames_window:
            raise ValueError("frames_required must not exceed frames_window")
        return self

    def threshold_for(self, card: ModelCard) -> float:
        """The configured threshold, else the service default for the model, else its card's."""
        return self.threshold if self.threshold is not None else service_threshold(card)

    def agreement(self, card: ModelCard) -> AgreementPolicy:
        """The k-of-n decision rule for a pipeline whose model card is ``card``."""
        return AgreementPolicy(
            threshold=self.threshold_for(card),
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
            from recognition.pipeline.cohort import load_cohort

            gallery.set_cohort(load_cohort(Path(self.cohort), card))
        return gallery


class CameraSettings(Section):
    """``[camera]``: device index, rtsp:// or http:// URL, video file or image folder."""

    source: str = ""

    @field_validator("source", mode="before")
    @classmethod
    def _index_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def model_part_is_path(part: str) -> bool:
    """Whether one ``+``-joined part of ``[recognition] model`` names a checkpoint file (not a registered model)."""
    from recognition.models.registry import REGISTRY

    return part not in REGISTRY and (Path(part).suffix in (".pt", ".pth") or "/" in part)


def source_is_path(source: str) -> bool:
    """Whether a camera ``source`` names a video file or an image folder (not a device index, not a URL)."""
    return bool(source.strip()) and not source.strip().isdigit() and "://" not in source
