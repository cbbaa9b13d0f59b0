"""What every ``lockers`` command shares: the ``--db`` and ``--json`` options, JSON output, the log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from controller.app.bootstrap import open_event_store
from controller.ports import EventStore

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite file in the data dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@contextmanager
def event_store(url: str | None, *, create: bool = False) -> Iterator[EventStore]:
    """Open the store for one command and close it afterwards (read commands never create a log)."""
    store = open_event_store(url, create=create)
    try:
        yield store
    finally:
        store.close()


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    typer.echo(json.dumps(value, indent=2, default=str))


def print_status_table(document: dict[str, Any]) -> None:
    """A readable table of compartments."""
    typer.echo(f"{'id':>4}  {'state':<10} {'version':>7}  {'door':<6}  detail")
    for row in document["compartments"]:
        detail = row["alarm"] or (f"held for {row['occupied_by']}" if row["occupied_by"] else "")
        typer.echo(f"{row['id']:>4}  {row['state']:<10} {row['version']:>7}  {row['door']:<6}  {detail}")
