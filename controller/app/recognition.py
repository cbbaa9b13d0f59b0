"""Recognition as the composition root assembles it, once for ``lockers run`` and for the frame station.

``build_recognition`` turns the validated ``[recognition]`` and ``[liveness]`` sections into the parts the
daemon's worker and the scenarios' ``FaceStation`` both use: the face pipeline (loaded once per process),
the decision rule, the gallery (with its cohort), the liveness monitor and the enrolment policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from controller.app.config.schema import SiteConfig

if TYPE_CHECKING:
    from recognition.gallery import Gallery
    from recognition.liveness.monitor import LivenessMonitor
    from recognition.pipeline.agreement import AgreementPolicy
    from recognition.pipeline.enrolment import EnrolmentPolicy
    from recognition.runtime.station import FaceStation
    from recognition.types import FacePipeline
    from storage.templates import SqliteTemplateStore


@dataclass(frozen=True)
class Recognition:
    """The configured recognition: one pipeline and the rules and state built around its model card."""

    pipeline: FacePipeline
    agreement: AgreementPolicy
    gallery: Gallery
    liveness: LivenessMonitor
    enrolment: EnrolmentPolicy

    def station(self, vault: SqliteTemplateStore) -> FaceStation:
        """A frame station over these parts (scenarios, benchmarks: frames on the caller's clock)."""
        from recognition.runtime.station import FaceStation

        return FaceStation(self.pipeline, vault, self.agreement, self.enrolment, self.gallery, self.liveness)

    def close(self) -> None:
        """At shutdown, once no frame is analysed any more: stop the liveness cue's and the fusion's threads."""
        from recognition.pipeline.face import MtcnnPipeline

        self.liveness.close()
        if isinstance(self.pipeline, MtcnnPipeline):
            self.pipeline.close()


def build_recognition(site: SiteConfig) -> Recognition:
    """The configured model, decision rule, gallery, liveness monitor and enrolment policy."""
    from recognition.liveness.attempt import build_monitor
    from recognition.pipeline.enrolment import EnrolmentPolicy

    settings = site.recognition
    pipeline = face_pipeline(
        settings.model, settings.min_face_size, settings.min_face_px, settings.device, settings.threads
    )
    card = pipeline.card
    return Recognition(
        pipeline=pipeline,
        agreement=settings.agreement(card),
        gallery=settings.gallery(card),
        liveness=build_monitor(site.liveness, settings.frames_window, settings.window_s, settings.device),
        enrolment=EnrolmentPolicy.for_card(card, settings.enrol_samples),
    )


@cache
def face_pipeline(model: str, min_face_size: int, min_face_px: float, device: str, threads: int) -> FacePipeline:
    """One pipeline per process and model: loading the networks is the slow part of a (re)start."""
    from recognition.pipeline.face import build_pipeline
    from recognition.pipeline.quality import QualityConfig

    quality = QualityConfig(min_face_px=min_face_px)
    return build_pipeline(model, device=device, min_face_size=min_face_size, quality=quality, threads=threads)
