"""The ``lockers`` command line: the root, its global options and ``status``; each group lives in its module."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from controller.app.cli import exits
from controller.app.cli.common import DbOption, JsonOption, emit_json, event_store, print_status_table
from controller.app.config.loader import compartment_ids
from controller.app.config.location import ConfigOption, bank_config, database_url
from controller.app.run.logs import LogFormat, configure_logging
from controller.domain.errors import LockerError
from controller.service import views

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="LOCKERS: an unattended face-recognition locker bank.",
)

# Each module exposes ``register(app: typer.Typer) -> None`` and imports heavy libraries lazily.
SUBSYSTEM_CLIS = (
    "controller.app.cli.audit",
    "controller.app.cli.keys",
    "controller.app.cli.sim",
    "controller.app.cli.db",
    "controller.app.cli.plc",
    "controller.app.cli.recognition",
    "controller.app.cli.train",
    "controller.app.cli.run",
    "controller.app.cli.operators",
    "controller.app.cli.config",
    "controller.app.cli.central",
)
GLOBAL_OPTIONS = ("--log-format", "--log-level")
"""Options of the root command that may also be given after a subcommand."""


@app.callback()
def _setup(
    log_format: Annotated[str, typer.Option("--log-format", help="auto | json | console")] = "auto",
    log_level: Annotated[str, typer.Option("--log-level")] = "INFO",
) -> None:
    if log_format not in ("auto", "json", "console"):
        raise LockerError(f"--log-format must be auto, json or console, not {log_format!r}")
    fmt: LogFormat = log_format  # type: ignore[assignment]
    configure_logging(fmt, log_level)


@app.command()
def status(db: DbOption = None, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Current state of every compartment of the bank, folded from the log."""
    settings = bank_config(config)
    with event_store(database_url(settings, db)) as store:
        document = views.log_status(store.read_all(), compartment_ids(settings))
    emit_json(document) if as_json else print_status_table(document)


def _register_subsystems() -> None:
    for name in SUBSYSTEM_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move ``--log-format``/``--log-level`` given after a subcommand to the front, where the root reads them."""
    hoisted: list[str] = []
    rest: list[str] = []
    words = iter(argv)
    for word in words:
        name = word.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            hoisted += [word] if "=" in word else [word, next(words, "")]
        else:
            rest.append(word)
    return hoisted + rest


def main() -> None:
    """Entry point of the console script: one clear line and a documented exit status on any project error."""
    _register_subsystems()
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="lockers")
    except LockerError as exc:
        for line in str(exc).splitlines():
            typer.echo(f"error: {line}", err=True)
        raise SystemExit(exits.exit_code_for(exc)) from None
