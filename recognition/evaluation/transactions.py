"""What a person meets at the kiosk: a clip's windows replayed through the service's attempt rules.

A 5-frame window is not what the kiosk decides on. The service makes no decision on a window whose
frames the quality gates refused (no face, a profile, too dark...): the kiosk says what the camera
needs and keeps looking, so such a window is a *non-response* (ISO/IEC 30107-3 reports the bona fide
and attack presentation non-response rates, BPNRR and APNRR, apart from BPCER and APCER). A window the
liveness checks judged is an *attempt*: accepted, or refused and counted by the compartment as a failed
verification and a presentation attack. The compartment raises an alarm after ``max_attacks`` attacks
in a row or ``max_failures`` failed verifications (``[policy] max_presentation_attacks`` and
``max_failed_verifications``), which ends the person's *transaction*. So, walking a clip's windows in
order:

- a transaction is *accepted* at its first accepted window, *refused* when the alarm rule ends it
  first, *open* when the clip ends before either (left out of the rates: the person was still trying);
- for a live person a refused transaction is a false rejection that reaches an operator; for an attack
  an accepted transaction is an attack that opened a door.

The next transaction starts at the window after the end of the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from recognition.evaluation.clips import upper_95

ACCEPTED = "live"
NON_RESPONSE_PREFIXES = ("too_few_frames", "no_face", "not_acquired")
"""Outcomes on which the service decides nothing: no usable face, or the gates refused the frames."""


@dataclass(frozen=True, slots=True)
class AttemptRule:
    """The compartment's limits that end a transaction with an alarm (``[policy]``)."""

    max_attacks: int = 2
    max_failures: int = 3

    def describe(self) -> str:
        """The rule as the report states it."""
        return (
            f"a transaction ends accepted at its first live window, or refused after {self.max_attacks} "
            f"liveness refusals in a row or {self.max_failures} refusals; gate-refused windows decide nothing"
        )


def is_non_response(outcome: str) -> bool:
    """Whether the service takes no decision on a window with this outcome."""
    return outcome.startswith(NON_RESPONSE_PREFIXES)


def transactions(outcomes: Sequence[str], rule: AttemptRule) -> tuple[int, int, int]:
    """(accepted, refused, open) transactions in one clip's window outcomes, in order."""
    accepted = refused = 0
    attacks = failures = 0
    for outcome in outcomes:
        if is_non_response(outcome):
            continue
        if outcome == ACCEPTED:
            accepted += 1
            attacks = failures = 0
            continue
        attacks, failures = attacks + 1, failures + 1
        if attacks >= rule.max_attacks or failures >= rule.max_failures:
            refused += 1
            attacks = failures = 0
    return accepted, refused, int(attacks > 0)


def summary(clips: Sequence[Sequence[str]], rule: AttemptRule, attack: bool) -> dict[str, float | int]:
    """Transactions of one source: counts, the error rate (refused if live, accepted if attack) and its bound."""
    counts = [transactions(outcomes, rule) for outcomes in clips]
    accepted, refused, still_open = (sum(c[i] for c in counts) for i in range(3))
    decided = accepted + refused
    errors = accepted if attack else refused
    return {
        "transactions": decided,
        "accepted": accepted,
        "refused": refused,
        "open": still_open,
        "rate": errors / decided if decided else 0.0,
        "upper_95": upper_95(errors, decided),
    }
