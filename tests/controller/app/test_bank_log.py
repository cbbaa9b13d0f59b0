"""One data location: the log records its bank; the controller refuses another bank's log or an empty log beside
a vault that holds templates (real SQLite files, a real vault, the real composition root and CLI)."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from controller.app.bootstrap import event_decoder
from controller.app.cli.exits import BAD_INPUT
from controller.app.config.loader import Config, load_config
from controller.app.config.location import database_url
from controller.app.stack import build_stack, open_vault
from controller.domain.errors import ConfigError
from controller.ports import SystemClock
from controller.service import audit
from storage.event_store import SqlEventStore
from storage.identity import log_identity
from storage.templates import generate_master_key
from tests.support.cli import lockers


class NoFaces:
    """A gallery that never identifies anyone: these tests never show a face."""

    def identify(self, *args: object) -> None:
        return None


MASTER_KEY = generate_master_key()


def config_at(data_dir: Path, **bank: object) -> Config:
    return load_config(None, {"bank": {"data_dir": str(data_dir), **bank}, "templates": {"master_key": MASTER_KEY}})


def start(config: Config, db_url: str | None = None) -> None:
    """Compose the bank as ``lockers run`` does (refusals happen here), then close it."""
    stack = build_stack(config, db_url, SystemClock(), NoFaces(), simulator=None)  # type: ignore[arg-type]
    stack.close()


def put_template(config: Config) -> str:
    vault = open_vault(config, simulate=False)
    try:
        return vault.put(np.ones(128, dtype=np.float32) / np.sqrt(128), "test@1")
    finally:
        vault.close()


def test_the_first_start_claims_the_log_for_the_bank_and_a_restart_is_accepted(tmp_path: Path) -> None:
    config = config_at(tmp_path / "a")
    start(config)
    owner, events = log_identity(database_url(config))
    assert owner == (tmp_path / "a" / "bank.id").read_text().strip() and len(owner) == 32
    start(config)  # the same bank again: accepted
    assert log_identity(database_url(config)) == (owner, events)


def test_a_log_of_another_bank_is_refused_with_one_line(tmp_path: Path) -> None:
    first = config_at(tmp_path / "a")
    start(first)
    owner, _ = log_identity(database_url(first))
    second = config_at(tmp_path / "b")
    with pytest.raises(ConfigError) as refused:
        start(second, database_url(first))
    message = str(refused.value)
    assert "\n" not in message and f"belongs to bank {owner}, not to this bank" in message
    assert f'set [bank] id = "{owner}"' in message
    start(config_at(tmp_path / "b", id=owner), database_url(first))  # the documented way to adopt it


def test_an_empty_log_beside_a_vault_with_templates_is_refused(tmp_path: Path) -> None:
    config = config_at(tmp_path / "a")
    start(config)
    put_template(config)
    elsewhere = f"sqlite:///{tmp_path / 'fresh' / 'lockers.db'}"
    with pytest.raises(ConfigError, match=r"is empty but the template vault in .* holds 1 template\(s\)"):
        start(config, elsewhere)
    assert log_identity(elsewhere) == (None, 0)  # refused before claiming anything
    start(config)  # its own log, claimed but still empty (a crash inside the first deposit): accepted


def test_an_old_log_is_upgraded_and_adopted_with_its_chain_intact(tmp_path: Path) -> None:
    config = config_at(tmp_path / "a")
    url = database_url(config)
    made = lockers("sim", "history", "--steps", "40", data_dir=tmp_path / "a")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "a" / "lockers.db") as db:  # as a log written before migration 0002
        db.execute("DROP TABLE bank")
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    start(config)  # upgrades to 0002 and claims the log it already had
    owner, events = log_identity(url)
    assert owner is not None and events > 40
    store = SqlEventStore.from_url(url, create=False)
    try:
        report = audit.verify(store.read_raw(), event_decoder())
    finally:
        store.close()
    assert report.ok and report.events == events


def test_lockers_run_refuses_a_log_of_another_bank(tmp_path: Path) -> None:
    first = config_at(tmp_path / "a")
    start(first)
    (tmp_path / "b").mkdir()
    # The log is checked before any model loads: the unknown model would be the error otherwise.
    site = f'[storage]\nurl = "{database_url(first)}"\n[bank]\ndata_dir = "."\n[recognition]\nmodel = "no-such-model"\n'
    (tmp_path / "b" / "site.toml").write_text(site)
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = str(probe.getsockname()[1])
    result = lockers("run", "--simulate", "--config", "site.toml", "--port", port,
                     cwd=tmp_path / "b", data_dir=tmp_path / "unused", timeout=240)
    assert result.returncode == BAD_INPUT
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "belongs to bank" in errors[0] and "Traceback" not in result.stderr
