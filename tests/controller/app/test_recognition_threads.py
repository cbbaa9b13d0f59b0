"""The service's recognition runs torch on ``[recognition] threads`` intra-op threads (default one)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from controller.app.config.loader import load_config
from controller.app.recognition import build_recognition
from recognition.pipeline.beside import beside_embedding
from recognition.pipeline.images import load_image


@pytest.fixture
def torch_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # what torch picks by itself on a two-core kiosk
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("section", "expected"), [({}, 1), ({"threads": 3}, 3)])
def test_the_configured_threads_reach_torch(
    assets: Path, torch_threads: None, monkeypatch: pytest.MonkeyPatch, section: dict[str, int], expected: int
) -> None:
    monkeypatch.setenv("LOCKERS_ASSETS", str(assets))
    # An unusual face size keeps this pipeline out of the per-process cache of the other tests' pipelines.
    site = load_config(None, {"recognition": {"model": "dlib-resnet", "min_face_size": 77 + expected, **section}})
    build_recognition(site.site)
    assert torch.get_num_threads() == expected


def test_closing_the_recognition_ends_its_worker_threads(assets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What the daemon's shutdown does once the worker has stopped: the liveness cue's thread and the fusion's
    # part thread end (they were started by a frame that reached the embedding), and nothing else breaks.
    monkeypatch.setenv("LOCKERS_ASSETS", str(assets))
    site = load_config(None, {"recognition": {"min_face_size": 40, "min_face_px": 40}})
    recognition = build_recognition(site.site)
    image = load_image(assets / "data" / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
    before = set(threading.enumerate())
    with beside_embedding(recognition.liveness.start):
        analysis = recognition.pipeline.analyse(image)
    recognition.liveness.observe(image, analysis)
    started = [t for t in set(threading.enumerate()) - before if t.name.startswith(("fused-part", "liveness-cue"))]
    assert {t.name.split("_")[0] for t in started} == {"fused-part", "liveness-cue"}
    recognition.close()
    for thread in started:
        thread.join(timeout=5)
        assert not thread.is_alive(), thread.name
    assert recognition.pipeline.analyse(image).primary is not None  # a closed recognition still analyses
