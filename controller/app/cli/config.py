"""``lockers config check|show`` and ``lockers keys master|operator-token``: the site's configuration and secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from controller.app.cli import exits
from controller.app.config.loader import Config, ConfigFileUnreadable, load_config, redacted
from controller.app.config.location import ConfigOption, bank_config, database_url
from controller.domain.errors import ConfigError

config_app = typer.Typer(no_args_is_help=True, help="Check a configuration file; show the effective values.")
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@config_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="TOML configuration file.")]) -> None:
    """Exit 0 when FILE is valid; else print one line per problem and exit 1 (2 when FILE cannot be read)."""
    try:
        config = load_config(file)
    except ConfigFileUnreadable as exc:
        exits.fail(exc, exits.BAD_INPUT)
    except ConfigError as exc:
        exits.fail(exc, exits.CHECK_FAILED)
    typer.echo(f"ok: {file} ({config.compartments} compartments, data dir {config.data_dir})")


@config_app.command("show")
def show(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every effective value (defaults included, secrets redacted), and where the log lives."""
    document = effective(bank_config(config))
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    for section, values in document.items():
        typer.echo(f"[{section}]")
        for key, value in values.items():
            typer.echo(f"# {key} (not set)" if value is None else f"{key} = {json.dumps(value)}")
        typer.echo("")


def effective(config: Config) -> dict[str, dict[str, object]]:
    """The redacted configuration plus the resolved log URL (password hidden)."""
    from storage.engine import parse_url

    document = redacted(config)
    document["storage"]["effective_url"] = parse_url(database_url(config)).render_as_string(hide_password=True)
    return document


def register(app: typer.Typer) -> None:
    """Add the ``config`` group to the root CLI."""
    app.add_typer(config_app, name="config")
