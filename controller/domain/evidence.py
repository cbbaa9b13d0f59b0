"""Face evidence: what one identification decision rests on, as primitives (never images or embeddings).

The recognition worker produces it, the bridge passes it on in commands, and the events that record a
face decision (``VerificationStarted``, ``IdentityConfirmed``, ``IdentityRejected``) carry it unchanged,
so an audit can replay the decision without re-running the network. In a stored payload its fields sit
flat beside the event's own fields (see ``controller.domain.events.Event.payload``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One face decision's evidence; ``subject_id`` is empty and ``distance`` may be None for no face."""

    subject_id: str = ""
    distance: float | None
    runner_up_distance: float | None = None
    threshold: float
    margin: float = 0.0
    frames_agreeing: int = 0
    frames_considered: int = 0
    model_version: str
    liveness: str = ""
    """"" when not judged, ``live``, ``disabled`` (switched off by configuration), else the failed check."""
    liveness_score: float | None = None
    liveness_method: str = ""
    liveness_model: str = ""

    def within_threshold(self) -> bool:
        """Whether the best distance is known and no greater than the threshold."""
        return self.distance is not None and self.distance <= self.threshold

    def presentation_attack(self) -> bool:
        """Whether the liveness checks judged this attempt an attack (a photograph, a screen, a replay)."""
        return self.liveness not in NOT_ATTACKS

    def flat(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives, for a flat payload."""
        return {name: getattr(self, name) for name in EVIDENCE_FIELDS}

    @classmethod
    def take_from(cls, payload: dict[str, Any]) -> Evidence:
        """Pop the evidence fields out of a flat payload (mutated) and build the value."""
        return cls(**{name: payload.pop(name) for name in EVIDENCE_FIELDS if name in payload})


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrolmentLiveness:
    """The liveness verdict of a depositor's enrolment frames (same fields, same meaning as in ``Evidence``)."""

    liveness: str = ""
    liveness_score: float | None = None
    liveness_method: str = ""
    liveness_model: str = ""

    def flat(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives, for a flat payload."""
        return {name: getattr(self, name) for name in ENROLMENT_LIVENESS_FIELDS}

    @classmethod
    def take_from(cls, payload: dict[str, Any]) -> EnrolmentLiveness:
        """Pop the fields out of a flat payload (mutated); absent ones keep their "not recorded" defaults."""
        return cls(**{name: payload.pop(name) for name in ENROLMENT_LIVENESS_FIELDS if name in payload})


EVIDENCE_FIELDS: Final = tuple(f.name for f in fields(Evidence))
ENROLMENT_LIVENESS_FIELDS: Final = tuple(f.name for f in fields(EnrolmentLiveness))
NOT_ATTACKS: Final = frozenset({"", "live", "disabled"})
