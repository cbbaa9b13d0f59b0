"""Errors of the centre's adapter.

Hierarchy::

    LockerError
    └── FleetError                the centre could not do what was asked
        ├── UnknownBank           no bank of that id is enrolled
        ├── EnrolmentRefused      the bank is enrolled already with another key
        └── SyncRefused           a batch refused: ``kind`` is gap, fork, chain, hash, checkpoint, replay or
                                  bad_signature, ``what`` its detail code (``fleet.details``); it is raised as
                                  a fleet alarm and nothing of it is stored
"""

from __future__ import annotations

from typing import Final

from controller.domain.errors import LockerError
from fleet.details import AlarmDetail, detail

REFUSALS: Final = ("gap", "fork", "chain", "hash", "checkpoint", "replay", "bad_signature")
"""The kinds of refused batches (each is a fleet alarm's ``kind`` too)."""


class FleetError(LockerError):
    """Root of the centre's errors."""


class UnknownBank(FleetError):
    """No bank of that id is enrolled at the centre."""

    def __init__(self, bank_id: str) -> None:
        self.what = detail("unknown_bank.not_enrolled", bank=repr(bank_id))
        super().__init__(self.what.text)


class EnrolmentRefused(FleetError):
    """The bank is enrolled already, with another public key (a pinned key is never silently replaced)."""


class SyncRefused(FleetError):
    """A batch (or a signed request) the centre refuses, and why (``what``); nothing of it was stored."""

    def __init__(self, what: AlarmDetail) -> None:
        super().__init__(f"{what.kind}: {what.text}")
        self.what = what
        self.kind = what.kind
        self.detail = what.text


def refused(code: str, **args: str | int) -> SyncRefused:
    """The refusal of detail ``code`` (``fleet.details.DETAILS``) with ``args``."""
    return SyncRefused(detail(code, **args))


def replayed(nonce: str) -> SyncRefused:
    """The refusal of a signed request whose nonce the centre has seen before."""
    return refused("replay.nonce", nonce=nonce)
