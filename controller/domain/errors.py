"""Errors of the core and of the contracts its ports promise.

Hierarchy (every package roots its own errors under ``LockerError``)::

    LockerError
    ├── TransitionRejected        a command or event is not valid in the current state
    ├── UnknownCompartment        no compartment of that id in this bank
    ├── ConcurrencyError          another writer appended to the stream first (optimistic concurrency)
    ├── StoreUnavailable          the event store cannot be reached now; retry later, lose nothing
    ├── ConfigError               a configuration file or value is invalid
    └── LockDriverError           the lock board could not do what was asked
        ├── UnlockNotSent         certainly no pulse reached the board: the lock stayed latched
        ├── UnlockOutcomeUnknown  the pulse may or may not have reached the board: never retry blindly
        └── BoardUnreachable      reads failed: the board does not answer

Adapters add their own subclasses (``storage.errors``, ``plc.errors``, ``recognition.errors``).
"""

from __future__ import annotations

from enum import StrEnum


class LockerError(Exception):
    """Root of every error this project raises on purpose."""


class Refusal(StrEnum):
    """Why a transition was refused, as a code a screen can put in its reader's language (``reason`` is English)."""

    NOT_ALLOWED_NOW = "not_allowed_now"
    DOOR_OPEN = "door_open"
    BOARD_UNREACHABLE = "board_unreachable"
    NO_FACE_TEMPLATE = "no_face_template"


class TransitionRejected(LockerError):
    """A command or event is not valid for the compartment's current state."""

    def __init__(
        self, compartment_id: str, state: str, action: str, reason: str, code: Refusal = Refusal.NOT_ALLOWED_NOW
    ) -> None:
        self.compartment_id = compartment_id
        self.state = state
        self.action = action
        self.reason = reason
        self.code = code
        super().__init__(f"compartment {compartment_id} in state {str(state)!r} rejects {action}: {reason}")


class UnknownCompartment(LockerError):
    """No compartment of that id in this bank."""

    def __init__(self, compartment_id: str) -> None:
        self.compartment_id = compartment_id
        super().__init__(f"no compartment {compartment_id!r} in this bank")


class ConcurrencyError(LockerError):
    """The stream's version moved on since it was read: reload and decide again."""


class StoreUnavailable(LockerError):
    """The event store does not answer now (locked, down): a transient fault, retried with backoff."""


class ConfigError(LockerError):
    """A configuration value is missing or invalid."""


class LockDriverError(LockerError):
    """The lock board failed to carry out a request."""


class UnlockNotSent(LockDriverError):
    """The unlock pulse certainly did not reach the board."""


class UnlockOutcomeUnknown(LockDriverError):
    """The unlock pulse may have reached the board; the door state decides, not a retry."""


class BoardUnreachable(LockDriverError):
    """The board did not answer a read within its timeout and retries."""
