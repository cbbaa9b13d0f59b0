"""``lockers keys master|operator-token|kiosk|signing|fleet|rotate``: every secret a site makes or renews."""

from __future__ import annotations

import json
import secrets

import typer

from controller.app.audit.keys import AuditSettings, make_signing_key
from controller.app.cli.common import JsonOption, emit_json
from controller.app.config.loader import load_config
from controller.app.config.location import ConfigOption, bank_config
from controller.app.http.operators import token_digest

TOKEN_BYTES = 32

keys_app = typer.Typer(no_args_is_help=True, help="Make the secrets a site configures.")


@keys_app.command("master")
def master(as_json: JsonOption = False) -> None:
    """Print a new template master key for ``[templates] master_key`` (or LOCKERS_MASTER_KEY)."""
    from storage.templates import generate_master_key

    key = generate_master_key()
    if as_json:
        typer.echo(json.dumps({"master_key": key}))
        return
    typer.echo(key)


@keys_app.command("operator-token")
def operator_token(as_json: JsonOption = False) -> None:
    """Print a new operator token (give it to operators) and its SHA-256 (put it in the configuration)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = token_digest(token)
    if as_json:
        typer.echo(json.dumps({"token": token, "operator_token_sha256": digest}))
        return
    typer.echo(f"token: {token}")
    typer.echo(f'[api] operator_token_sha256 = "{digest}"')


@keys_app.command("kiosk")
def kiosk(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Make the kiosk's credential: a token for its browser, its SHA-256 for the configuration, how to pair."""
    from controller.app.http.access import kiosk_pair_url

    api = load_config(config).api
    token = secrets.token_urlsafe(TOKEN_BYTES)
    document = {
        "token": token,
        "kiosk_token_sha256": token_digest(token),
        "pair_url": kiosk_pair_url(api.host, api.port, token),
        "header": f"Authorization: Bearer {token}",
        "replaces_configured": bool(api.kiosk_token_sha256),
    }
    if as_json:
        emit_json(document)
        return
    where = str(config) if config else "the configuration file"
    typer.echo(f"token: {token}  (the kiosk's secret: keep it for the pairing only)")
    typer.echo(f"1. add to {where}:  [api] kiosk_token_sha256 = \"{document['kiosk_token_sha256']}\"")
    if api.kiosk_token_sha256:
        typer.echo("   (it replaces the configured one: a kiosk paired with the old token must pair again)")
    typer.echo("2. restart lockers, then open once in the kiosk's browser (it keeps the token in a cookie):")
    typer.echo(f"   {document['pair_url']}")
    typer.echo(f"   a kiosk client that is not a browser sends the header  {document['header']}")


@keys_app.command("signing")
def keys_signing(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Make the Ed25519 key pair that signs checkpoints of the log (private key mode 0600; never replaced)."""
    settings = AuditSettings.from_config(load_config(config))
    key = make_signing_key(settings)
    document = {
        "key_id": key,
        "private_key": str(settings.signing_key_path),
        "public_key": str(settings.public_key_path),
    }
    if as_json:
        emit_json(document)
    else:
        typer.echo(f"signing key {key}: {settings.signing_key_path} (keep secret), {settings.public_key_path}")


@keys_app.command("fleet")
def keys_fleet(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Make the bank's fleet key pair in its data directory (signs what it sends the centre; never replaced)."""
    from controller.app.central.keys import make_fleet_keys

    key, private, public = make_fleet_keys(load_config(config))
    if as_json:
        emit_json({"public_key": str(public), "private_key": str(private), "key_id": key})
    else:
        typer.echo(f"fleet key {key}: {private} (keep secret); enrol the bank at the centre with {public}")


@keys_app.command("rotate")
def keys_rotate(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Re-seal the live templates under a new vault key and destroy the old one."""
    from controller.app.run.key_rotation import rotate_vault_keys

    report = rotate_vault_keys(bank_config(config))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    typer.echo(f"rotated the vault key of {report.vault}: {report.templates} live templates re-sealed, "
               f"the old key destroyed ({report.key_file})")
    typer.echo(f"note: {report.operator_note}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group to the root CLI."""
    app.add_typer(keys_app, name="keys")
