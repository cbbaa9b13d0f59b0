"""Alembic environment of the centre, bound to ``fleet.schema.metadata`` and its own revision table.

``fleet.migration`` passes an open connection in ``config.attributes["connection"]``; the ``alembic`` command
takes the database from ``-x url=...``. The steps are the bank log's (``storage.alembic_env``).
"""

from __future__ import annotations

from fleet.schema import VERSION_TABLE, metadata
from storage.alembic_env import run_environment

# Serialises concurrent upgrades of one centre's database (two `lockers central run` starting together).
PG_MIGRATION_LOCK = 0x4C4F434B43454E54

run_environment(metadata, PG_MIGRATION_LOCK, version_table=VERSION_TABLE)
