"""What a fleet alarm says: a detail code, the code's arguments, and the English text they make.

The code names the alarm's kind before its dot (``gap.after_held`` is a ``gap``); the console words each code
in the operator's language (``fleet.detail.<code>`` in its catalogues, with the same ``{names}``), the API and
the centre's log keep the English ``text``. An argument whose name ends in ``_at`` is an ISO time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DETAILS: Final[Mapping[str, str]] = {
    "gap.after_held": "the batch starts after position {after}; the centre holds up to {held}",
    "chain.out_of_order": "position {position} follows {previous}: not in order",
    "chain.unlinked": "position {position} does not link to the row before it",
    "chain.not_a_row": "an event of the batch is not a log row: {error}",
    "hash.mismatch": "position {position}: the row does not hash to its event_hash",
    "fork.differs": "position {position} differs from the copy the centre holds",
    "fork.off_head": "position {position} does not continue the centre's head (position {held})",
    "checkpoint.missing": "new events come without a signed checkpoint",
    "checkpoint.unreadable": "the batch's checkpoint cannot be read: {error}",
    "checkpoint.mismatch": "the checkpoint's {field} is {claimed}, the batch makes it {expected}",
    "replay.nonce": "nonce {nonce} was used before: a replayed request",
    "replay.stale": "the request was sent at {sent_at}: too old (or a clock far off)",
    "bad_signature.request": "the request is not signed by bank {bank}'s enrolled key",
    "bad_signature.unreadable": "a signed body that is not a {format} request: {error}",
    "bad_signature.names": "the signed body names bank {named} and format {format}",
    "bad_signature.checkpoint": "the checkpoint at position {position} is not signed by the bank's enrolled key",
    "bad_signature.key_changed": "the request was checked against a key bank {bank} no longer has",
    "unknown_bank.not_enrolled": "no bank {bank} is enrolled at this centre (`lockers central banks add`)",
    "offline.silent": "no heartbeat since {last_seen_at}",
    "command_unknown.outcome": "command {command}: {detail}",
}
"""Every detail code and its English text (a ``str.format`` template of the code's arguments)."""


@dataclass(frozen=True)
class AlarmDetail:
    """A detail code and its arguments (primitives: they are stored as JSON)."""

    code: str
    args: Mapping[str, str | int] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The kind of alarm (or refusal) the code belongs to."""
        return self.code.split(".", 1)[0]

    @property
    def text(self) -> str:
        """The detail in English."""
        return DETAILS[self.code].format(**self.args)


def detail(code: str, **args: str | int) -> AlarmDetail:
    """The detail of ``code`` with ``args``; ``KeyError`` for a code ``DETAILS`` lacks."""
    DETAILS[code].format(**args)  # an unknown code or a missing argument fails here, where it is made
    return AlarmDetail(code, args)
