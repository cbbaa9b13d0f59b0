"""The ``lockers`` command line: the root app; subsystems register their own command groups."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="LOCKERS: face-recognition locker bank.")

# Each module exposes ``register(app: typer.Typer) -> None`` and imports heavy libraries lazily.
SUBSYSTEM_CLIS = ("plc.cli", "recognition.cli", "recognition.train_cli")


def _register_subsystems() -> None:
    for name in SUBSYSTEM_CLIS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app)


def main() -> None:
    """Entry point of the console script."""
    _register_subsystems()
    app()
