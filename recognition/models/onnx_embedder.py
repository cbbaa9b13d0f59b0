"""fr_feature (512-d) through ONNX Runtime: faster on CPU than a PyTorch port would need to be to matter.

Pre-processing from ``models/faceplugin/SOURCE.txt``: ArcFace five-point alignment, BGR, (x - 127) / 128,
L2-normalised output. The file holds thousands of denormal weights; ONNX Runtime is told to flush them
to zero, which keeps the outputs and avoids the slow denormal path. That switch sets the CPU's
flush-to-zero flags on the thread that runs the graph and never restores them, so the graph runs on a
thread of its own: the flags never leak into the caller (NumPy, Hypothesis, the decision arithmetic).
The graph takes one chip at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from recognition.pipeline.align import ARCFACE_112, AlignedChipEmbedder
from recognition.types import ModelCard


class OnnxEmbedder(AlignedChipEmbedder):
    """Aligns faces on the ArcFace template and runs fr_feature.onnx (implements ``Embedder``)."""

    template = ARCFACE_112

    def __init__(self, path: Path, card: ModelCard, threads: int = 1) -> None:
        self._card = card
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fr-feature")
        self._session = self._runner.submit(_open_session, path, threads).result()
        self._input = self._session.get_inputs()[0].name

    def embed_chips(self, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Descriptors (N, 512) for aligned chips (N, 112, 112, 3) uint8 RGB."""
        batch = (chips[..., ::-1].astype(np.float32) - 127.0) / 128.0  # RGB -> BGR, as the network was trained
        rows = self._runner.submit(self._run, batch).result()
        out = np.asarray(rows, dtype=np.float32).reshape(len(chips), -1)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _run(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
        return [self._session.run(None, {self._input: chip.transpose(2, 0, 1)[None]})[0][0] for chip in batch]


def _open_session(path: Path, threads: int) -> Any:
    """The session, created on the runner thread (creating it already sets the flush-to-zero flags)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
