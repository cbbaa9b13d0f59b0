"""The exit statuses of every ``lockers`` command (documented in docs/command-line.md and the README).

==  =================  ==========================================================================
0   ``OK``             done; a check found nothing wrong
1   ``CHECK_FAILED``   a check ran and found a problem (audit, db check, config check, a scenario, the
                       start check of ``lockers run`` against the log's anchors)
2   ``BAD_INPUT``      bad usage, configuration, file, URL, image or model; or a refused action
3   ``OUTCOME_UNKNOWN``an unlock pulse may or may not have reached the board: look before retrying
4   ``UNAVAILABLE``    the database or the lock board is missing or does not answer
==  =================  ==========================================================================
"""

from __future__ import annotations

from typing import Final, NoReturn

import typer

from controller.domain.errors import LockDriverError, LockerError, UnlockOutcomeUnknown
from storage.errors import DatabaseUnavailable

OK: Final = 0
CHECK_FAILED: Final = 1
BAD_INPUT: Final = 2
OUTCOME_UNKNOWN: Final = 3
UNAVAILABLE: Final = 4


def exit_code_for(error: LockerError) -> int:
    """The status a command exits with after ``error``."""
    from controller.app.audit.start import AnchorAlarm

    if isinstance(error, AnchorAlarm):
        return CHECK_FAILED
    if isinstance(error, UnlockOutcomeUnknown):
        return OUTCOME_UNKNOWN
    if isinstance(error, DatabaseUnavailable | LockDriverError):
        return UNAVAILABLE
    return BAD_INPUT


def fail(error: LockerError | str, code: int | None = None) -> NoReturn:
    """Print ``error`` on stderr, one line per problem, and exit with its status (or ``code``)."""
    for line in str(error).splitlines() or [""]:
        typer.echo(f"error: {line}", err=True)
    if code is None:
        code = exit_code_for(error) if isinstance(error, LockerError) else BAD_INPUT
    raise typer.Exit(code)
