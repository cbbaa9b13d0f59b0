"""Recognition as the locker bank sees it: enrol from frames, identify frames, keep the gallery in step.

``FaceStation`` runs synchronously on frames handed to it (scenarios, benchmarks, the HTTP deposit
of uploaded photos); ``WorkerGallery`` keeps a live ``RecognitionWorker``'s gallery in step with the
log. Both implement ``controller.ports.TemplateGallery`` by decrypting templates from the vault.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from controller.domain.evidence import EnrolmentLiveness
from controller.ports import FaceMatch, TemplateStore
from recognition.camera import Frame
from recognition.gallery import Gallery
from recognition.liveness.attempt import LiveAgreement
from recognition.liveness.monitor import LivenessMonitor
from recognition.pipeline.agreement import AgreementPolicy, FrameAgreement
from recognition.pipeline.beside import beside_embedding
from recognition.pipeline.enrolment import EnrolmentPolicy, EnrolmentResult
from recognition.types import Embedding, FacePipeline, Image

TemplateVault = TemplateStore[Embedding]
"""The encrypted template store as recognition uses it (the port, bound to NumPy embeddings)."""


@dataclass(frozen=True, slots=True)
class StoredEnrolment:
    """A template built from frames and stored encrypted: only ``template_ref`` goes into events."""

    template_ref: str
    model_version: str
    result: EnrolmentResult

    @property
    def liveness(self) -> EnrolmentLiveness:
        """The liveness verdict of the enrolment frames (recorded in ``DepositStarted``)."""
        return self.result.liveness


def store_enrolment(vault: TemplateVault, result: EnrolmentResult, model_version: str) -> StoredEnrolment:
    """Encrypt and store an enrolment's template."""
    return StoredEnrolment(vault.put(result.template, model_version), model_version, result)


class FaceStation:
    """Frames in, evidence out, on the caller's thread and the caller's clock."""

    def __init__(
        self,
        pipeline: FacePipeline,
        vault: TemplateVault,
        agreement: AgreementPolicy,
        enrolment: EnrolmentPolicy | None = None,
        gallery: Gallery | None = None,
        liveness: LivenessMonitor | None = None,
    ) -> None:
        card = pipeline.card
        self.pipeline = pipeline
        self.vault = vault
        self.enrolment_policy = enrolment or EnrolmentPolicy.for_card(card)
        self.gallery = gallery or Gallery(card.embedding_size, card.metric)
        self.agreement = FrameAgreement(agreement, card.model_version, card.default_threshold)
        self.attempts = LiveAgreement(self.agreement, liveness or LivenessMonitor.off())

    def enrol(self, images: Sequence[Image]) -> StoredEnrolment:
        """Build and store a template from live frames of a depositor (refused if the face already owns one)."""
        analyses = [self.pipeline.analyse(image) for image in images]
        result = self.attempts.enrolment_template(images, analyses, self.enrolment_policy, self.gallery)
        return store_enrolment(self.vault, result, self.pipeline.card.model_version)

    def match(self, image: Image, now_s: float) -> FaceMatch | None:
        """Identify one frame against the gallery; None when no usable face or no template."""
        with beside_embedding(self.attempts.monitor.start):  # the liveness cue runs while the face is embedded
            analysis = self.pipeline.analyse(image)
        embedding = analysis.primary.embedding if analysis.primary is not None else None
        if embedding is None:
            self.attempts.observe_miss(now_s)
            return None
        return self.attempts.observe(image, analysis, self.gallery.search(embedding), now_s, embedding)

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        """Identify against this compartment's template from now on."""
        self.gallery.add(compartment_id, self.vault.get(template_ref), subject_id)
        self.attempts.reset()

    def remove(self, compartment_id: str) -> None:
        """Stop identifying against this compartment."""
        if compartment_id in self.gallery:
            self.gallery.remove(compartment_id)
        self.attempts.reset()


class TemplateTarget(Protocol):
    """Something holding a gallery: the live ``RecognitionWorker``."""

    def add_template(self, compartment_id: str, template: Embedding, subject_id: str = "") -> None:
        """Add a compartment's template."""
        ...

    def remove_template(self, compartment_id: str) -> None:
        """Remove a compartment's template."""
        ...


class WorkerGallery:
    """``TemplateGallery`` for the daemon: decrypts templates into the worker's gallery."""

    def __init__(self, target: TemplateTarget, vault: TemplateVault) -> None:
        self.target = target
        self.vault = vault
        self.members: set[str] = set()

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        """Identify against this compartment's template from now on."""
        self.target.add_template(compartment_id, self.vault.get(template_ref), subject_id)
        self.members.add(compartment_id)

    def remove(self, compartment_id: str) -> None:
        """Stop identifying against this compartment."""
        if compartment_id in self.members:
            self.target.remove_template(compartment_id)
            self.members.discard(compartment_id)


class PushFrameSource:
    """A frame source fed from outside (HTTP uploads in simulate mode); ``read`` blocks until a frame comes."""

    def __init__(self) -> None:
        self._frames: queue.Queue[Frame | None] = queue.Queue(maxsize=8)
        self._count = 0

    def push(self, image: Image, captured_at: float) -> int:
        """Offer one frame and return its index; when the reader lags, the oldest waiting frame is dropped."""
        self._count += 1
        frame = Frame(image, self._count, captured_at)
        while True:
            try:
                self._frames.put_nowait(frame)
                return frame.index
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self._frames.get_nowait()

    def read(self) -> Frame | None:
        """The next pushed frame, or None once closed."""
        return self._frames.get()

    def close(self) -> None:
        """End the source: pending frames are dropped and a blocked ``read`` returns None."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._frames.get_nowait()
        self._frames.put_nowait(None)
