"""The runtime on real faces (AT&T) with the real dlib-resnet pipeline: enrol, store, identify, reject.

The threshold is 0.5, not the model card's published 0.6: on AT&T the closest stranger pairs fall
between 0.55 and 0.62, which is exactly the looseness issue 4 warns about; a site calibrates its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recognition.errors import ModelError
from recognition.fakes import FileFrameSource
from recognition.gallery import Gallery
from recognition.pipeline.agreement import AgreementPolicy
from recognition.pipeline.enrolment import EnrolmentPolicy, build_template
from recognition.pipeline.face import build_pipeline
from recognition.pipeline.images import load_image
from recognition.runtime.worker import RecognitionWorker
from recognition.types import FacePipeline
from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
from tests.conftest import missing_asset
from tests.support.observations import Observations
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

POLICY = AgreementPolicy(threshold=0.5, margin=0.08, frames_required=3, frames_window=5, window_s=30.0)


@pytest.fixture(scope="module")
def pipeline(assets: Path) -> FacePipeline:
    try:
        return build_pipeline("dlib-resnet", threads=2, models_root=assets / "models")
    except ModelError as exc:
        missing_asset(f"dlib-resnet pipeline unavailable: {exc}")


@pytest.fixture(scope="module")
def faces(assets: Path) -> Callable[[str, range], list[Path]]:
    root = assets / "data" / "att_faces" / "orl_faces"
    if not root.is_dir():
        missing_asset(f"AT&T faces not found under {root}")
    return lambda person, numbers: [root / person / f"{n}.pgm" for n in numbers]



@pytest.fixture
def gallery(pipeline: FacePipeline, faces: Callable[[str, range], list[Path]]) -> Iterator[Gallery]:
    """Three other occupied compartments, enrolled from three photos each."""
    gallery = Gallery(pipeline.card.embedding_size, pipeline.card.metric)
    policy = EnrolmentPolicy.for_card(pipeline.card)
    for person in ("s3", "s4", "s5"):
        analyses = [pipeline.analyse(load_image(path)) for path in faces(person, range(1, 4))]
        gallery.add(f"C-{person}", build_template(analyses, policy).template, subject_id=person)
    yield gallery


def worker_on(paths: list[Path], pipeline: FacePipeline, gallery: Gallery) -> RecognitionWorker:
    return RecognitionWorker(FileFrameSource(paths, loop=True, interval_s=0.05), pipeline, gallery, POLICY)


def test_depositor_is_identified_and_stranger_rejected(
    pipeline: FacePipeline, faces: Callable[[str, range], list[Path]], gallery: Gallery, tmp_path: Path
) -> None:
    enroller = worker_on(faces("s1", range(1, 5)), pipeline, gallery)
    future = enroller.enrol(samples=3, timeout_s=120)
    enroller.start(Observations())
    enrolment = future.result(timeout=180)
    enroller.stop()

    store = SqliteTemplateStore(tmp_path / "templates.db", parse_master_key(generate_master_key()))
    ref = store.put(enrolment.template, pipeline.card.model_version)
    gallery.add("C-depositor", store.get(ref), subject_id="depositor")

    retrieval = worker_on(faces("s1", range(5, 11)), pipeline, gallery)
    seen = Observations()
    retrieval.start(seen)
    wait_until(lambda: any(m.accepted for m in seen.matches()), 120, interval=0.05)
    retrieval.stop()
    accepted = next(m for m in seen.matches() if m.accepted)
    assert (accepted.compartment_id, accepted.evidence.subject_id) == ("C-depositor", "depositor")
    evidence = accepted.evidence
    assert evidence.distance <= POLICY.threshold and evidence.model_version == pipeline.card.model_version

    stranger = worker_on(faces("s2", range(1, 11)), pipeline, gallery)
    seen = Observations()
    stranger.start(seen)
    wait_until(lambda: len(seen.matches()) >= 8, 120, interval=0.05)
    stranger.stop()
    assert not any(m.accepted for m in seen.matches())
    assert all(m.compartment_id is None for m in seen.matches())

    store.destroy(ref)
    assert store.refs() == []
