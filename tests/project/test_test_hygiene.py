"""The test suite itself: it must not hide broken project modules or missing assets."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO_ROOT

FIRST_PARTY = ("controller", "recognition", "storage", "plc", "migrations", "tests", "benchmarks")


def test_importorskip_is_never_used_on_the_projects_own_modules() -> None:
    # An importorskip of our own module turns an ImportError (a real bug) into a quiet skip.
    pattern = re.compile(r"importorskip\(\s*[\"'](\w+)")
    sources = sorted((REPO_ROOT / "tests").rglob("*.py"))
    assert sources
    offenders = [
        f"{path.relative_to(REPO_ROOT)}: {name}"
        for path in sources
        for name in pattern.findall(path.read_text())
        if name in FIRST_PARTY
    ]
    assert offenders == []


DIRECT_SKIPS = {
    "tests/conftest.py": "missing_asset itself: the one way an asset skip is taken",
    "tests/support/databases.py": "no PostgreSQL server or driver here (CI starts one)",
    "tests/storage/test_lease.py": "no PostgreSQL server here (CI starts one)",
    "tests/controller/app/http/test_browser.py": "no Chromium here (CI installs it)",
    "tests/controller/app/cli/test_train_cli.py": "a GPU is present, so the CPU-only message cannot show",
    "tests/support/full_disk.py": "mounting the full disk's tmpfs needs root (mount refused here)",
}
"""The only places that call ``pytest.skip`` directly, and why: every missing asset goes through
``missing_asset``, which ``LOCKERS_REQUIRE_ASSETS=1`` (CI) turns into a failure."""


def direct_skips(source: str) -> int:
    """How many ``pytest.skip(...)`` calls a module makes."""
    return sum(
        1
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "skip"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "pytest"
    )


def test_asset_skips_go_through_missing_asset() -> None:
    found = {
        str(path.relative_to(REPO_ROOT)): direct_skips(path.read_text())
        for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
    }
    offenders = sorted(name for name, count in found.items() if count and name not in DIRECT_SKIPS)
    assert offenders == [], "use tests.conftest.missing_asset for a missing asset (CI turns it into a failure)"
    assert all(found.get(name) for name in DIRECT_SKIPS), "a listed direct skip is gone: drop it from DIRECT_SKIPS"


def test_the_skip_finder_sees_a_direct_skip() -> None:
    assert direct_skips("import pytest\nif True:\n    pytest.skip('weights not found')\n") == 1
    assert direct_skips("from tests.conftest import missing_asset\nmissing_asset('weights not found')\n") == 0


ASSET_TEST = """
from tests.conftest import assets  # noqa: F401  (the fixture every asset test goes through)


def test_needs_assets(assets):
    assert assets.is_dir()
"""


def _run_asset_test(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_needs_assets.py"
    test.write_text(ASSET_TEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO_ROOT),
         "-c", str(REPO_ROOT / "pyproject.toml"), str(test)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "LOCKERS_ASSETS": str(tmp_path / "absent"), **env},
    )


def test_missing_assets_skip_locally_and_fail_where_required(tmp_path: Path) -> None:
    local = _run_asset_test(tmp_path, LOCKERS_REQUIRE_ASSETS="")
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    required = _run_asset_test(tmp_path, LOCKERS_REQUIRE_ASSETS="1")
    assert required.returncode == 1 and "LOCKERS_REQUIRE_ASSETS is set" in required.stdout, required.stdout
    assert "1 error" in required.stdout or "1 failed" in required.stdout


def test_ci_stops_with_one_line_when_the_assets_folder_is_missing(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(REPO_ROOT / ".ci" / "run")], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "LOCKERS_ASSETS": str(tmp_path / "absent")},
    )
    assert result.returncode != 0
    where = tmp_path / "absent"
    assert result.stderr.strip().splitlines() == [
        f".ci/run: error: assets folder not found at {where} (needs data/ and models/; set LOCKERS_ASSETS)"
    ]


def test_install_shows_progress_and_declares_its_licence_without_deprecation() -> None:
    # setuptools < 77 cannot read an SPDX string and >= 77 warns at every build on a `{ text = ... }` table.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
    pip_lines = [line for line in (REPO_ROOT / "Makefile").read_text().splitlines() if "/pip install" in line]
    assert len(pip_lines) == 4  # make install (dev) and make install-runtime: pip itself, then the project
    assert all("--progress-bar on" in line for line in pip_lines)
    assert not [line for line in pip_lines if re.search(r"\s(--quiet|-q+)\b", line)]
