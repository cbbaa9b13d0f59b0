"""Where the embedded database lives by default: ``lockers.db`` in the data directory."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``LOCKERS_DATA_DIR`` when set, else ``./var``."""
    return Path(os.environ.get("LOCKERS_DATA_DIR") or "var")


def default_url() -> str:
    """The SQLite URL used when no ``--db`` is given."""
    return f"sqlite:///{(data_dir() / 'lockers.db').resolve()}"
