"""Alembic environment of the bank's log, bound to ``storage.schema.metadata`` (shared steps: ``storage.alembic_env``).

``storage.migration`` builds the configuration in code and passes an open connection in
``config.attributes["connection"]``, so this works from an installed package without an ini file.
"""

from __future__ import annotations

from storage.alembic_env import run_environment
from storage.schema import metadata

# Serialises concurrent upgrades of one PostgreSQL database (SQLite uses BEGIN IMMEDIATE).
PG_MIGRATION_LOCK = 0x4C4F434B4D494752

run_environment(metadata, PG_MIGRATION_LOCK, render_as_batch=True)
