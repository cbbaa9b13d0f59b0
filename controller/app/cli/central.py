"""``lockers central run|banks``: a fleet's centre, and the banks enrolled at it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from controller.app.cli.common import JsonOption, emit_json
from controller.app.config.loader import Config, load_config
from controller.app.config.location import ConfigOption
from controller.domain.errors import ConfigError

central_app = typer.Typer(no_args_is_help=True, help="A fleet's centre: many banks, one PostgreSQL.")
banks_app = typer.Typer(no_args_is_help=True, help="The banks enrolled at this centre.")
central_app.add_typer(banks_app, name="banks")


def central_config(path: Path | None) -> tuple[Config, str]:
    """The configuration and its ``[central] database_url``; a clear error without ``[central]``."""
    config = load_config(path)
    if config.site.central is None:
        raise ConfigError("no [central] section in the configuration (database_url, host, port, data_dir)")
    return config, config.site.central.database_url


@central_app.command("run")
def central_run(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option("--host", help="Address (default [central] host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default [central] port).")] = None,
) -> None:
    """Migrate the centre's database and serve sync, heartbeats and the fleet API until SIGINT/SIGTERM."""
    from controller.app.central.server import run_central

    run_central(central_config(config)[0], host, port)


@banks_app.command("add")
def banks_add(
    bank_id: Annotated[str, typer.Argument(help="The bank's [fleet] bank_id.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The bank's fleet.key.pub (`lockers keys fleet`).")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Enrol a bank: pin its public key (a bank enrolled with another key is refused, never re-keyed)."""
    import re

    from controller.app.audit.keys import key_id, parse_public_key, public_pem
    from fleet.settings import BANK_ID_PATTERN
    from fleet.store import CentralStore

    if not re.match(BANK_ID_PATTERN, bank_id):
        raise ConfigError(f"bank id {bank_id!r} must be 1-64 letters, digits or . _ - (as [fleet] bank_id)")
    try:
        key = parse_public_key(public_key.read_bytes(), str(public_key))
    except OSError as exc:
        raise ConfigError(f"cannot read {public_key}: {exc.strerror}") from None
    store = CentralStore.open(central_config(config)[1])
    try:
        new = store.enrol(bank_id, public_pem(key).decode(), key_id(key))
    finally:
        store.close()
    document = {"bank_id": bank_id, "key_id": key_id(key), "enrolled": new}
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"bank {bank_id} {'enrolled' if new else 'was enrolled already'} with key {key_id(key)}")


@banks_app.command("list")
def banks_list(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every enrolled bank: online or not, last seen, its head at the centre."""
    from controller.app.central.views import FleetViews
    from fleet.store import CentralStore

    store = CentralStore.open(central_config(config)[1])
    try:
        document = FleetViews(store).banks()
    finally:
        store.close()
    if as_json:
        emit_json(document)
        return
    for bank in document["banks"]:
        state = "online" if bank["online"] else "offline"
        typer.echo(f"{bank['id']:<24} {state:<8} head {bank['head_position']:>9}  last seen {bank['last_seen']}")


def register(app: typer.Typer) -> None:
    """Add the ``central`` group to the root CLI."""
    app.add_typer(central_app, name="central")
