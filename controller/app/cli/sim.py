"""``lockers sim history``: random but valid command sequences through the real core into a real log."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from controller.app.bootstrap import take_writer_lease
from controller.app.cli.common import DbOption, JsonOption, emit_json, event_store
from controller.app.config.location import ConfigOption, bank_config, database_url
from controller.ports import EventStore

if TYPE_CHECKING:
    from plc.registers import PlcConfig

sim_app = typer.Typer(no_args_is_help=True, help="Drive the real core with simulated inputs.")


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
    url = database_url(settings, db)
    release_lease = take_writer_lease(url)  # one writer: never beside a running controller of this log
    try:
        with event_store(url, create=True) as store:
            board = None if plc_port is None else default_plc_config(count, plc_host, plc_port, plc_timeout_ms / 1000)
            rejected = asyncio.run(_simulate_history(store, count, steps, seed, board))
            written = sum(1 for _ in store.read_all())
    finally:
        release_lease()
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


def register(app: typer.Typer) -> None:
    """Add the ``sim`` group to the root CLI."""
    app.add_typer(sim_app, name="sim")
