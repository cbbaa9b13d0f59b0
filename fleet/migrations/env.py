"""Alembic environment of the centre, bound to ``fleet.schema.metadata`` and its own revision table.

``fleet.migration`` passes an open connection in ``config.attributes["connection"]``; the ``alembic`` command
takes the database from ``-x url=...``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from fleet.schema import VERSION_TABLE, metadata

config = context.config
# Serialises concurrent upgrades of one centre's database (two `lockers central run` starting together).
PG_MIGRATION_LOCK = 0x4C4F434B43454E54


def run_with(connection: Connection) -> None:
    """Run the migrations on ``connection`` inside one transaction (PostgreSQL rolls DDL back with it)."""
    context.configure(
        connection=connection, target_metadata=metadata, version_table=VERSION_TABLE, transactional_ddl=True
    )
    with context.begin_transaction():
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection handed over by ``fleet.migration``, or on ``-x url=...``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as fresh:
        run_with(fresh)
        fresh.commit()


run_migrations_online()
