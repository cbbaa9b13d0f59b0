"""The depositor is not a returning owner: no verification while the person who just deposited is in view.

Design (issue 18, item 7; docs/architecture.md "The depositor's grace"): after a deposit completes, a face
that names the compartment starts no verification until that face has been out of view for ``away_s``
(no frame naming the compartment: no face, or another face). A person who closes the door and keeps
standing there is never handed the door back, however long they stay; one who leaves and comes back, or
returns hours later, retrieves as usual. Chosen over an explicit "retrieve" button or a confirmation
before release because it needs no new kiosk step (the flow stays hands-free for everyone) and holds for
every input alike: live daemon, HTTP, scenarios.

Gaps between sightings use the caller's monotonic ``now_s``; the first sighting after the deposit is
measured from the deposit's completion on the service clock, the only time the door-close path carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class _Hold:
    deposited_at: datetime
    seen_s: float | None = None


class DepositorGrace:
    """Per compartment, whether its depositor may still be the face in front of the camera."""

    def __init__(self, away_s: float) -> None:
        self.away_s = away_s
        self._holds: dict[str, _Hold] = {}

    def deposited(self, compartment_id: str, at: datetime) -> None:
        """A deposit completed: its depositor is taken to be in view from ``at``."""
        self._holds[compartment_id] = _Hold(at)

    def forget(self, compartment_id: str) -> None:
        """The compartment left ``occupied`` (retrieved, alarmed, erased): no hold remains."""
        self._holds.pop(compartment_id, None)

    def holds(self, compartment_id: str, now_s: float, now: datetime) -> bool:
        """Whether a face naming the compartment now is still the depositor (and so starts nothing)."""
        hold = self._holds.get(compartment_id)
        if hold is None:
            return False
        away = (now - hold.deposited_at).total_seconds() if hold.seen_s is None else now_s - hold.seen_s
        if away >= self.away_s:
            del self._holds[compartment_id]  # the face left the view: from now on it is a returning owner
            return False
        hold.seen_s = now_s
        return True
