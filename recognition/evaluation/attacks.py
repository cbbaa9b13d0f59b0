"""Synthetic presentation attacks from photographs, reproducible from a seed (NumPy and OpenCV only).

Every attack attempt is built from ONE photograph, as an attacker holding a picture of the owner
would: ``replay`` repeats it, ``reencoded`` re-compresses, rescales, blurs, rotates, mirrors or greys
it, ``printed`` shows it on paper moved by hand, ``screen`` on a phone. Genuine attempts are distinct
photographs of one person (they stand in for a live head, which no file can be).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from recognition.types import Image

ATTACK_TYPES: tuple[str, ...] = ("replay", "reencoded", "printed", "screen")
FRAME_SIZE = (640, 480)
"""(width, height) of a synthetic kiosk frame."""

Rng = np.random.Generator


def replay(photo: Image, frames: int, rng: Rng) -> list[Image]:
    """The same picture, frame after frame (an injected or looped still)."""
    return [photo.copy() for _ in range(frames)]


def reencoded(photo: Image, frames: int, rng: Rng) -> list[Image]:
    """Copies of one picture, each scaled, rotated, blurred, mirrored or greyed, and re-compressed."""
    return [_reencode_once(photo, rng) for _ in range(frames)]


def _reencode_once(photo: Image, rng: Rng) -> Image:
    height, width = photo.shape[:2]
    scale = rng.uniform(0.5, 1.0)
    angle = rng.uniform(-8, 8)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    out = _u8(cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT))
    if rng.random() < 0.5:
        out = _u8(cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5)))
    if rng.random() < 0.3:
        out = out[:, ::-1]
    if rng.random() < 0.3:
        out = np.repeat(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    return jpeg(np.ascontiguousarray(out), int(rng.integers(30, 90)))


def printed(photo: Image, frames: int, rng: Rng) -> list[Image]:
    """One print held by hand: the paper tilts a little, the light changes, the sensor adds noise."""
    paper = _paper(photo, rng)
    background = _background(rng)
    return [_present(paper, background, rng, tilt=0.06, gain=(0.8, 1.1)) for _ in range(frames)]


def screen(photo: Image, frames: int, rng: Rng) -> list[Image]:
    """One picture on a phone: black bezel, gamma, moire, glare, tilted a little between frames."""
    display = _display(photo, rng)
    background = _background(rng)
    return [_glare(_present(display, background, rng, tilt=0.05, gain=(0.9, 1.2)), rng) for _ in range(frames)]


GENERATORS: dict[str, Callable[[Image, int, Rng], list[Image]]] = {
    "replay": replay,
    "reencoded": reencoded,
    "printed": printed,
    "screen": screen,
}


def jpeg(image: Image, quality: int) -> Image:
    """Round-trip through JPEG at ``quality`` (RGB in, RGB out)."""
    ok, data = cv2.imencode(".jpg", image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return _u8(np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR))[:, :, ::-1])


def _u8(array: object) -> Image:
    return np.ascontiguousarray(np.clip(np.asarray(array), 0, 255).astype(np.uint8))


def _paper(photo: Image, rng: Rng) -> Image:
    """A print: white margin, ink that never reaches black or white, paper grain, less saturation."""
    ink = 20 + photo.astype(np.float32) * (215 / 255)
    grey = ink.mean(axis=2, keepdims=True)
    ink = grey + (ink - grey) * rng.uniform(0.6, 0.85)
    grain = cv2.GaussianBlur(rng.normal(0, 6, photo.shape[:2]).astype(np.float32), (0, 0), 1.2)
    margin = max(4, photo.shape[0] // 12)
    sheet = np.full((photo.shape[0] + 2 * margin, photo.shape[1] + 2 * margin, 3), 235, np.float32)
    sheet[margin:-margin, margin:-margin] = ink
    sheet += cv2.resize(grain, (sheet.shape[1], sheet.shape[0]))[:, :, None]
    return _u8(sheet)


def _display(photo: Image, rng: Rng) -> Image:
    """A phone showing the picture: gamma, a moire beat with the camera's pixel grid, a black bezel."""
    shown = 255 * (photo.astype(np.float32) / 255) ** rng.uniform(0.7, 1.4)
    ys, xs = np.mgrid[0 : photo.shape[0], 0 : photo.shape[1]].astype(np.float32)
    angle, period = rng.uniform(0, math.pi), rng.uniform(3, 7)
    moire = 1 + 0.08 * np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
    shown = shown * moire[:, :, None]
    bezel = max(6, photo.shape[0] // 10)
    phone = np.full((photo.shape[0] + 4 * bezel, photo.shape[1] + 2 * bezel, 3), 12, np.float32)
    phone[2 * bezel : -2 * bezel, bezel:-bezel] = shown
    return _u8(phone)


def _background(rng: Rng) -> Image:
    width, height = FRAME_SIZE
    base = rng.uniform(60, 200, 3).astype(np.float32)
    ramp = np.linspace(-30, 30, width, dtype=np.float32)[None, :, None]
    return _u8(np.broadcast_to(base, (height, width, 3)) + ramp)


def _present(card: Image, background: Image, rng: Rng, tilt: float, gain: tuple[float, float]) -> Image:
    """Place ``card`` in the frame under a small random perspective, lighting change and sensor noise."""
    width, height = FRAME_SIZE
    h, w = card.shape[:2]
    size = height * rng.uniform(0.7, 0.85)
    scale = size / max(h, w)
    cx, cy = width / 2 + rng.uniform(-40, 40), height / 2 + rng.uniform(-20, 20)
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) * scale
    target = (corners + rng.uniform(-tilt, tilt, (4, 2)) * size + [cx, cy]).astype(np.float32)
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    frame = np.asarray(
        cv2.warpPerspective(card, matrix, (width, height), dst=background.copy(), borderMode=cv2.BORDER_TRANSPARENT)
    )
    return _u8(frame.astype(np.float32) * rng.uniform(*gain) + rng.normal(0, 3, frame.shape))


def _glare(frame: Image, rng: Rng) -> Image:
    height, width = frame.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    gx, gy, radius = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height, rng.uniform(40, 120)
    spot = 90 * np.exp(-((xs - gx) ** 2 + (ys - gy) ** 2) / (2 * radius**2))
    return _u8(frame.astype(np.float32) + spot[:, :, None])
