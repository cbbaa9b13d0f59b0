"""The centre's Alembic, configured in code: its scripts sit next to the installed ``fleet`` package."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from fleet.schema import VERSION_TABLE, metadata
from storage.engine import migration_engine, unavailable_as_storage_error


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` pointing at ``fleet/migrations``, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(files("fleet") / "migrations").replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest of the centre's revisions."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the centre's database is at; None for a database without the centre's tables."""
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(url: URL, revision: str = "head") -> str:
    """Bring the centre's database at ``url`` to ``revision`` (the newest unless named); return it."""
    engine = migration_engine(url, write=True)
    try:
        with unavailable_as_storage_error(url), engine.connect() as connection:
            command.upgrade(alembic_config(connection), revision)
            connection.commit()
            return current_revision(connection) or ""
    finally:
        engine.dispose()


def schema_differences(url: URL) -> list[str]:
    """What differs between the migrated database and ``fleet.schema`` (empty when they agree)."""
    engine = migration_engine(url, write=False)
    try:
        with unavailable_as_storage_error(url), engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            return [str(diff) for diff in compare_metadata(context, metadata)]
    finally:
        engine.dispose()
