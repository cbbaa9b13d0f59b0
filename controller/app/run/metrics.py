"""Prometheus metrics: decisions, unlocks, alarms, PLC errors and recognition latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from controller.domain import events as ev
from controller.ports import BoardFaulted, SensorObservation, StoredEvent

if TYPE_CHECKING:
    from recognition.types import FacePipeline, FrameAnalysis, Image, ModelCard

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56)


class Metrics:
    """One registry per bank, fed by committed events, sensor observations and the recognition pipeline."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter("lockers_decisions", "Verification decisions", ["decision"], registry=self.registry)
        self.unlocks = Counter("lockers_unlocks", "Unlock pulses by outcome", ["outcome"], registry=self.registry)
        self.alarms = Counter("lockers_alarms", "Alarms raised by reason", ["reason"], registry=self.registry)
        self.plc_errors = Counter("lockers_plc_errors", "Lock board faults and failed unlocks", registry=self.registry)
        self.events = Counter("lockers_events", "Events committed to the log", ["type"], registry=self.registry)
        self.pin_entries = Counter(
            "lockers_pin_entries", "PINs typed at kiosks, by the answer", ["outcome"], registry=self.registry
        )
        self.feedback = Counter(
            "lockers_attempt_feedback", "Reasons told to the person at the camera", ["reason"], registry=self.registry
        )
        self.recognition_seconds = Histogram(
            "lockers_recognition_frame_seconds",
            "Time to analyse one camera frame (detection, gates, embedding)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.face_to_unlock_seconds = Histogram(
            "lockers_face_to_unlock_seconds",
            "From the frame that confirmed an identity to the unlock pulse being acknowledged",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def on_committed(self, stored: Sequence[StoredEvent]) -> None:
        """Count what the log just recorded."""
        for record in stored:
            event = record.event
            self.events.labels(type(event).__name__).inc()
            if isinstance(event, ev.IdentityConfirmed):
                self.decisions.labels("confirmed").inc()
            elif isinstance(event, ev.IdentityRejected):
                self.decisions.labels("rejected").inc()
            elif isinstance(event, ev.UnlockPulseSent):
                self.unlocks.labels("sent").inc()
            elif isinstance(event, ev.AlarmRaised):
                self._on_alarm(event)

    def _on_alarm(self, event: ev.AlarmRaised) -> None:
        self.alarms.labels(event.reason).inc()
        outcome = {ev.AlarmReason.UNLOCK_FAILED: "not_sent", ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN: "unknown"}
        if event.reason in outcome:
            self.unlocks.labels(outcome[ev.AlarmReason(event.reason)]).inc()
            self.plc_errors.inc()

    def on_feedback(self, reason: str) -> None:
        """Count one attempt reason (``liveness_failed``, ``no_face``, ``not_recognised``...)."""
        self.feedback.labels(reason).inc()

    def on_sensor(self, observation: SensorObservation) -> None:
        """Count board faults."""
        if isinstance(observation, BoardFaulted):
            self.plc_errors.inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return bytes(generate_latest(self.registry))


@dataclass
class TimedPipeline:
    """Wraps a face pipeline to record each frame's analysis time in a histogram."""

    inner: FacePipeline
    histogram: Any  # a prometheus_client Histogram (untyped library)
    on_analysis: Callable[[Any, tuple[int, ...]], None] | None = None

    @property
    def card(self) -> ModelCard:
        """The wrapped pipeline's model card."""
        return self.inner.card

    def analyse(self, image: Image) -> FrameAnalysis:
        """Analyse and time one frame."""
        started = time.perf_counter()
        try:
            analysis = self.inner.analyse(image)
        finally:
            self.histogram.observe(time.perf_counter() - started)
        if self.on_analysis is not None:
            self.on_analysis(analysis, image.shape)
        return analysis
