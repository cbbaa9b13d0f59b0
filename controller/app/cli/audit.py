"""``lockers audit verify|replay|export|anchor``: the log checked, folded, exported and anchored."""

from __future__ import annotations

import csv
import dataclasses
import itertools
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


SinceOption = Annotated[
    bool,
    typer.Option(
        "--since-checkpoint",
        help="Check only the events after the last authentic signed checkpoint (links, hashes, versions); "
        "the checkpoint vouches for the rest. Without one, the whole log.",
    ),
]


@audit_app.command("verify")
def audit_verify(
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes (default: one per CPU).")] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    since_checkpoint: SinceOption = False,
    central: Annotated[bool, typer.Option("--central", help="Every bank's copy at this centre ([central]).")] = False,
) -> None:
    """Check the hash chain, contiguous versions, replay, and the log against its signed checkpoints."""
    from controller.app.audit.anchors import anchor_check, flag_findings
    from controller.app.audit.verify import verify_log, verify_since

    if central:
        _verify_central(config, as_json)
    loaded = bank_config(config)
    url = database_url(loaded, db)
    with event_store(url):  # a missing or outdated database is a clear error before any worker starts
        pass
    found = anchor_check(loaded, url)
    since = found.latest if since_checkpoint else None
    report = verify_log(url, workers) if since is None else verify_since(url, since)
    if since is not None:
        found.summary["verified_after"] = since.position
    anchors = flag_findings(report, found)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        torn = "".join(f"; anchor file line {n} is a checkpoint cut short by a crash"
                       for n in anchors.get("torn_lines", []))
        typer.echo(f"ok: {report.events} events{_scope(anchors)}, {_anchored(anchors)}{torn}")
        if "pin" in anchors:
            typer.echo(f"note: the signing key is not pinned; add to [audit]: {anchors['pin']}")
    else:
        typer.echo(f"FAILED at position {report.first_bad_position}", err=True)
        for problem in report.problems[:20]:
            typer.echo(f"  position {problem['position']}: {problem['problem']}", err=True)
    raise typer.Exit(exits.OK if report.ok else exits.CHECK_FAILED)


def _scope(anchors: dict[str, Any]) -> str:
    if "verified_after" in anchors:
        return f" after checkpoint position {anchors['verified_after']}, chain intact"
    return ", chain intact, replay consistent"


def _anchored(anchors: dict[str, Any]) -> str:
    if "anchored_position" in anchors:
        return f"anchored up to position {anchors['anchored_position']}"
    return f"no checkpoints in {anchors['path']}"


def _verify_central(config: Path | None, as_json: bool) -> None:
    """``audit verify --central``: every enrolled bank's copy at the centre; exits 1 when one is bad."""
    from controller.app.central.audit import verify_fleet
    from controller.app.cli.central import central_config
    from fleet.store import CentralStore

    store = CentralStore.open(central_config(config)[1])
    try:
        document = verify_fleet(store)
    finally:
        store.close()
    if as_json:
        emit_json(document)
    for bank_id, result in [] if as_json else document["banks"].items():
        if result["ok"]:
            typer.echo(f"{bank_id}: ok, {result['events']} events, chain intact, checkpoints agree")
        else:
            typer.echo(f"{bank_id}: FAILED at position {result['first_bad_position']}", err=True)
            for problem in result["problems"][:20]:
                typer.echo(f"  position {problem['position']}: {problem['problem']}", err=True)
    raise typer.Exit(exits.OK if document["ok"] else exits.CHECK_FAILED)


@audit_app.command("replay")
def audit_replay(
    db: DbOption = None,
    at: Annotated[
        int | None, typer.Option("--at", "--until-position", help="Fold up to and including this position.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="Fold every position recorded by this ISO-8601 time."),
    ] = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """The state of every compartment as of a position or a moment, with a timeline."""
    limit = _replay_limit(at, until)
    with event_store(database_url(bank_config(config), db)) as store:
        # Always a prefix of positions: a clock that was wrong for a while dates events out of order.
        events = list(itertools.takewhile(limit, store.read_all()))
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
        return lambda stored: stored.event.written_at <= moment
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


@audit_app.command("acknowledge")
def audit_acknowledge(
    operator: Annotated[str, typer.Option("--operator", help="The operator's id (recorded).")],
    note: Annotated[str, typer.Option("--note", help="What the operator found and did (recorded).")],
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Accept what the start check found (a restored log, a lost anchor file): signed, recorded, a new baseline."""
    from controller.app.audit.acknowledge import acknowledge
    from controller.app.bootstrap import take_writer_lease

    loaded = bank_config(config)
    url = database_url(loaded, db)
    release = take_writer_lease(url)  # never beside a running controller
    try:
        found, record = acknowledge(loaded, url, operator, note)
    finally:
        release()
    document = {
        "acknowledged": record is not None,
        "findings": list(record.findings) if record else [],
        "compartments_in_doubt": list(record.compartments) if record else [],
        "anchor_path": found.summary["path"],
    }
    if as_json:
        emit_json(document)
    elif record is None:
        typer.echo("nothing to acknowledge: the log matches its anchors")
    else:
        typer.echo(f"acknowledged by {operator}, recorded in {found.summary['path']}:")
        for line in record.findings:
            typer.echo(f"  {line}")
        doubt = ", ".join(record.compartments) or "none"
        typer.echo(f"compartments taken out of service at the next start (their newer state is lost): {doubt}")


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group to the root CLI."""
    app.add_typer(audit_app, name="audit")
