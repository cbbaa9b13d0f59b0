"""The HTTP error boundary: every error the bank raises on purpose becomes one status and a plain message.

=================================== ====== ===========================================================
error                               status meaning
=================================== ====== ===========================================================
``UnknownCompartment``              404    no such resource
``TransitionRejected``              409    the compartment's state refuses the action (plain words)
``BankFull``, ``ConcurrencyError``  409    the bank's state refuses it now; retrying later may work
``StorageError``, ``LockDriverError`` 503  the log or the lock board is unavailable
any other ``LockerError``           422    the request cannot be carried out (e.g. no face enrolled)
=================================== ====== ===========================================================

The body is ``{"detail": message, "code": code, "compartment_id": id, "state": state}``: ``detail`` in
English words, ``code`` (a ``Refusal`` of the domain, or a ``BoundaryCode``; absent for any other error,
which ``refused`` names) for screens that say it in their reader's language (the console's catalogues have
``op.error.<code>``); the last two where known.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from controller.domain.errors import (
    ConcurrencyError,
    LockDriverError,
    LockerError,
    Refusal,
    TransitionRejected,
    UnknownCompartment,
)
from controller.service.bank import BankFull
from storage.errors import StorageError


class BoundaryCode(StrEnum):
    """The codes of refusals that are not a compartment's (``Refusal`` has those)."""

    UNKNOWN_COMPARTMENT = "unknown_compartment"
    BANK_FULL = "bank_full"
    BUSY = "busy"
    LOG_UNAVAILABLE = "log_unavailable"
    LOCK_BOARD_UNAVAILABLE = "lock_board_unavailable"
    REFUSED = "refused"


ERROR_CODES: tuple[str, ...] = (*Refusal, *BoundaryCode)
"""Every ``code`` an error body may carry."""


def code_of(exc: LockerError) -> str:
    """The machine-readable code of an error (see the module's docstring)."""
    if isinstance(exc, TransitionRejected):
        return exc.code
    codes: list[tuple[type[Exception], BoundaryCode]] = [
        (UnknownCompartment, BoundaryCode.UNKNOWN_COMPARTMENT),
        (BankFull, BoundaryCode.BANK_FULL),
        (ConcurrencyError, BoundaryCode.BUSY),
        (StorageError, BoundaryCode.LOG_UNAVAILABLE),
        (LockDriverError, BoundaryCode.LOCK_BOARD_UNAVAILABLE),
    ]
    return next((code for kind, code in codes if isinstance(exc, kind)), BoundaryCode.REFUSED)


def error_body(exc: LockerError) -> dict[str, Any]:
    """The JSON body of an error: the message, its code, and the compartment and its state where known."""
    body: dict[str, Any] = {"detail": plain_message(exc)}
    code = code_of(exc)
    if code != BoundaryCode.REFUSED:  # the catch-all is the absence of a code (bodies stay as they were)
        body["code"] = str(code)
    if isinstance(exc, TransitionRejected | UnknownCompartment):
        body["compartment_id"] = exc.compartment_id
    if isinstance(exc, TransitionRejected):
        body["state"] = str(exc.state)
    return body


def status_of(exc: LockerError) -> int:
    """The HTTP status an error maps to (see the module's table)."""
    if isinstance(exc, UnknownCompartment):
        return 404
    if isinstance(exc, TransitionRejected | BankFull | ConcurrencyError):
        return 409
    if isinstance(exc, StorageError | LockDriverError):
        return 503
    return 422


def plain_message(exc: LockerError) -> str:
    """What a person reads: a refused transition in words, an unavailable part named, never a Python repr."""
    if isinstance(exc, TransitionRejected):
        action = re.sub(r"(?<!^)(?=[A-Z])", " ", exc.action).lower()
        return f"compartment {exc.compartment_id} is {exc.state}, so it cannot {action} now: {exc.reason}"
    if isinstance(exc, StorageError):
        return f"the event log is unavailable: {exc}"
    if isinstance(exc, LockDriverError):
        return f"the lock board is unavailable: {exc}"
    return str(exc)


def install_error_boundary(app: FastAPI) -> None:
    """Map every ``LockerError`` a route lets through to its status and ``error_body``."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LockerError)
        return JSONResponse(error_body(exc), status_code=status_of(exc))

    app.add_exception_handler(LockerError, handle)
