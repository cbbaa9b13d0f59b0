"""``lockers keys rotate``: registered in the ``keys`` group that ``controller.app.cli.main`` defines."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from controller.app.config.location import ConfigOption, bank_config


def keys_rotate(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Re-seal the live templates under a new vault key and destroy the old one."""
    from controller.app.run.key_rotation import rotate_vault_keys

    report = rotate_vault_keys(bank_config(config))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    typer.echo(f"rotated the vault key of {report.vault}: {report.templates} live templates re-sealed, "
               f"the old key destroyed ({report.key_file})")
    typer.echo(f"note: {report.operator_note}")


def register(keys_app: typer.Typer) -> None:
    """Add ``rotate`` to the ``keys`` group."""
    keys_app.command("rotate")(keys_rotate)
