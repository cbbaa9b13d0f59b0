"""The simulator panel's sample faces, shown to the bank as a kiosk camera would show a person.

The samples are LFW's 150x150 thumbnails (``LOCKERS_ASSETS/data/lfw-dev/images``): press photographs in
which a face is about 55 px wide. A kiosk camera (640x480) sees a person at arm's length with a face of
about 150 px, and the default gates (``[recognition] min_face_size = 80``, ``min_face_px = 60``) are set
for that camera. Rather than lower the gates for everyone, each sample is served as the camera's frame
would be: the middle of the photograph (the face, without the bystanders at its edges), enlarged to the
kiosk's face size, on a plain wall. The gates stay those of a real camera, and the page shows the frame it
sends. ``tests/controller/app/http/test_samples.py`` runs the default gates on every frame offered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import cv2
import numpy as np

SAMPLE_PEOPLE: Final = ("Colin_Powell", "Roh_Moo-hyun", "Junichiro_Koizumi")
SAMPLE_FRAMES: Final = 12
SAMPLE_SKIPPED: Final = frozenset({
    "Roh_Moo-hyun_0004",  # a second face close behind his shoulder: the camera would see two people
    "Roh_Moo-hyun_0012",  # head turned beyond the frontal gate (yaw 0.38 > 0.35)
})
"""Photographs a kiosk camera would refuse however it framed them: never offered."""

CAMERA_FRAME: Final = (640, 480)
"""Width and height of the kiosk camera's frame (a common webcam mode)."""
KIOSK_FACE_PX: Final = 150.0
"""A face at arm's length (about 55 cm, a 15 cm face) through a 60-degree lens in a 640 px wide frame."""
THUMBNAIL_FACE_PX: Final = 55.0
"""The median face (MTCNN box side) in LFW's 150x150 thumbnails, measured on the samples: 48-60 px."""
CENTRE: Final = (100, 120)
"""The middle of a thumbnail kept (width, height): LFW centres the face; bystanders stand at the edges."""
WALL: Final = 128  # a plain grey wall behind the person


def sample_frames(root: Path | None, person: str) -> list[Path]:
    """The photographs offered for ``person`` (empty when the assets are absent or the person is not offered)."""
    folder = root / "data/lfw-dev/images" / person if root is not None else None
    if folder is None or person not in SAMPLE_PEOPLE or not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob("*.jpg")) if path.stem not in SAMPLE_SKIPPED][:SAMPLE_FRAMES]


def camera_frame(photo: Path) -> bytes:
    """``photo`` as the kiosk camera would see its person: a JPEG of ``CAMERA_FRAME`` with the face at kiosk size."""
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"not an image: {photo}")
    height, width = image.shape[:2]
    keep_w, keep_h = min(CENTRE[0], width), min(CENTRE[1], height)
    top, left = (height - keep_h) // 2, (width - keep_w) // 2
    scale = KIOSK_FACE_PX / THUMBNAIL_FACE_PX
    face = cv2.resize(image[top:top + keep_h, left:left + keep_w], None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_CUBIC)
    frame_w, frame_h = CAMERA_FRAME
    frame = np.full((frame_h, frame_w, 3), WALL, np.uint8)
    y, x = (frame_h - face.shape[0]) // 2, (frame_w - face.shape[1]) // 2
    frame[y:y + face.shape[0], x:x + face.shape[1]] = face
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise ValueError(f"could not encode a frame of {photo}")
    return encoded.tobytes()
