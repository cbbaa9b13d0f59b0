"""The service's recognition runs torch on ``[recognition] threads`` intra-op threads (default one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from controller.app.config.loader import load_config
from controller.app.recognition import build_recognition


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
