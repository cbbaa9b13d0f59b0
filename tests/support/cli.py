"""The ``lockers`` command line as a user's shell runs it: a child process of this checkout's code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

# ``python -m controller`` is the ``lockers`` console script (same entry point, same program name).
LOCKERS = (sys.executable, "-m", "controller")
# The developer's own bank must not leak into a test's bank; where the assets and models live may.
BANK_VARIABLES = ("LOCKERS_DATA_DIR", "LOCKERS_MASTER_KEY")


def lockers_env(data_dir: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the bank variables, this checkout importable, ``data_dir`` and ``extra``."""
    env = {name: value for name, value in os.environ.items() if name not in BANK_VARIABLES}
    env["PYTHONPATH"] = str(REPO_ROOT)  # this checkout's code, whatever the current directory or an install says
    if data_dir is not None:
        env["LOCKERS_DATA_DIR"] = str(data_dir)
    return {**env, **(extra or {})}


def lockers(
    *args: str,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    log_level: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``lockers [--log-level LEVEL] ARGS`` to the end; its exit status is the caller's to check."""
    quiet = ("--log-level", log_level) if log_level else ()
    return subprocess.run(
        [*LOCKERS, *quiet, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=lockers_env(data_dir, env),
        cwd=cwd,
        check=False,
        timeout=timeout,
    )


def quiet_lockers(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """``lockers --log-level ERROR ARGS``: for tests that read stderr's error lines, which log records would join."""
    return lockers(*args, log_level="ERROR", **options)
