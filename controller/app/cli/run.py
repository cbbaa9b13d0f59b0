"""``lockers run`` and ``lockers scenario run``: the service and its scripted scenarios."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from controller.app.cli import exits
from controller.app.config.loader import Config

if TYPE_CHECKING:
    from recognition.runtime.station import FaceStation
    from storage.templates import SqliteTemplateStore

scenario_app = typer.Typer(no_args_is_help=True, help="Scripted scenarios on the real stack in simulate mode.")


def make_station(vault: SqliteTemplateStore, config: Config) -> FaceStation:
    """A frame station for scenarios and benchmarks, with the configured model and decision rules."""
    from controller.app.recognition import build_recognition

    return build_recognition(config.site).station(vault)


@scenario_app.command("run")
def scenario_run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: a temporary SQLite file).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A site's configuration: its [recognition], [liveness], [policy] and [timeouts] apply "
            "(the scenario's own config: still wins where it sets a key; nothing else of the site is touched).",
        ),
    ] = None,
) -> None:
    """Run a scenario; exit 0 only when every expectation held."""
    from controller.app.scenario.runner import ScenarioRun, load_scenario, site_rules

    scenario = load_scenario(file)
    rules = site_rules(config) if config is not None else {}
    with tempfile.TemporaryDirectory(prefix="lockers-scenario-") as data_dir:
        run = ScenarioRun(scenario, Path(data_dir), make_station, db_url=db, site_rules=rules)
        asyncio.run(run.run())
    if as_json:
        document = {"ok": run.ok, "steps": [r.to_json() for r in run.results], "final": {"compartments": run.final}}
        typer.echo(json.dumps(document, indent=2))
    else:
        for result in run.results:
            typer.echo(f"{'ok ' if result.ok else 'FAIL'} step {result.index:>3}: {result.detail}")
        states = ", ".join(f"{k['id']}={k['state']}" for k in run.final)
        typer.echo(f"{'PASSED' if run.ok else 'FAILED'}; final: {states}")
    raise typer.Exit(exits.OK if run.ok else exits.CHECK_FAILED)


def run(
    config: Annotated[Path | None, typer.Option("--config", help="TOML configuration file.")] = None,
    simulate: Annotated[bool, typer.Option("--simulate", help="Simulated lock board in-process; SQLite.")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: SQLite file in the data dir).")] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="Device index, URL, video file or image folder.")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="HTTP API address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="HTTP API port (default 8080).")] = None,
) -> None:
    """Run the locker bank until SIGINT/SIGTERM."""
    from controller.app.config.location import bank_config
    from controller.app.run.daemon import RunOptions, run_daemon

    options = RunOptions(simulate=simulate, db_url=db, camera=camera, host=host, port=port)
    run_daemon(bank_config(config), options)
    exit_now()


def exit_now() -> NoReturn:
    """End the process at once after the daemon's clean shutdown, its output flushed.

    By now the shutdown checkpoint is written, the relays are off, the log and vault are closed and the
    writer's lease is released; what is left is the interpreter unloading the recognition models and their
    libraries, which takes seconds (13 s under load) and would break the promise that SIGTERM ends within
    10 s. Only ``lockers run`` does this: every file it wrote is closed, so nothing is lost by skipping it.
    """
    logging.shutdown()  # flushes the stdlib handlers (libraries' logs); structlog prints to stderr
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(exits.OK)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``scenario`` to the root CLI."""
    app.command("run")(run)
    app.add_typer(scenario_app, name="scenario")
