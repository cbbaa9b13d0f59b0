from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from recognition.evaluation.clips import read_clip
from recognition.pipeline.align import DLIB_150, FACENET_160, align_face, similarity_transform
from recognition.pipeline.detector import DetectorConfig, MtcnnDetector, faces_from_mtcnn
from recognition.pipeline.images import load_image


def test_mtcnn_finds_both_faces_in_two_people(detector: MtcnnDetector, samples: Path) -> None:
    faces = detector.detect(load_image(samples / "examples" / "two_people.jpg"))
    confident = [f for f in faces if f.probability > 0.95]
    assert len(confident) == 2
    for face in confident:
        x1, y1, x2, y2 = face.box
        assert len(face.landmarks) == 5
        assert all(x1 <= x <= x2 and y1 <= y <= y2 for x, y in face.landmarks)


def test_mtcnn_finds_one_face_per_facenet_sample(detector: MtcnnDetector, assets: Path) -> None:
    folder = assets / "data" / "samples" / "facenet_pytorch" / "data" / "test_images"
    paths = sorted(folder.glob("*/1.jpg"))
    assert len(paths) >= 4, f"the facenet-pytorch test images are missing under {folder}"
    for path in paths:
        faces = [f for f in detector.detect(load_image(path)) if f.probability > 0.95]
        assert len(faces) == 1, path


def test_no_face_in_a_blank_frame(detector: MtcnnDetector) -> None:
    assert detector.detect(np.full((240, 320, 3), 127, dtype=np.uint8)) == []


def test_object_dtype_outputs_are_normalised() -> None:
    boxes = np.empty(1, dtype=object)
    boxes[0] = np.array([[1, 2, 30, 40]], dtype=np.float32)
    probs = np.array([np.array([0.9], dtype=object)], dtype=object)
    points = np.array([np.arange(10, dtype=np.float32).reshape(1, 5, 2)], dtype=object)
    (face,) = faces_from_mtcnn(boxes, probs, points)
    assert face.box == (1.0, 2.0, 30.0, 40.0)
    assert face.probability == np.float32(0.9)
    assert face.landmarks[4] == (8.0, 9.0)
    assert faces_from_mtcnn(None, [None], None) == []


def test_similarity_transform_recovers_a_known_transform() -> None:
    source = DLIB_150.as_array()
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = source @ (scale * rotation).T + shift
    matrix = similarity_transform(source, target)
    assert np.allclose(matrix[:, :2], scale * rotation)
    assert np.allclose(matrix[:, 2], shift)


def test_alignment_puts_landmarks_on_the_template(detector: MtcnnDetector, samples: Path) -> None:
    image = load_image(samples / "examples" / "obama.jpg")
    face = detector.detect(image)[0]
    for template in (DLIB_150, FACENET_160):
        chip = align_face(image, face.landmarks, template)
        assert chip.shape == (template.size, template.size, 3)
        again = detector.detect(np.ascontiguousarray(np.pad(chip, ((40, 40), (40, 40), (0, 0)), mode="edge")))
        found = np.asarray(again[0].landmarks) - 40
        error = np.linalg.norm(found - template.as_array(), axis=1)
        assert error[:3].max() < 4.0 and error.mean() < 5.0  # eyes and nose land; mouths vary (smiles)


def test_the_fast_layout_finds_what_plain_mtcnn_finds_on_real_frames(assets: Path, samples: Path) -> None:
    # The detector runs MTCNN's stages channels-last on a planar frame (for speed); the faces must be the ones
    # facenet-pytorch's own MTCNN finds on the frame as given, on webcam footage and on a photograph.
    config = DetectorConfig(min_face_size=80)
    detector = MtcnnDetector(config)
    reference = MtcnnDetector(config)._mtcnn
    for stage in (reference.pnet, reference.rnet, reference.onet):
        stage.to(memory_format=torch.contiguous_format)
    video = assets / "data" / "video"
    frames = read_clip(video / "live_krzysiek_1.webm", fps=2)[:4] + read_clip(video / "live_grid_1.mpg", fps=2)[:2]
    frames.append(load_image(samples / "examples" / "two_people.jpg"))
    found = 0
    for frame in frames:
        size = (round(frame.shape[1] * detector.shrink), round(frame.shape[0] * detector.shrink))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        with torch.inference_mode():
            expected = faces_from_mtcnn(*reference.detect(small, landmarks=True), scale=1 / detector.shrink)
        faces = detector.detect(frame)
        assert len(faces) == len(expected)
        for face, want in zip(faces, expected, strict=True):
            assert np.allclose(face.box, want.box, atol=0.01)
            assert np.allclose(face.landmarks, want.landmarks, atol=0.01)
            assert abs(face.probability - want.probability) < 1e-5
        found += len(faces)
    assert found >= len(frames)
