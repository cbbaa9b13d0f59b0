"""Errors of fine-tuning (a branch of ``recognition.errors.RecognitionError``).

Hierarchy::

    RecognitionError
    └── TrainingError          fine-tuning could not do what was asked
        ├── DatasetError       the dataset or people list is unusable (empty, too few faces or identities)
        ├── ConfigInvalid      an option is out of range or names something unknown
        └── ResumeMismatch     a checkpoint to resume from belongs to another dataset, base or split
"""

from __future__ import annotations

from recognition.errors import RecognitionError


class TrainingError(RecognitionError):
    """Root of the fine-tuning errors."""


class DatasetError(TrainingError):
    """The dataset cannot be used for training."""


class ConfigInvalid(TrainingError):
    """A training option is invalid."""


class ResumeMismatch(TrainingError):
    """The checkpoint does not continue this run."""
