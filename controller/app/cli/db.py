"""``lockers db``: apply the migrations and check that the database matches the models (shell over ``storage``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from controller.app.cli import exits
from controller.app.config.location import ConfigOption, bank_config, database_url

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite file in the data dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


def register(app: typer.Typer) -> None:
    """Add the ``db`` command group to the root app."""
    db_app = typer.Typer(no_args_is_help=True, help="The event log's database: migrations and checks.")
    db_app.command("upgrade")(upgrade_command)
    db_app.command("check")(check_command)
    app.add_typer(db_app, name="db")


def upgrade_command(db: DbOption = None, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Create the database if needed and apply every migration."""
    from storage import migration
    from storage.engine import check_exists, parse_url

    url = parse_url(database_url(bank_config(config), db))
    check_exists(url, create=True)
    revision = migration.upgrade(url)
    where = url.render_as_string(hide_password=True)
    _report(as_json, {"ok": True, "database": where, "revision": revision, "problems": []})


def check_command(db: DbOption = None, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Fail unless the database is at the newest migration and matches the models (with its triggers)."""
    from storage import migration
    from storage.engine import check_exists, parse_url

    url = parse_url(database_url(bank_config(config), db))
    check_exists(url, create=False)
    problems = migration.schema_problems(url)
    where = url.render_as_string(hide_password=True)
    _report(
        as_json, {"ok": not problems, "database": where, "revision": migration.head_revision(), "problems": problems}
    )
    if problems:
        raise typer.Exit(exits.CHECK_FAILED)


def _report(as_json: bool, document: dict[str, object]) -> None:
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    problems = document["problems"]
    assert isinstance(problems, list)
    for problem in problems:
        typer.echo(f"problem: {problem}", err=True)
    verdict = "matches the migrations" if document["ok"] else "does NOT match the migrations"
    typer.echo(f"database {document['database']} at revision {document['revision']} {verdict}")
