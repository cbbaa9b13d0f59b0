"""A still picture as a camera films it: the picture with fresh sensor noise in every frame.

Shared by ``recognition.py`` (liveness per frame) and ``service_latency.py`` (owners known by photographs
only). A camera's sensor noise changes every pixel of every frame, even of a person who stands perfectly
still, and the injection check relies on it: frames that differ by less than a camera's noise floor are one
picture injected again (``recognition/liveness/verdict.py``, ``replay``). A photograph shown unchanged as
every frame is such a frozen feed, not what a camera gives.
"""

from __future__ import annotations

import numpy as np

SENSOR_NOISE_SIGMA = 2.0
"""Grey levels (0-255): a quiet webcam's read and shot noise in good light (dim light gives more)."""


def with_sensor_noise(image: np.ndarray, rng: np.random.Generator, sigma: float = SENSOR_NOISE_SIGMA) -> np.ndarray:
    """One frame of a camera filming ``image`` (uint8): Gaussian noise of ``sigma`` grey levels on every pixel."""
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)
