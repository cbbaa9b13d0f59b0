"""Errors of the recognition package.

Hierarchy (rooted under ``controller.domain.errors.LockerError``)::

    RecognitionError              recognition could not do what was asked
    ├── ImageError                an image file could not be turned into an RGB uint8 array
    │   ├── ImageUnreadable       missing, unreadable or corrupt file
    │   ├── NotAnImage            the file is not in an image format
    │   └── ImageTooLarge         more pixels than the configured limit (decompression bombs)
    ├── FaceNotFound              no usable face where exactly one was needed
    ├── MultipleFaces             several faces where exactly one was needed
    ├── ModelError                an embedder could not be built
    │   ├── WeightsMissing        the weights are not installed (the message says how to get them)
    │   └── CheckpointInvalid     a checkpoint file does not follow the documented format
    ├── FetchError                weights could not be downloaded
    └── EvaluationInputError      a pairs file, folder or people list is malformed
"""

from __future__ import annotations

from controller.domain.errors import LockerError


class RecognitionError(LockerError):
    """Root of every error raised by ``recognition``."""


class ImageError(RecognitionError):
    """An image could not be loaded as RGB uint8."""


class ImageUnreadable(ImageError):
    """The file is missing, unreadable or corrupt."""


class NotAnImage(ImageError):
    """The file is not in a known image format."""


class ImageTooLarge(ImageError):
    """The image has more pixels than allowed."""


class FaceNotFound(RecognitionError):
    """No face (or no face passing the gates) was found."""


class MultipleFaces(RecognitionError):
    """Several faces were found where exactly one was required."""


class ModelError(RecognitionError):
    """An embedder could not be built."""


class WeightsMissing(ModelError):
    """The model's weights are not installed."""


class CheckpointInvalid(ModelError):
    """A checkpoint file does not follow the format documented in ``recognition.models.embedder``."""


class FetchError(RecognitionError):
    """Weights could not be downloaded."""


class EvaluationInputError(RecognitionError):
    """An evaluation input (pairs file, folder, people list) is malformed."""
