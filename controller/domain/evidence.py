"""Face evidence: what one identification decision rests on, as primitives (never images or embeddings).

The recognition worker produces it, the bridge passes it on in commands, and the events that record a
face decision (``VerificationStarted``, ``IdentityConfirmed``, ``IdentityRejected``) carry it unchanged,
so an audit can replay the decision without re-running the network. In a stored payload its fields sit
flat beside the event's own fields (see ``controller.domain.events.Event.payload``).

The liveness fields are declared once, in ``Liveness``: ``Evidence`` is a ``Liveness`` with the match
beside it, and a deposit records the verdict on its enrolment frames as a bare ``Liveness``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Final, Self, TypeAlias


@dataclass(frozen=True, slots=True, kw_only=True)
class Liveness:
    """Whether the frames came from a live face, and which check said so ("" everywhere: not judged)."""

    liveness: str = ""
    """"" when not judged, ``live``, ``disabled`` (switched off by configuration), else the failed check."""
    liveness_score: float | None = None
    liveness_method: str = ""
    liveness_model: str = ""

    def presentation_attack(self) -> bool:
        """Whether the liveness checks judged this attempt an attack (a photograph, a screen, a replay)."""
        return self.liveness not in NOT_ATTACKS

    def flat(self) -> dict[str, Any]:
        """The fields as JSON-ready primitives, for a flat payload."""
        return {name: getattr(self, name) for name in _flat_names(type(self))}

    @classmethod
    def take_from(cls, payload: dict[str, Any]) -> Self:
        """Pop the fields out of a flat payload (mutated); absent ones keep their defaults."""
        return cls(**{name: payload.pop(name) for name in _flat_names(cls) if name in payload})


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence(Liveness):
    """One face decision's evidence; ``subject_id`` is empty and ``distance`` may be None for no face."""

    subject_id: str = ""
    distance: float | None
    runner_up_distance: float | None = None
    threshold: float
    margin: float = 0.0
    frames_agreeing: int = 0
    frames_considered: int = 0
    model_version: str

    def within_threshold(self) -> bool:
        """Whether the best distance is known and no greater than the threshold."""
        return self.distance is not None and self.distance <= self.threshold


EnrolmentLiveness: TypeAlias = Liveness
"""The liveness verdict of a depositor's enrolment frames: the liveness part of ``Evidence``, alone."""

LIVENESS_FIELDS: Final = tuple(f.name for f in fields(Liveness))
NOT_ATTACKS: Final = frozenset({"", "live", "disabled"})


_FLAT_NAMES: dict[type[Liveness], tuple[str, ...]] = {}


def _flat_names(cls: type[Liveness]) -> tuple[str, ...]:
    names = _FLAT_NAMES.get(cls)
    if names is None:
        # A subclass's own fields first, the liveness ones last: the order payloads have always listed them in.
        own = tuple(f.name for f in fields(cls) if f.name not in LIVENESS_FIELDS)
        names = _FLAT_NAMES[cls] = own + LIVENESS_FIELDS
    return names
