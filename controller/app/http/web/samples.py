"""The simulator panel's sample faces, shown to the bank as a kiosk camera would show a person.

The samples are LFW's 150x150 thumbnails (``LOCKERS_ASSETS/data/lfw-dev/images``): press photographs in
which a face is about 55 px wide. A kiosk camera (640x480) sees a person standing at the screen with a face
of 150 px and more, and the default gates (``[recognition] min_face_size = 80``, ``min_face_px = 60``) are
set for that camera. Rather than lower the gates for everyone, each sample is served as the camera's frame
would be: the photograph enlarged until it fills a 640x480 frame (the face then about 235 px wide, a person
close to the screen), its middle kept. The whole picture stays natural to its edges: a photograph pasted on a
plain background shows a paper's border, and the passive liveness check rightly refuses it. The gates stay
those of a real camera, and the page shows the frame it sends. ``tests/controller/app/http/test_samples.py``
runs the default gates on every frame offered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import cv2
import numpy as np

SAMPLE_PEOPLE: Final = ("Colin_Powell", "Roh_Moo-hyun", "Junichiro_Koizumi")
SAMPLE_FRAMES: Final = 12
SAMPLE_SKIPPED: Final = frozenset({
    # Another person's face beside or behind: the camera would see two people (``multiple_faces``).
    "Colin_Powell_0010", "Colin_Powell_0011", "Roh_Moo-hyun_0002", "Roh_Moo-hyun_0004", "Roh_Moo-hyun_0005",
    "Junichiro_Koizumi_0001", "Junichiro_Koizumi_0011",
    "Roh_Moo-hyun_0012",  # head turned beyond the frontal gate (yaw 0.38 > 0.35)
})
"""Photographs a kiosk camera would refuse however it framed them: never offered."""

CAMERA_FRAME: Final = (640, 480)
"""Width and height of the kiosk camera's frame (a common webcam mode)."""


def sample_frames(root: Path | None, person: str) -> list[Path]:
    """The photographs offered for ``person`` (empty when the assets are absent or the person is not offered)."""
    folder = root / "data/lfw-dev/images" / person if root is not None else None
    if folder is None or person not in SAMPLE_PEOPLE or not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob("*.jpg")) if path.stem not in SAMPLE_SKIPPED][:SAMPLE_FRAMES]


def camera_frame(photo: Path) -> bytes:
    """``photo`` as the kiosk camera would see its person: enlarged to fill ``CAMERA_FRAME``, its middle, as JPEG."""
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"not an image: {photo}")
    frame_w, frame_h = CAMERA_FRAME
    scale = max(frame_w / image.shape[1], frame_h / image.shape[0])
    size = (max(frame_w, round(image.shape[1] * scale)), max(frame_h, round(image.shape[0] * scale)))
    enlarged = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    top, left = (size[1] - frame_h) // 2, (size[0] - frame_w) // 2
    frame = np.ascontiguousarray(enlarged[top:top + frame_h, left:left + frame_w])
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise ValueError(f"could not encode a frame of {photo}")
    return encoded.tobytes()
