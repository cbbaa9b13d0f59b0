"""Augmentations suited to aligned face chips: mirror, small similarity jitter, photometric jitter, grey.

They act on a whole batch (N, 3, S, S) float 0..255 on its device, drawing from one ``torch.Generator``
so that a seeded run (and a resumed one) sees exactly the same augmented batches. No vertical flips or
large rotations: the chips are aligned, and the embedder only ever sees upright, aligned faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

_GREY = (0.299, 0.587, 0.114)


@dataclass(frozen=True, slots=True)
class FaceAugment:
    """Augmentation strengths; ``FaceAugment.none()`` switches everything off."""

    flip: float = 0.5
    max_rotation_deg: float = 8.0
    max_shift: float = 0.04
    max_zoom: float = 0.05
    brightness: float = 0.2
    contrast: float = 0.2
    grey: float = 0.1

    @classmethod
    def none(cls) -> FaceAugment:
        """No augmentation."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def __call__(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augmented copy of ``batch``."""
        if self == FaceAugment.none():
            return batch
        batch = self._geometry(batch, generator)
        batch = self._photometry(batch, generator)
        return batch.clamp(0.0, 255.0)

    def _uniform(self, n: int, bound: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * 2.0 - 1.0).mul(bound).to(device)

    def _geometry(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, device = batch.shape[0], batch.device
        angle = self._uniform(n, math.radians(self.max_rotation_deg), generator, device)
        zoom = 1.0 + self._uniform(n, self.max_zoom, generator, device)
        shift = torch.stack([self._uniform(n, 2 * self.max_shift, generator, device) for _ in range(2)], dim=1)
        mirror = torch.where((torch.rand(n, generator=generator) < self.flip).to(device), -1.0, 1.0)
        if not (self.max_rotation_deg or self.max_zoom or self.max_shift or self.flip):
            return batch
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack(
            [torch.stack([cos * mirror, -sin, shift[:, 0]], 1), torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1
        )
        grid = F.affine_grid(theta.to(batch.dtype), list(batch.shape), align_corners=False)
        return F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def _photometry(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, device = batch.shape[0], batch.device
        gain = (1.0 + self._uniform(n, self.contrast, generator, device)).view(n, 1, 1, 1)
        offset = (self._uniform(n, self.brightness, generator, device) * 128.0).view(n, 1, 1, 1)
        grey_mask = (torch.rand(n, generator=generator) < self.grey).to(device).view(n, 1, 1, 1)
        mean = batch.mean(dim=(1, 2, 3), keepdim=True)
        batch = (batch - mean) * gain + mean + offset
        weights = torch.tensor(_GREY, device=device, dtype=batch.dtype).view(1, 3, 1, 1)
        grey = (batch * weights).sum(dim=1, keepdim=True).expand_as(batch)
        return torch.where(grey_mask, grey, batch)
