"""The simulator panel's sample faces pass the gates of ``lockers run``'s defaults, as the page receives them.

The list is the one the page is offered (``GET /kiosk/setup`` in simulate mode), every frame is fetched
from ``GET /kiosk/samples/...`` and judged by MTCNN and the quality gates with the default
``[recognition]`` settings: a newcomer's first deposit on the page must not be refused as too far away.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from controller.app.http.access import Access, AccessSettings
from controller.app.http.operators import OperatorDirectory
from controller.app.http.web.feed import KioskFeed
from controller.app.http.web.pages import KioskSettings, pages_router
from controller.app.http.web.samples import CAMERA_FRAME, SAMPLE_PEOPLE
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector
from recognition.pipeline.quality import QualityConfig, assess, select_primary
from recognition.settings import RecognitionSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def kiosk_client(tmp_path: Path, assets: Path) -> httpx.AsyncClient:
    """The kiosk's routes as ``lockers run --simulate`` serves them (samples from the assets)."""
    access = Access(OperatorDirectory(tmp_path / "operators.db"), AccessSettings(simulate=True))
    app = FastAPI()
    app.include_router(pages_router(access, KioskFeed(), KioskSettings(simulate=True, samples_root=assets), False))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def offered_frames(client: httpx.AsyncClient) -> list[tuple[str, np.ndarray]]:
    """Every frame the panel offers, as the page fetches and sends it (RGB)."""
    setup = (await client.get("/kiosk/setup")).json()
    assert [sample["id"] for sample in setup["samples"]] == list(SAMPLE_PEOPLE)
    frames = []
    for sample in setup["samples"]:
        for index in range(sample["frames"]):
            response = await client.get(f"/kiosk/samples/{sample['id']}/{index}")
            assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
            image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
            frames.append((f"{sample['id']}/{index}", cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    return frames


async def test_every_offered_sample_passes_the_default_gates(tmp_path: Path, assets: Path) -> None:
    defaults = RecognitionSettings()
    detector = MtcnnDetector(DetectorConfig(min_face_size=defaults.min_face_size))
    gates = QualityConfig(min_face_px=defaults.min_face_px)
    async with kiosk_client(tmp_path, assets) as client:
        frames = await offered_frames(client)
    assert len(frames) >= defaults.enrol_samples * len(SAMPLE_PEOPLE)
    refused = {}
    for name, image in frames:
        assert image.shape[1::-1] == CAMERA_FRAME, name  # a camera's frame, not a thumbnail
        faces = detector.detect(image)
        index, reason = select_primary(faces, gates, image.shape)
        report = assess(image, faces[index], gates) if index is not None else None
        if report is None or not report.ok:
            refused[name] = reason or (report.reasons if report else "")
    assert not refused, refused
