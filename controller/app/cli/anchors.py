"""``lockers keys signing`` and ``lockers audit anchor``, registered into the root CLI's groups."""

from __future__ import annotations

from typing import Annotated

import typer

from controller.app.audit.keys import AuditSettings, load_signer, make_signing_key
from controller.app.config.loader import load_config
from controller.app.config.location import ConfigOption, database_url
from controller.domain.errors import ConfigError


def keys_signing(config: ConfigOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Make the Ed25519 key pair that signs checkpoints of the log (private key mode 0600; never replaced)."""
    from controller.app.cli.main import emit_json

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


def audit_anchor(
    config: ConfigOption = None,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (default: from the configuration).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sign a checkpoint of the log's head now and append it to the anchor file (and send it to the witness)."""
    from controller.app.audit.anchors import checkpoint_json, head_from_log, write_checkpoint
    from controller.app.cli.main import emit_json
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
    """Add ``keys signing`` and ``audit anchor`` to the groups the root CLI declares."""
    from controller.app.cli.main import audit_app, keys_app

    keys_app.command("signing")(keys_signing)
    audit_app.command("anchor")(audit_anchor)
