"""Alembic environment (from Alembic's ``pyproject`` template), bound to ``storage.schema.metadata``.

``storage.migration`` builds the configuration in code and passes an open connection in
``config.attributes["connection"]``, so this works from an installed package without an ini file.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from storage.schema import metadata

config = context.config
target_metadata = metadata

# Serialises concurrent upgrades of one PostgreSQL database (SQLite uses BEGIN IMMEDIATE).
PG_MIGRATION_LOCK = 0x4C4F434B4D494752


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    """Run the migrations on ``connection`` inside one transaction."""
    # SQLite and PostgreSQL both roll DDL back with the transaction: a failed upgrade leaves no trace.
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, transactional_ddl=True
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection handed over by ``storage.migration``, or on ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as fresh:
        run_with(fresh)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
