"""The ``lockers`` command line: status and audits here; subsystems register their own command groups."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from controller.app.bootstrap import open_event_store
from controller.app.cli import exits
from controller.app.cli import keys as keys_cli
from controller.app.config.loader import compartment_ids
from controller.app.config.location import ConfigOption, bank_config, database_url
from controller.app.run.logs import LogFormat, configure_logging
from controller.domain.errors import LockerError
from controller.ports import EventStore
from controller.service import views

if TYPE_CHECKING:
    from plc.registers import PlcConfig

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="LOCKERS: an unattended face-recognition locker bank.",
)
audit_app = typer.Typer(no_args_is_help=True, help="Verify, replay and export the event log.")
sim_app = typer.Typer(no_args_is_help=True, help="Drive the real core with simulated inputs.")
app.add_typer(audit_app, name="audit")
app.add_typer(sim_app, name="sim")
keys_app = typer.Typer(no_args_is_help=True, help="Make the secrets a site configures.")
app.add_typer(keys_app, name="keys")
keys_cli.register(keys_app)  # `keys rotate` (the vault's key rotation) lives in its own module

# Each module exposes ``register(app: typer.Typer) -> None`` and imports heavy libraries lazily.
SUBSYSTEM_CLIS = (
    "controller.app.cli.db",
    "controller.app.cli.plc",
    "controller.app.cli.recognition",
    "controller.app.cli.train",
    "controller.app.cli.run",
    "controller.app.cli.operators",
    "controller.app.cli.anchors",
    "controller.app.cli.config",
)
GLOBAL_OPTIONS = ("--log-format", "--log-level")
"""Options of the root command that may also be given after a subcommand."""

DbOption = Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite file in the data dir).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@app.callback()
def _setup(
    log_format: Annotated[str, typer.Option("--log-format", help="auto | json | console")] = "auto",
    log_level: Annotated[str, typer.Option("--log-level")] = "INFO",
) -> None:
    if log_format not in ("auto", "json", "console"):
        raise LockerError(f"--log-format must be auto, json or console, not {log_format!r}")
    fmt: LogFormat = log_format  # type: ignore[assignment]
    configure_logging(fmt, log_level)


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


@app.command()
def status(db: DbOption = None, as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Current state of every compartment of the bank, folded from the log."""
    settings = bank_config(config)
    with event_store(database_url(settings, db)) as store:
        document = views.log_status(store.read_all(), compartment_ids(settings))
    emit_json(document) if as_json else print_status_table(document)


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
        typer.echo(f"ok: {report.events} events, chain intact, replay consistent, {anchored}")
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


@sim_app.command("history")
def sim_history(
    compartments: Annotated[
        int | None, typer.Option("--compartments", min=1, help="Default: the configuration's (6).")
    ] = None,
    steps: Annotated[int, typer.Option("--steps", min=1)] = 200,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    db: DbOption = None,
    plc_host: Annotated[str, typer.Option("--plc-host", help="Lock board address (with --plc-port).")] = "127.0.0.1",
    plc_port: Annotated[
        int | None,
        typer.Option("--plc-port", help="Drive a real Modbus board (e.g. lockers plc-sim) instead of a fake."),
    ] = None,
    plc_timeout_ms: Annotated[
        int, typer.Option("--plc-timeout-ms", min=1, max=60_000, help="Board reply timeout (with --plc-port).")
    ] = 500,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Random but valid command sequences through the real core into a real log (fake recognition).

    With ``--plc-port`` unlocks go to a real Modbus lock board and the run starts like the service does:
    relays off, then every compartment reconciled with its door.
    """
    from plc.registers import default_plc_config

    settings = bank_config(config)
    count = compartments or settings.compartments
    with event_store(database_url(settings, db), create=True) as store:
        board = None if plc_port is None else default_plc_config(count, plc_host, plc_port, plc_timeout_ms / 1000)
        rejected = asyncio.run(_simulate_history(store, count, steps, seed, board))
        written = sum(1 for _ in store.read_all())
    summary = {"steps": steps, "rejected_commands": rejected, "events_in_log": written}
    emit_json(summary) if as_json else typer.echo(f"{steps} commands, {rejected} rejected; log holds {written} events")


async def _simulate_history(
    store: EventStore, compartments: int, steps: int, seed: int, board: PlcConfig | None
) -> int:
    from controller.app.config.loader import load_config
    from controller.app.stack import Overrides, build_bank
    from controller.service.simulation import ForgetfulVault, HistorySimulator, NoGallery, resume_clock
    from plc.fake import FakeLockDriver

    clock = resume_clock(store)
    config = load_config(None, {"bank": {"compartments": compartments}})
    given = Overrides(clock=clock, store=store, vault=ForgetfulVault())
    if board is None:
        given = dataclasses.replace(given, locks=FakeLockDriver(compartments))
    else:
        given = dataclasses.replace(given, plc=board)
    stack = build_bank(config, NoGallery(), given)
    try:
        if board is not None:
            await stack.bank.boot()
        return await HistorySimulator.of_bank(stack.bank, clock, seed).run(steps)
    finally:
        stack.close()


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
