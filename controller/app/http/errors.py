"""The HTTP error boundary: every error the bank raises on purpose becomes one status and a plain message.

=================================== ====== ===========================================================
error                               status meaning
=================================== ====== ===========================================================
``UnknownCompartment``              404    no such resource
``TransitionRejected``              409    the compartment's state refuses the action (plain words)
``BankFull``, ``ConcurrencyError``  409    the bank's state refuses it now; retrying later may work
``StorageError``, ``LockDriverError`` 503  the log or the lock board is unavailable
``NoCameraFrames``                  503    the camera gave no frame (dead, disconnected) or recognition stopped
any other ``LockerError``           422    the request cannot be carried out (e.g. no face enrolled)
=================================== ====== ===========================================================
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from controller.domain.errors import (
    ConcurrencyError,
    LockDriverError,
    LockerError,
    TransitionRejected,
    UnknownCompartment,
)
from controller.service.bank import BankFull
from recognition.pipeline.enrolment import NoCameraFrames
from storage.errors import StorageError


def status_of(exc: LockerError) -> int:
    """The HTTP status an error maps to (see the module's table)."""
    if isinstance(exc, UnknownCompartment):
        return 404
    if isinstance(exc, TransitionRejected | BankFull | ConcurrencyError):
        return 409
    if isinstance(exc, StorageError | LockDriverError | NoCameraFrames):
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
    if isinstance(exc, NoCameraFrames):
        return f"the camera is unavailable: {exc}"
    return str(exc)


def install_error_boundary(app: FastAPI) -> None:
    """Map every ``LockerError`` a route lets through to its status and ``{"detail": message}``."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LockerError)
        return JSONResponse({"detail": plain_message(exc)}, status_code=status_of(exc))

    app.add_exception_handler(LockerError, handle)
