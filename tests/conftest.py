"""Shared fixtures: where the read-only assets (faces, weights) live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def assets_root() -> Path:
    """``LOCKERS_ASSETS`` or ``../shared`` next to the repository."""
    configured = os.environ.get("LOCKERS_ASSETS")
    return Path(configured).resolve() if configured else (REPO_ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def assets() -> Path:
    """The assets folder; tests that need it skip with a clear reason where it is absent."""
    root = assets_root()
    if not (root / "data").is_dir():
        pytest.skip(f"assets not found at {root} (set LOCKERS_ASSETS)")
    return root
