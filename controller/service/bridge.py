"""From recognition evidence to commands: when to start, confirm or reject a verification.

A face only ever concerns the compartment whose template it matched within the threshold; a
stranger matches none and so causes no command at all. Recognition decides (``FaceMatch.accepted`` and
``.rejected``); the bridge only sequences its decision with the compartment's state: an accepted face
confirms, a rejected attempt (its window full without agreement, or an attack) is recorded as failed,
counted towards the lockout, once a verification runs (an attack at once); after a rejection, the
compartment waits ``retry_after_s`` before a new attempt can start. The domain then checks the
invariants (the subject owns the compartment, the distance is within the threshold).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controller.domain import commands as c
from controller.domain.compartment import Compartment
from controller.domain.states import CompartmentState as S
from controller.ports import FaceMatch

LIVENESS_FAILED = "liveness_failed"
"""Rejection reason prefix of an attempt the liveness checks judged an attack: it never unlocks."""


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """How long a rejected face waits before a new attempt starts; how long a depositor must leave the view."""

    retry_after_s: float = 2.0
    depositor_away_s: float = 5.0


class RecognitionBridge:
    """Turns one ``FaceMatch`` into the commands it calls for, given the matched compartment's state."""

    def __init__(self, settings: BridgeSettings, new_id: Callable[[], str]) -> None:
        self.settings = settings
        self.new_id = new_id
        self._rejected_at: dict[str, float] = {}
        self._attempt: dict[str, str] = {}

    def commands_for(self, match: FaceMatch, compartment: Compartment | None, now_s: float) -> list[c.Command]:
        """Commands for ``compartment`` (the one the face matched); ``now_s`` is monotonic seconds."""
        if compartment is None or match.compartment_id != compartment.compartment_id:
            return []
        if compartment.needs_pin():
            return []  # face and PIN: the face counts once the deposit's PIN has been typed
        cid = compartment.compartment_id
        commands: list[c.Command] = []
        if compartment.state == S.OCCUPIED:
            if now_s - self._rejected_at.get(cid, float("-inf")) < self.settings.retry_after_s:
                return []
            self._attempt[cid] = self.new_id()
            commands.append(
                c.StartVerification(compartment_id=cid, correlation_id=self._attempt[cid], evidence=match.evidence)
            )
        elif compartment.state != S.VERIFYING:
            return []
        if match.accepted:
            commands.append(self._confirm(cid, match))
        elif match.rejected and (compartment.state == S.VERIFYING or match.evidence.presentation_attack()):
            self._rejected_at[cid] = now_s
            commands.append(self._reject(cid, match))
        return commands

    def _confirm(self, cid: str, match: FaceMatch) -> c.ConfirmIdentity:
        attempt = self._attempt.get(cid, "")
        return c.ConfirmIdentity(
            compartment_id=cid, correlation_id=attempt, evidence=match.evidence, unlock_id=self.new_id()
        )

    def _reject(self, cid: str, match: FaceMatch) -> c.RejectIdentity:
        evidence = match.evidence
        reason = f"only {evidence.frames_agreeing} of {evidence.frames_considered} frames agreed"
        if evidence.presentation_attack():
            reason = f"{LIVENESS_FAILED}: {evidence.liveness}"
        attempt = self._attempt.get(cid, "")
        return c.RejectIdentity(compartment_id=cid, correlation_id=attempt, reason=reason, evidence=evidence)
