"""``lockers plc-sim`` and the ``lockers plc`` maintenance group (status, unlock, recorded in the log).

pymodbus is imported inside the commands so that ``lockers --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from controller.app.cli import exits
from controller.domain.errors import LockerError
from plc.registers import DEFAULT_COMPARTMENTS, PlcConfig, default_plc_config
from plc.sim_board import DoorBehaviour

T = TypeVar("T")

Host = Annotated[str | None, typer.Option(help="Board address (default 127.0.0.1).")]
Port = Annotated[int | None, typer.Option(min=1, max=65535, help="Modbus TCP port (default 502).")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="Site configuration (TOML; its [plc] section).")]
Compartments = Annotated[int, typer.Option(min=1, max=2000, help="Compartments (with --host/--port).")]
TimeoutMs = Annotated[int, typer.Option(min=1, max=60_000, help="Reply timeout in ms (with --host/--port).")]


def register(app: typer.Typer) -> None:
    """Add ``plc-sim`` and the ``plc`` group to the root app."""
    app.command("plc-sim")(plc_sim)
    group = typer.Typer(no_args_is_help=True, help="Lock-board maintenance: door and relay states, test unlocks.")
    group.command("status")(status)
    group.command("unlock")(unlock)
    app.add_typer(group, name="plc")


def status(host: Host = None, port: Port = None, config: ConfigFile = None,
           compartments: Compartments = DEFAULT_COMPARTMENTS, timeout_ms: TimeoutMs = 1000,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False) -> None:
    """Show every compartment's door and relay state."""
    plc_config = _config(host, port, config, compartments, timeout_ms)
    doors, relays = _run(_read_status(plc_config))
    rows = [{"id": str(k), "door": "open" if doors[k] else "closed", "relay": "on" if relays[k] else "off"}
            for k in plc_config.compartments]
    if as_json:
        typer.echo(json.dumps({"compartments": rows}))
        return
    typer.echo(f"{'compartment':<12} {'door':<7} relay")
    for row in rows:
        typer.echo(f"{row['id']:<12} {row['door']:<7} {row['relay']}")


def unlock(compartment: Annotated[int, typer.Argument(help="Compartment number (1-based).")],
           host: Host = None, port: Port = None, config: ConfigFile = None,
           compartments: Compartments = DEFAULT_COMPARTMENTS, timeout_ms: TimeoutMs = 1000,
           pulse_ms: Annotated[int, typer.Option(min=1, max=600_000, help="Pulse length in ms.")] = 500,
           operator: Annotated[str | None, typer.Option("--operator", help="Who sends it, recorded as "
                                                        "cli:NAME (default: the OS user).")] = None,
           note: Annotated[str, typer.Option("--note", help="Why, recorded with the pulse.")] = "") -> None:
    """Send one unlock pulse (never repeated), record it in the bank's log, and print the outcome."""
    plc_config = _config(host, port, config, compartments, timeout_ms)
    if plc_config.board_of(compartment) is None:  # bad input, not an unavailable board: say so before connecting
        known = plc_config.compartments
        exits.fail(f"compartment {compartment} is not in the register map ({known[0]}..{known[-1]})", exits.BAD_INPUT)
    operator_id = f"cli:{_operator_name(operator)}"
    _refuse_beside_a_controller(config, compartment)
    _record_pulse(config, plc_config, compartment, pulse_ms, operator_id, note)
    typer.echo(f"compartment {compartment}: unlock pulse sent ({pulse_ms} ms)")


def _operator_name(given: str | None) -> str:
    """``--operator``, else the OS user: the log names who pulsed a relay."""
    name = given if given is not None else _os_user()
    if not name.strip():
        exits.fail("--operator must name who sends the pulse", exits.BAD_INPUT)
    return name.strip()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no password entry (some containers)
        exits.fail("cannot tell who you are: give --operator NAME", exits.BAD_INPUT)


def _record_pulse(config: Path | None, plc_config: PlcConfig, compartment: int, pulse_ms: int,
                  operator_id: str, note: str) -> None:
    """No controller runs: hold the log's lease, record the pulse and its outcome through the bank."""
    from controller.app.run.maintenance import MaintenancePulse, recorded_pulse
    from storage.lease import LeaseHeld

    _quiet_pymodbus()
    try:
        where = recorded_pulse(config, plc_config, MaintenancePulse(compartment, pulse_ms, operator_id, note))
    except LeaseHeld as exc:  # a controller started since the check above
        _refuse_beside(config, compartment, str(exc))
    except LockerError as exc:
        _fail(exc)
    typer.echo(f"recorded in {where} by {operator_id}: compartment {compartment} stays in alarm 'maintenance' "
               "until an operator clears it", err=True)


