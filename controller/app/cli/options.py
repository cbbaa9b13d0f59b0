"""Options and error handling shared by the recognition commands (``faces``, ``models``, ``eval``, ``train``)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from controller.app.cli import exits
from controller.app.config.loader import problem_lines
from controller.domain.errors import ConfigError, LockerError

P = ParamSpec("P")
R = TypeVar("R")
EXIT_ERROR = exits.BAD_INPUT

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="A registered model (lockers models list), a '+'-joined fusion of them, or a checkpoint path.",
    ),
]
DeviceOption = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
MinFace = Annotated[int, typer.Option("--min-face-size", min=10, help="MTCNN minimum face size in pixels.")]


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn project errors into one clear stderr line and their documented exit status (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LockerError as exc:
            exits.fail(exc)
        except ValidationError as exc:  # settings built from options (a --threshold out of range)
            exits.fail(ConfigError("\n".join(problem_lines(exc))))

    return wrapper


def emit(value: Any, as_json: bool, text: Callable[[], str]) -> None:
    """Print ``value`` as JSON or ``text()`` for humans."""
    typer.echo(json.dumps(value, indent=2) if as_json else text())
