"""What the bank log's and the centre's Alembic environments share (``migrations/env.py``, ``fleet/migrations/env.py``).

Each ``env.py`` names its metadata, its advisory lock and its own options (SQLite batch mode, a revision table)
and calls ``run_environment``: offline it prints the SQL; online it runs on the connection the package's
``migration`` module hands over in ``config.attributes["connection"]``, or on ``-x url=...`` (else
``sqlalchemy.url``). Online, every revision runs in one transaction (SQLite and PostgreSQL both roll DDL back
with it: a failed upgrade leaves no trace) that first takes a PostgreSQL advisory lock, so two processes
upgrading one database at once take turns.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, MetaData, create_engine, pool


def run_environment(metadata: MetaData, pg_lock: int, **options: Any) -> None:
    """Run the migrations of the environment being loaded, bound to ``metadata``; ``options`` go to ``configure``."""
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=metadata, literal_binds=True,
                          dialect_opts={"paramstyle": "named"}, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_with(connection, metadata, pg_lock, options)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as fresh:
        _run_with(fresh, metadata, pg_lock, options)
        fresh.commit()


def _run_with(connection: Connection, metadata: MetaData, pg_lock: int, options: dict[str, Any]) -> None:
    context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True, **options)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # SQLite serialises writers itself (BEGIN IMMEDIATE)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({pg_lock})")
        context.run_migrations()


def _url() -> str:
    """The database of a run without a handed-over connection: ``-x url=...``, else ``sqlalchemy.url``."""
    given = context.get_x_argument(as_dictionary=True).get("url")
    return str(given or context.config.get_main_option("sqlalchemy.url") or "")
