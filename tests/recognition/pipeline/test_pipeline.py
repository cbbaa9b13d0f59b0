from __future__ import annotations

from pathlib import Path

import numpy as np

from recognition.pipeline.face import MtcnnPipeline
from recognition.pipeline.images import load_image
from recognition.types import FacePipeline


def _embed(pipeline: MtcnnPipeline, path: Path) -> np.ndarray:
    analysis = pipeline.analyse(load_image(path))
    assert analysis.rejection is None, analysis.rejection
    assert analysis.primary is not None and analysis.primary.embedding is not None
    return analysis.primary.embedding


def test_pipeline_satisfies_the_protocol(pipeline: MtcnnPipeline) -> None:
    typed: FacePipeline = pipeline
    assert typed.card.name == "dlib-resnet"
    assert len(typed.card.weights_sha256) == 64
    assert typed.card.model_version.startswith("dlib-resnet@1.0+")


def test_analyse_returns_a_real_128d_embedding_with_timings(pipeline: MtcnnPipeline, samples: Path) -> None:
    analysis = pipeline.analyse(load_image(samples / "examples" / "obama.jpg"))
    assert analysis.primary is not None and analysis.primary.embedding is not None
    assert analysis.primary.embedding.shape == (128,)
    assert analysis.primary.embedding.dtype == np.float32
    assert analysis.detect_ms > 0 and analysis.embed_ms > 0


def test_same_person_is_closer_than_different_people(pipeline: MtcnnPipeline, samples: Path) -> None:
    obama = _embed(pipeline, samples / "examples" / "obama.jpg")
    obama2 = _embed(pipeline, samples / "examples" / "obama2.jpg")
    biden = _embed(pipeline, samples / "examples" / "biden.jpg")
    same = float(np.linalg.norm(obama - obama2))
    different = float(np.linalg.norm(obama - biden))
    assert same < pipeline.card.default_threshold < different


def test_two_faces_are_rejected_with_a_reason(pipeline: MtcnnPipeline, samples: Path) -> None:
    analysis = pipeline.analyse(load_image(samples / "examples" / "two_people.jpg"))
    assert len(analysis.samples) == 2
    assert analysis.rejection == "multiple_faces"
    assert analysis.primary is None
