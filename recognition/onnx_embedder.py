"""fr_feature (512-d) through ONNX Runtime: faster on CPU than a PyTorch port would need to be to matter.

Pre-processing from ``models/faceplugin/SOURCE.txt``: ArcFace five-point alignment, BGR, (x - 127) / 128,
L2-normalised output. The file holds thousands of denormal weights; ONNX Runtime is told to flush them
to zero, which keeps the outputs and avoids the slow denormal path. The graph takes one chip at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from recognition.align import ARCFACE_112, align_face
from recognition.types import Embedding, Face, Image, ModelCard


class OnnxEmbedder:
    """Aligns faces on the ArcFace template and runs fr_feature.onnx (implements ``Embedder``)."""

    template = ARCFACE_112

    def __init__(self, path: Path, card: ModelCard, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._card = card

    @property
    def card(self) -> ModelCard:
        """The model card."""
        return self._card

    def embed(self, image: Image, faces: list[Face]) -> list[Embedding]:
        """One unit descriptor per face, in order."""
        if not faces:
            return []
        chips = np.stack([align_face(image, face.landmarks, self.template) for face in faces])
        return list(self.embed_chips(chips))

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Descriptors (N, 512) for aligned chips (N, 112, 112, 3) uint8 RGB."""
        batch = (chips[..., ::-1].astype(np.float32) - 127.0) / 128.0  # RGB -> BGR, as the network was trained
        rows = [self._session.run(None, {self._input: chip.transpose(2, 0, 1)[None]})[0][0] for chip in batch]
        out = np.asarray(rows, dtype=np.float32).reshape(len(chips), -1)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
