"""``lockers operators``: named operator accounts and their API tokens."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from controller.app.http.operators import OperatorDirectory

operators_app = typer.Typer(no_args_is_help=True, help="Operator accounts for the console and the API.")
FIRST_OPERATOR = "admin"
FIRST_PASSWORD_FILE = "first-operator.txt"

ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML configuration file (its data dir).")]


NameArgument = Annotated[str, typer.Argument(help="The operator's login name.")]
BanksOption = Annotated[
    str, typer.Option("--banks", help="At a centre: the only banks it sees and acts on, by id (A,B); default all.")
]


def bank_list(banks: str) -> list[str]:
    """``A, B`` as ``["A", "B"]`` (blanks dropped)."""
    return [bank.strip() for bank in banks.split(",") if bank.strip()]


def directory_for(config: Path | None) -> tuple[OperatorDirectory, Path]:
    """The accounts file of the configured bank, and its data dir."""
    from controller.app.config.loader import load_config

    data_dir = load_config(config).data_dir
    return OperatorDirectory(data_dir / "operators.db"), data_dir


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@operators_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    role: Annotated[str, typer.Option("--role", help="operator (acts) or auditor (reads only).")] = "operator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    config: ConfigOption = None,
    banks: BanksOption = "",
) -> None:
    """Create an operator account."""
    password = _read_password(password_stdin)
    directory, _ = directory_for(config)
    directory.add(name, password, role)
    directory.set_banks(name, bank_list(banks))
    limited = f", banks {', '.join(bank_list(banks))}" if bank_list(banks) else ""
    typer.echo(f"operator {name!r} ({role}{limited}) added")


@operators_app.command("banks")
def banks_of(name: NameArgument, banks: BanksOption = "", config: ConfigOption = None) -> None:
    """At a centre: limit an account to some banks (``--banks A,B``), or give it every bank (no ``--banks``)."""
    directory_for(config)[0].set_banks(name, bank_list(banks))
    typer.echo(f"operator {name!r}: {', '.join(bank_list(banks)) or 'every bank'}")


@operators_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="The operator the token acts as.")],
    config: ConfigOption = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", min=0, help="Days it works (default [api] token_days; 0: never).")
    ] = None,
) -> None:
    """Print a new API token for scripts (`Authorization: Bearer <token>`); it is shown only once."""
    from controller.app.config.loader import load_config

    days = load_config(config).api.token_days if expires_days is None else expires_days
    directory, _ = directory_for(config)
    typer.echo(directory.issue_token(name, timedelta(days=days) if days else None))


@operators_app.command("remove")
def remove(name: NameArgument, config: ConfigOption = None) -> None:
    """Delete an account and its API tokens."""
    directory_for(config)[0].remove(name)
    typer.echo(f"operator {name!r} removed")


@operators_app.command("disable")
def disable(
    name: NameArgument,
    config: ConfigOption = None,
    enable: Annotated[bool, typer.Option("--enable", help="Enable the account again.")] = False,
) -> None:
    """Disable an account: no login, its tokens refused, its open sessions ended (``--enable`` undoes it)."""
    directory_for(config)[0].set_disabled(name, not enable)
    typer.echo(f"operator {name!r} {'enabled' if enable else 'disabled'}")


@operators_app.command("passwd")
def passwd(
    name: NameArgument,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    config: ConfigOption = None,
) -> None:
    """Set a new password for an account."""
    password = _read_password(password_stdin)
    directory_for(config)[0].set_password(name, password)
    typer.echo(f"password of {name!r} changed")


@operators_app.command("revoke-token")
def revoke_token(
    name: NameArgument,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help="Revoke only the token read from stdin (default: all of them).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Revoke an account's API tokens (all, or the one given on stdin)."""
    given = sys.stdin.readline().strip() if token_stdin else None
    revoked = directory_for(config)[0].revoke_tokens(name, given)
    typer.echo(f"{revoked} token(s) of {name!r} revoked")


@operators_app.command("list")
def list_operators(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Every account and its role."""
    directory, _ = directory_for(config)
    accounts = [(name, role, sorted(directory.banks_of(name))) for name, role in directory.names()]
    if as_json:
        # "banks" only for an account limited to some (at a centre): a bank's scripts read what they always read
        rows = [{"name": name, "role": role, **({"banks": banks} if banks else {})} for name, role, banks in accounts]
        typer.echo(json.dumps({"operators": rows}, indent=2))
        return
    for name, role, banks in accounts:
        typer.echo(f"{name:<24} {role:<10} {', '.join(banks)}".rstrip())


@operators_app.command("first")
def first(
    config: ConfigOption = None,
    url: Annotated[str, typer.Option("--url", help="Where the console is served.")] = "http://127.0.0.1:8080",
) -> None:
    """Make a first account when there is none, and say how to log in (used by `make run`)."""
    directory, data_dir = directory_for(config)
    password_file = data_dir / FIRST_PASSWORD_FILE
    if not directory.names():
        password = secrets.token_urlsafe(12)
        directory.add(FIRST_OPERATOR, password, "operator")
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
    elif not password_file.exists():
        typer.echo(f"operator console: {url}/operator (accounts: `lockers operators list`)")
        return
    typer.echo(
        f"operator console: {url}/operator  user: {FIRST_OPERATOR}  password: {password_file.read_text().strip()}"
        f"  (kept in {password_file}; add your own with `lockers operators add NAME`)"
    )


def register(app: typer.Typer) -> None:
    """Add ``operators`` to the root CLI."""
    app.add_typer(operators_app, name="operators")



