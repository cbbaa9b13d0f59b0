"""Errors of the Modbus lock-board adapter.

Every pymodbus failure is translated into these at one boundary (``plc.channel``)::

    LockerError
    └── LockDriverError                         (controller.domain.errors)
        └── PlcError                            any lock-board failure
            ├── PlcTimeout                      no reply within the timeout (the request may have arrived)
            ├── PlcConnectionError              no connection: the request was never sent
            ├── PlcDeviceError                  the board answered with a Modbus exception code
            ├── PlcUnlockNotSent                also UnlockNotSent: certainly no pulse reached the board
            ├── PlcUnlockOutcomeUnknown         also UnlockOutcomeUnknown: never retry, let the door decide
            └── PlcBoardUnreachable             also BoardUnreachable: reads failed after their retries

The last three wrap one of the first three as ``cause`` (and ``__cause__``).
"""

from __future__ import annotations

from controller.domain.errors import BoardUnreachable, LockDriverError, UnlockNotSent, UnlockOutcomeUnknown

# Exception codes after which the board certainly did not act on the request: illegal function,
# illegal address, illegal value, busy, gateway path unavailable. Any other code (device failure,
# acknowledge, gateway target failed to respond, unknown codes) leaves the outcome open.
_REJECTED_CODES = frozenset({0x01, 0x02, 0x03, 0x06, 0x0A})


class PlcError(LockDriverError):
    """A lock-board request failed."""

    #: True when the board may have received and acted on the request.
    may_have_arrived: bool = True


class PlcTimeout(PlcError):
    """The board did not answer within the timeout."""


class PlcConnectionError(PlcError):
    """No connection to the board, so nothing was sent."""

    may_have_arrived = False


class PlcDeviceError(PlcError):
    """The board answered with a Modbus exception reply."""

    def __init__(self, message: str, exception_code: int) -> None:
        super().__init__(message)
        self.exception_code = exception_code
        self.may_have_arrived = exception_code not in _REJECTED_CODES


class _Wrapped(PlcError):
    """A driver-level failure that carries the channel-level cause."""

    def __init__(self, message: str, cause: PlcError | None = None) -> None:
        super().__init__(f"{message}: {cause}" if cause else message)
        self.cause = cause


class PlcUnlockNotSent(_Wrapped, UnlockNotSent):
    """The unlock pulse certainly did not reach the board."""

    may_have_arrived = False


class PlcUnlockOutcomeUnknown(_Wrapped, UnlockOutcomeUnknown):
    """The unlock pulse may have reached the board; do not send another."""


class PlcBoardUnreachable(_Wrapped, BoardUnreachable):
    """Reading the board failed after the bounded retries."""

    def __init__(self, message: str, cause: PlcError | None = None, board: str = "") -> None:
        super().__init__(message, cause)
        self.board = board
