from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PilImage

from recognition.errors import ImageTooLarge, ImageUnreadable, NotAnImage
from recognition.pipeline.detector import MtcnnDetector
from recognition.pipeline.images import decode_image_bytes, ensure_rgb, load_image
from tests.conftest import missing_asset


def test_rgba_png_becomes_rgb(samples: Path) -> None:
    image = load_image(samples / "tests" / "test_images" / "32bit.png")
    assert image.shape == (1200, 626, 3) and image.dtype == np.uint8


def test_grayscale_pgm_becomes_rgb(assets: Path) -> None:
    image = load_image(assets / "data" / "att_faces" / "orl_faces" / "s1" / "1.pgm")
    assert image.shape == (112, 92, 3)
    assert np.array_equal(image[..., 0], image[..., 2])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageUnreadable, match="no such file"):
        load_image(tmp_path / "absent.jpg")


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is text, not a JPEG")
    with pytest.raises(NotAnImage):
        load_image(path)


def test_truncated_jpeg_is_corrupt(tmp_path: Path, samples: Path) -> None:
    data = (samples / "examples" / "obama.jpg").read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageUnreadable, match="corrupt"):
        load_image(path)


def test_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    PilImage.new("RGB", (400, 300)).save(path)
    with pytest.raises(ImageTooLarge, match="400x300"):
        load_image(path, max_pixels=100_000)


def test_decode_bytes(samples: Path) -> None:
    image = decode_image_bytes((samples / "examples" / "obama-240p.jpg").read_bytes())
    assert image.shape == (240, 427, 3)
    with pytest.raises(ImageUnreadable):
        decode_image_bytes(b"")
    with pytest.raises(NotAnImage):
        decode_image_bytes(b"GIF? no")


def test_ensure_rgb_checks_frames() -> None:
    grey = np.zeros((4, 5), dtype=np.uint8)
    assert ensure_rgb(grey).shape == (4, 5, 3)
    assert ensure_rgb(np.zeros((4, 5, 4), dtype=np.uint8)).shape == (4, 5, 3)
    with pytest.raises(ImageUnreadable):
        ensure_rgb(np.zeros((4, 5, 3), dtype=np.float32))  # type: ignore[arg-type]


def test_exif_orientation_is_honoured(assets: Path) -> None:
    path = assets / "models" / "anti-spoof" / "samples" / "image_T1.jpg"
    if not path.is_file():
        missing_asset(f"anti-spoof sample photos not found under {path.parent}")
    with PilImage.open(path) as img:
        stored = img.size
        assert img.getexif().get(0x0112) == 6  # stored sideways, tagged "turn clockwise"
    image = load_image(path)
    assert image.shape[:2] == (stored[0], stored[1])  # (H, W) = stored (W, H): turned upright


def test_exif_orientation_in_bytes_matches_file(assets: Path) -> None:
    path = assets / "models" / "anti-spoof" / "samples" / "image_F1.jpg"
    if not path.is_file():
        missing_asset(f"anti-spoof sample photos not found under {path.parent}")
    assert np.array_equal(decode_image_bytes(path.read_bytes()), load_image(path))


def test_exif_upright_face_is_detected(assets: Path, detector: MtcnnDetector) -> None:
    path = assets / "models" / "anti-spoof" / "samples" / "image_T1.jpg"
    if not path.is_file():
        missing_asset(f"anti-spoof sample photos not found under {path.parent}")
    faces = detector.detect(load_image(path))
    assert len(faces) == 1
    left_eye, right_eye = faces[0].landmarks[0], faces[0].landmarks[1]
    assert abs(left_eye[1] - right_eye[1]) < abs(left_eye[0] - right_eye[0])  # eyes side by side: upright


def test_empty_image_file_is_a_clear_error(tmp_path: Path) -> None:
    # An empty .jpg, as a camera app leaves behind when it dies mid-save (the test makes its own broken file).
    path = tmp_path / "image_T2.jpg"
    path.write_bytes(b"")
    with pytest.raises((NotAnImage, ImageUnreadable)):
        load_image(path)
