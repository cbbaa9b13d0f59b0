"""Alembic, configured in code: the scripts are found next to the installed ``migrations`` package."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import Final

# Alembic announces each autogenerate plugin at INFO while it is imported: noise for every CLI command.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Connection, MetaData, text  # noqa: E402
from sqlalchemy.engine import URL  # noqa: E402

from storage.engine import migration_engine, unavailable_as_storage_error  # noqa: E402
from storage.errors import SchemaError  # noqa: E402
from storage.schema import APPEND_ONLY_TRIGGERS, metadata  # noqa: E402

_TRIGGER_QUERIES: Final = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal",
}


@contextmanager
def _alembic_quiet() -> Iterator[None]:
    """Alembic logs its plumbing at INFO; the commands report what matters themselves."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    try:
        yield
    finally:
        logger.setLevel(level)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at the ``migrations`` package, bound to ``connection``."""
    config = Config()
    location = str(files("migrations"))
    config.set_main_option("script_location", location.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision among the migration scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaError("no migration scripts found")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: URL) -> str:
    """Bring the database at ``url`` to the newest revision; return it."""
    engine = migration_engine(url, write=True)
    try:
        with _alembic_quiet(), unavailable_as_storage_error(url), engine.connect() as connection:
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
            return current_revision(connection) or ""
    finally:
        engine.dispose()


def schema_problems(url: URL, target: MetaData = metadata) -> list[str]:
    """What differs between the database and ``target``: revision, tables and columns, triggers."""
    engine = migration_engine(url, write=False)
    try:
        with _alembic_quiet(), unavailable_as_storage_error(url), engine.connect() as connection:
            head, current = head_revision(), current_revision(connection)
            if current != head:
                return [f"database is at revision {current or 'none'}, the migrations at {head}"]
            context = MigrationContext.configure(connection, opts={"render_as_batch": True})
            problems = [f"model and migrations differ: {diff}" for diff in compare_metadata(context, target)]
            return problems + _missing_triggers(connection)
    finally:
        engine.dispose()


def require_current(url: URL) -> None:
    """Raise ``SchemaError`` unless the database is at the newest revision."""
    engine = migration_engine(url, write=False)
    try:
        with _alembic_quiet(), unavailable_as_storage_error(url), engine.connect() as connection:
            current, head = current_revision(connection), head_revision()
    finally:
        engine.dispose()
    if current != head:
        raise SchemaError(f"database is at revision {current or 'none'}, not {head}: run `lockers db upgrade`")


def _missing_triggers(connection: Connection) -> list[str]:
    dialect = connection.dialect.name
    present = set(connection.execute(text(_TRIGGER_QUERIES[dialect])).scalars())
    return [f"append-only trigger {name} is missing" for name in APPEND_ONLY_TRIGGERS[dialect] if name not in present]