def _refuse_beside_a_controller(config: Path | None, compartment: int) -> None:
    """A pulse beside a running controller would go unrecorded: send it through the controller instead."""
    from controller.app.run.maintenance import running_controller

    holder = running_controller(config)
    if holder is not None:
        _refuse_beside(config, compartment, holder)


def _refuse_beside(config: Path | None, compartment: int, holder: str) -> NoReturn:
    from controller.app.run.maintenance import unlock_through_controller

    command = unlock_through_controller(config, compartment)
    exits.fail(f"a controller runs on this bank's log ({holder}); unlock through it, recorded: {command}",
               exits.UNAVAILABLE)


def plc_sim(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
            port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0 = any free port).")] = 5020,
            compartments: Annotated[int, typer.Option(min=1, max=2000)] = DEFAULT_COMPARTMENTS,
            behaviour: Annotated[DoorBehaviour, typer.Option(help="What a released door does.")] = DoorBehaviour.POP,
            pop_delay_ms: Annotated[int, typer.Option(min=0, max=60_000)] = 200,
            rtu: Annotated[bool, typer.Option(help="RTU framing over TCP (for serial tests).")] = False,
            silent: Annotated[bool, typer.Option(help="Fault: never answer.")] = False,
            lose_replies: Annotated[bool, typer.Option(help="Fault: execute requests, lose the replies.")] = False,
            delay_ms: Annotated[int, typer.Option(min=0, max=600_000, help="Fault: delay every reply.")] = 0,
            exception_code: Annotated[int | None, typer.Option(min=1, max=255, help="Fault: refuse with this "
                                                               "Modbus exception code.")] = None,
            drop_connections: Annotated[bool, typer.Option(help="Fault: close the connection on every "
                                                           "request.")] = False) -> None:
    """Run a simulated lock board (default register map) as a Modbus TCP server until Ctrl-C."""
    _quiet_pymodbus()
    from plc.simulator import Faults, LockBoardSimulator

    faults = Faults(silent=silent, lose_replies=lose_replies, delay_s=delay_ms / 1000,
                    exception_code=exception_code, drop_connections=drop_connections)
    sim = LockBoardSimulator(compartments=compartments, host=host, port=port, behaviour=behaviour,
                             pop_delay_s=pop_delay_ms / 1000, rtu_framing=rtu, faults=faults)
    try:
        asyncio.run(_serve(sim))
    except KeyboardInterrupt:
        pass
    except LockerError as exc:
        exits.fail(exc)


async def _serve(sim: Any) -> None:
    await sim.start()
    typer.echo(f"lock-board simulator: {sim.compartments} compartments on {sim.host}:{sim.port} "
               "(device id 1); Ctrl-C to stop")
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def _config(host: str | None, port: int | None, config: Path | None, compartments: int,
            timeout_ms: int) -> PlcConfig:
    """The board to talk to: a config file, or the default map at --host/--port."""
    if config is not None and (host is not None or port is not None):
        exits.fail("give either --host/--port or --config, not both", exits.BAD_INPUT)
    try:
        loaded = _from_file(config) if config is not None else default_plc_config(
            compartments, host or "127.0.0.1", port or 502, timeout_ms / 1000)
    except LockerError as exc:
        exits.fail(exc)
    # a maintenance command answers within one timeout: no read retries
    return dataclasses.replace(loaded, read_retries=0)


def _from_file(path: Path) -> PlcConfig:
    """The ``[plc]`` section of a site configuration, after the whole file passed the configuration schema."""
    from controller.app.config.loader import plc_config
    from controller.app.config.location import bank_config

    return plc_config(bank_config(path))


async def _read_status(config: PlcConfig) -> tuple[dict[int, bool], dict[int, bool]]:
    from plc.driver import ModbusLockDriver

    async with ModbusLockDriver(config) as driver:
        return await driver.read_doors(), await driver.read_relays()


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; a project error becomes one line on stderr and its documented exit status."""
    _quiet_pymodbus()
    try:
        return asyncio.run(work)
    except LockerError as exc:
        _fail(exc)


def _fail(exc: LockerError) -> NoReturn:
    """One line on stderr and the error's documented exit status."""
    code = exits.exit_code_for(exc)
    unknown = code == exits.OUTCOME_UNKNOWN
    hint = " (outcome unknown: check the door before sending another pulse)" if unknown else ""
    exits.fail(f"{exc}{hint}", code)


def _quiet_pymodbus() -> None:
    """Silence pymodbus, which logs every timeout and refused connection: the CLI reports errors itself."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
