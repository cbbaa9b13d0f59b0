"""Load image files robustly as RGB uint8 arrays, or fail with one clear ``ImageError``.

Decoding honours the EXIF orientation tag: phones store pictures sideways with a tag saying how to turn
them, and a sideways face is not found by the detector.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image as PilImage
from PIL import ImageOps, UnidentifiedImageError

from recognition.errors import ImageTooLarge, ImageUnreadable, NotAnImage
from recognition.types import Image

MAX_PIXELS = 40_000_000
"""Default pixel limit: a 40-megapixel photo is the largest a kiosk or a dataset should feed us."""


ORIENTATION_TAG = 0x0112
"""EXIF tag number of the orientation (1 = upright; 6 = turn 90 degrees clockwise to view)."""


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Image:
    """Read ``path`` and return an (H, W, 3) RGB uint8 array (grey, palette and RGBA are converted)."""
    path = Path(path)
    if not path.is_file():
        raise ImageUnreadable(f"{path}: no such file")
    return _decode(path, str(path), max_pixels)


def decode_image_bytes(data: bytes, max_pixels: int = MAX_PIXELS) -> Image:
    """Decode an encoded image (JPEG, PNG, ...) held in memory, with the same checks as ``load_image``."""
    if not data:
        raise ImageUnreadable("<bytes>: empty image data")
    return _decode(io.BytesIO(data), "<bytes>", max_pixels)


def _decode(source: Path | io.BytesIO, label: str, max_pixels: int) -> Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            with PilImage.open(source) as img:
                _check_size(label, img.size, max_pixels)
                return to_rgb_array(upright(img))
    except UnidentifiedImageError as exc:
        raise NotAnImage(f"{label}: not an image file") from exc
    except (PilImage.DecompressionBombWarning, PilImage.DecompressionBombError) as exc:
        raise ImageTooLarge(f"{label}: image too large ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadable(f"{label}: corrupt or unreadable image ({exc})") from exc


def _check_size(label: str, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLarge(f"{label}: {width}x{height} pixels exceeds the limit of {max_pixels}")
    if width < 1 or height < 1:
        raise ImageUnreadable(f"{label}: empty image")


def upright(img: PilImage.Image) -> PilImage.Image:
    """``img`` turned as its EXIF orientation tag says (unchanged without one)."""
    if img.getexif().get(ORIENTATION_TAG, 1) == 1:
        return img
    return ImageOps.exif_transpose(img)


def to_rgb_array(img: PilImage.Image) -> Image:
    """Convert a PIL image of any mode to an RGB uint8 array (alpha is composited on white)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = PilImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = PilImage.alpha_composite(background, rgba)
    rgb = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def ensure_rgb(array: Image) -> Image:
    """Validate an in-memory frame: (H, W, 3) uint8; a 2-D grey frame is expanded to RGB."""
    if array.dtype != np.uint8:
        raise ImageUnreadable(f"frame dtype must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ImageUnreadable(f"frame must be (H, W, 3) RGB, got shape {array.shape}")
    return np.ascontiguousarray(array[:, :, :3])

