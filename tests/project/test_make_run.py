"""``make run CONFIG=FILE`` hands the configuration file to both of its commands (``make -n``: nothing runs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def planned_commands(tmp_path: Path, *variables: str) -> list[str]:
    """The commands ``make run`` would run, with a set-up virtual environment in ``tmp_path``."""
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".installed").touch()  # newer than pyproject.toml: make plans no set-up
    result = subprocess.run(["make", "-n", "-C", str(REPO_ROOT), "run", f"VENV={venv}", *variables],
                            capture_output=True, text=True, check=True)
    return [line.strip() for line in result.stdout.splitlines() if "/bin/lockers " in line]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_passes_its_config_file_to_both_commands(tmp_path: Path) -> None:
    commands = planned_commands(tmp_path, "CONFIG=site.toml")
    assert [c.split("/bin/")[1] for c in commands] == [
        "lockers operators first --config site.toml",
        "lockers run --simulate --config site.toml",
    ]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_without_a_config_file_runs_on_the_defaults(tmp_path: Path) -> None:
    assert [c.split("/bin/")[1] for c in planned_commands(tmp_path)] == [
        "lockers operators first", "lockers run --simulate"]
