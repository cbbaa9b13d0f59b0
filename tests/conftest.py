"""Shared fixtures: where the read-only assets (faces, weights) live, and the fixtures of ``tests/support``.

Tests mirror the source (``tests/controller/app/cli`` tests ``controller/app/cli``), so one network or one
database backend serves tests in several folders: their fixtures are registered here, once, for the suite.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

pytest_plugins = ("tests.support.models", "tests.support.training", "tests.support.databases")

REPO_ROOT = Path(__file__).resolve().parents[1]
# Set by `.ci/run`: in CI a missing asset is a failure, never a quiet skip of the ~120 tests that need one.
REQUIRE_ASSETS_ENV = "LOCKERS_REQUIRE_ASSETS"


def assets_root() -> Path:
    """``LOCKERS_ASSETS`` or ``../shared`` next to the repository."""
    configured = os.environ.get("LOCKERS_ASSETS")
    return Path(configured).resolve() if configured else (REPO_ROOT.parent / "shared").resolve()


def assets_required() -> bool:
    """True when missing assets must fail the test run (``LOCKERS_REQUIRE_ASSETS=1``)."""
    return os.environ.get(REQUIRE_ASSETS_ENV, "").strip() not in ("", "0")


def missing_asset(reason: str) -> NoReturn:
    """Skip the test for a missing asset, or fail it where assets are required (CI)."""
    if assets_required():
        pytest.fail(f"{reason} ({REQUIRE_ASSETS_ENV} is set: assets must be present)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def assets() -> Path:
    """The assets folder; tests that need it skip with a clear reason where it is absent (fail in CI)."""
    root = assets_root()
    if not (root / "data").is_dir():
        missing_asset(f"assets not found at {root} (set LOCKERS_ASSETS)")
    return root


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """No test leaves a process behind: a child still running at the end fails the run (and is killed)."""
    from tests.support.processes import kill_all, running_children

    if not Path("/proc").is_dir():
        return
    left = running_children()
    if left:
        kill_all(left)
        lines = "\n".join(f"  pid {pid}: {command}" for pid, command in sorted(left.items()))
        session.config.get_terminal_writer().line(f"processes left behind by the tests (killed):\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

