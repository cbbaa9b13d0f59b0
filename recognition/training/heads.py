"""Classification heads over the training identities: plain softmax and ArcFace (additive angular margin)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

LOSSES = ("ce", "arcface")
IMPRINT_SCALE = 16.0
"""Logit scale of an imprinted softmax head: confident, yet far from saturating the softmax."""


class SoftmaxHead(nn.Module):
    """A linear classifier on the raw descriptor, trained with ``nn.CrossEntropyLoss``."""

    def __init__(self, embedding_size: int, classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(embedding_size, classes)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (labels are not needed: the softmax head has no margin)."""
        del labels
        return self.linear(embeddings)  # type: ignore[no-any-return]

    @torch.no_grad()
    def imprint(self, centres: torch.Tensor, mean_norm: float) -> None:
        """Start from the classes' mean embeddings (weight imprinting), so early gradients are informative."""
        self.linear.weight.copy_(F.normalize(centres) * (IMPRINT_SCALE / max(mean_norm, 1e-6)))
        self.linear.bias.zero_()


class ArcFaceHead(nn.Module):
    """ArcFace (Deng et al., 2019): logits ``s * cos(theta + m)`` for the true class, ``s * cos(theta)`` else."""

    def __init__(self, embedding_size: int, classes: int, scale: float = 30.0, margin: float = 0.5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(classes, embedding_size))
        nn.init.xavier_uniform_(self.weight)
        self.scale = scale
        self.margin = margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Margin-penalised, scaled cosine logits; without ``labels``, plain scaled cosines (for prediction)."""
        cosine = F.linear(F.normalize(embeddings.float()), F.normalize(self.weight.float()))
        if labels is None:
            return self.scale * cosine
        sine = torch.sqrt((1.0 - cosine * cosine).clamp(min=1e-7))
        with_margin = cosine * math.cos(self.margin) - sine * math.sin(self.margin)
        # Past theta = pi - m, cos(theta + m) is no longer decreasing: use the CosFace-style fallback.
        threshold = math.cos(math.pi - self.margin)
        with_margin = torch.where(
            cosine > threshold, with_margin, cosine - math.sin(math.pi - self.margin) * self.margin
        )
        one_hot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)
        return self.scale * (one_hot * with_margin + (1.0 - one_hot) * cosine)

    @torch.no_grad()
    def imprint(self, centres: torch.Tensor, mean_norm: float) -> None:
        """Start each class weight at its mean embedding direction (weight imprinting)."""
        del mean_norm
        self.weight.copy_(F.normalize(centres))


def build_head(loss: str, embedding_size: int, classes: int) -> SoftmaxHead | ArcFaceHead:
    """The head for ``loss`` ("ce" or "arcface"); both are trained with ``nn.CrossEntropyLoss``."""
    if loss == "ce":
        return SoftmaxHead(embedding_size, classes)
    if loss == "arcface":
        return ArcFaceHead(embedding_size, classes)
    raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")


def imprint_from(head: SoftmaxHead | ArcFaceHead, embeddings: torch.Tensor, labels: torch.Tensor) -> None:
    """Imprint ``head`` with the per-class means of the base model's ``embeddings``."""
    classes = int(labels.max()) + 1
    sums = torch.zeros(classes, embeddings.shape[1]).index_add_(0, labels, embeddings)
    counts = torch.bincount(labels, minlength=classes).clamp(min=1).unsqueeze(1)
    head.imprint(sums / counts, float(embeddings.norm(dim=1).mean()))
