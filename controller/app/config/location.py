"""One data location: every command finds the bank's log, vault and keys through its configuration.

The log is ``--db``, else ``[storage] url``, else ``lockers.db`` in the data directory; the vault and the
generated key files live in the data directory too. A log records the id of the bank it belongs to, and
the controller refuses a log of another bank, or a new (empty, unclaimed) log beside a vault that holds templates.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Protocol, runtime_checkable

import typer

from controller.app.config.loader import Config, load_config
from controller.domain.errors import ConfigError

BANK_ID_FILE = "bank.id"
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML configuration file (its [bank] data_dir and [storage] url locate the log)."),
]


def bank_config(path: Path | None) -> Config:
    """The configuration a command runs with: ``--config FILE``, else the defaults (and ``LOCKERS_DATA_DIR``)."""
    return load_config(path)


def database_url(config: Config, db: str | None = None) -> str:
    """The log's URL: ``--db``, else ``[storage] url``, else SQLite ``lockers.db`` in the data directory."""
    configured = config.site.storage.url
    return db or configured or f"sqlite:///{config.data_dir / 'lockers.db'}"


def bank_id(config: Config) -> str:
    """``[bank] id``, else the id kept in ``<data_dir>/bank.id`` (made on first use)."""
    if config.site.bank.id:
        return config.site.bank.id
    path = config.data_dir / BANK_ID_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(uuid.uuid4().hex + "\n", encoding="ascii")
    return path.read_text(encoding="ascii").strip()


@runtime_checkable
class ListsTemplates(Protocol):
    """A vault that can say which templates it holds (the SQLite vault can; a test's forgetful one cannot)."""

    def refs(self) -> list[str]:
        """The refs of every stored template."""
        ...


def check_bank_log(url: str, config: Config, vault: object) -> None:
    """Refuse a log of another bank, or an empty log while the vault holds templates; claim an unclaimed log."""
    from storage.engine import parse_url
    from storage.identity import claim_log, log_identity

    owner, events = log_identity(url)
    where = parse_url(url).render_as_string(hide_password=True)
    # a log this bank claimed may be empty beside a template (a crash inside the first deposit); a fresh one not
    held = len(vault.refs()) if owner is None and events == 0 and isinstance(vault, ListsTemplates) else 0
    if held:
        raise ConfigError(
            f"the event log {where} is empty but the template vault in {config.data_dir} holds {held} template(s): "
            "this is not the bank's log (check [bank] data_dir, [storage] url and --db)"
        )
    ours = bank_id(config)
    if owner is None:
        claim_log(url, ours)
    elif owner != ours:
        raise ConfigError(
            f"the event log {where} belongs to bank {owner}, not to this bank {ours} (data dir {config.data_dir}): "
            f"point [storage] url or --db at this bank's log, or set [bank] id = \"{owner}\" if it is this bank's"
        )
