"""``lockers audit verify|replay|export|anchor``: the log checked, folded, exported and anchored."""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from controller.app.audit.keys import AuditSettings, load_signer
from controller.app.cli import exits
from controller.app.cli.common import DbOption, JsonOption, emit_json, event_store, print_status_table
from controller.app.config.loader import load_config
from controller.app.config.location import ConfigOption, bank_config, database_url
from controller.domain.errors import ConfigError, LockerError
from controller.service import views

audit_app = typer.Typer(no_args_is_help=True, help="Verify, replay and export the event log.")


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes (default: one per CPU).")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Check the hash chain, contiguous versions, replay, and the log against its signed checkpoints."""
    from controller.app.audit.anchors import add_anchor_findings
    from controller.app.audit.verify import verify_log

    loaded = bank_config(config)
    url = database_url(loaded, db)
    with event_store(url):  # a missing or outdated database is a clear error before any worker starts
        pass
    report = verify_log(url, workers)
    anchors = add_anchor_findings(report, loaded, url)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        anchored = (
            f"anchored up to position {anchors['anchored_position']}"
            if "anchored_position" in anchors
            else (f"no checkpoints in {anchors['path']}")
        )
        torn = "".join(f"; anchor file line {n} is a checkpoint cut short by a crash"
                       for n in anchors.get("torn_lines", []))
        typer.echo(f"ok: {report.events} events, chain intact, replay consistent, {anchored}{torn}")
    else:
        typer.echo(f"FAILED at position {report.first_bad_position}", err=True)
        for problem in report.problems[:20]:
            typer.echo(f"  position {problem['position']}: {problem['problem']}", err=True)
    raise typer.Exit(exits.OK if report.ok else exits.CHECK_FAILED)


@audit_app.command("replay")
def audit_replay(
    db: DbOption = None,
    at: Annotated[int | None, typer.Option("--at", help="Fold up to and including this position.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Fold events up to this ISO-8601 time.")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """The state of every compartment as of a position or a moment, with a timeline."""
    limit = _replay_limit(at, until)
    with event_store(database_url(bank_config(config), db)) as store:
        events = [stored for stored in store.read_all() if limit(stored)]
    document = views.log_status(events)  # the log's compartments only: a replay shows history
    if as_json:
        emit_json(document)
        return
    for stored in events:
        event = stored.event
        typer.echo(
            f"{stored.position:>8}  {event.occurred_at.isoformat()}  #{event.compartment_id:<4} v{event.version:<5} "
            f"{type(event).__name__:<22} {json.dumps(event.payload(), default=str)}"
        )
    print_status_table(document)


def _replay_limit(at: int | None, until: str | None) -> Any:
    if at is not None and until is not None:
        raise LockerError("give --at or --until, not both")
    if until is not None:
        try:
            moment = datetime.fromisoformat(until)
        except ValueError:
            raise LockerError(f"--until {until!r} is not an ISO-8601 time") from None
        if moment.tzinfo is None:
            raise LockerError("--until needs a time zone, e.g. 2026-01-01T12:00:00+00:00")
        return lambda stored: stored.event.occurred_at <= moment
    return lambda stored: at is None or stored.position <= at


@audit_app.command("export")
def audit_export(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default stdout).")] = None,
    config: ConfigOption = None,
) -> None:
    """Every row of the log as stored (hashes included), for external auditors."""
    if fmt not in ("jsonl", "csv"):
        raise LockerError(f"--format must be jsonl or csv, not {fmt!r}")
    url = database_url(bank_config(config), db)
    with event_store(url) as store, out.open("w", newline="") if out else _stdout() as sink:
        rows = (dataclasses.asdict(record) for record in store.read_raw())
        if fmt == "jsonl":
            for row in rows:
                sink.write(json.dumps(row) + "\n")
        else:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                writer = writer or _csv_writer(sink, row)
                writer.writerow(row)


def _csv_writer(sink: Any, first_row: dict[str, Any]) -> csv.DictWriter[str]:
    writer = csv.DictWriter(sink, fieldnames=list(first_row))
    writer.writeheader()
    return writer


@contextmanager
def _stdout() -> Iterator[Any]:
    yield sys.stdout


@audit_app.command("anchor")
def audit_anchor(
    config: ConfigOption = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: from the configuration).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sign a checkpoint of the log's head now and append it to the anchor file (and send it to the witness)."""
    from controller.app.audit.anchors import checkpoint_json, head_from_log, write_checkpoint
    from storage.audit_reader import AuditReader

    loaded = load_config(config)
    settings = AuditSettings.from_config(loaded)
    signer = load_signer(settings)
    reader = AuditReader.from_url(database_url(loaded, db))
    try:
        head = head_from_log(reader)
    finally:
        reader.close()
    if not head.events:
        raise ConfigError("the log is empty: there is no head to anchor yet")
    written = write_checkpoint(settings, signer, head)
    document = checkpoint_json(written, settings)
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"checkpoint at position {head.position} ({head.events} events) written to {settings.anchor_path}")
    if written.witness_error:
        typer.echo(f"error: checkpoint written but not witnessed: {written.witness_error}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group to the root CLI."""
    app.add_typer(audit_app, name="audit")
