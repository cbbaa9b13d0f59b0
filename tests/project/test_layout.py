"""The tests mirror the source: ``tests/<package>/<sub>`` tests ``<package>/<sub>``, and nothing lives elsewhere.

The mirrored folders are derived from the code (every folder of the repository with an ``__init__.py``); only the
folders that mirror nothing are named here, each with its role.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO_ROOT

TESTS = REPO_ROOT / "tests"
# Test folders that are not the mirror of a package.
NOT_MIRRORS = {
    "e2e": "scenarios and whole-process runs that cross every package",
    "project": "rules about the repository itself (dependencies, layout, test hygiene)",
    "support": "shared helpers and fixtures, no tests",
}
# Source packages whose tests sit in another package's folder (named there, not mirrored).
TESTED_ELSEWHERE = {"migrations": "storage"}


def source_packages(root: Path = REPO_ROOT) -> set[str]:
    """The top-level Python packages of the repository."""
    return {path.parent.name for path in root.glob("*/__init__.py")}


def python_folders(root: Path) -> list[Path]:
    """Every folder under ``root`` that holds a Python file (caches left aside)."""
    return sorted({path.parent for path in root.rglob("*.py") if "__pycache__" not in path.parts})


def misplaced(tests: Path = TESTS, repo: Path = REPO_ROOT) -> list[str]:
    """Test folders that mirror no source package, and Python files outside the known places."""
    packages = source_packages(repo)
    problems = []
    for folder in python_folders(tests):
        relative = folder.relative_to(tests)
        if relative == Path("."):
            stray = sorted(p.name for p in folder.glob("*.py") if p.name != "conftest.py")
            problems += [f"tests/{name}: only conftest.py belongs at the top" for name in stray]
        elif relative.parts[0] in NOT_MIRRORS:
            continue
        elif relative.parts[0] not in packages:
            problems.append(f"tests/{relative}: no source package {relative.parts[0]}/")
        elif not (repo / relative / "__init__.py").is_file():
            problems.append(f"tests/{relative}: mirrors no source package {relative}/")
    return problems


def test_every_test_folder_mirrors_a_source_package() -> None:
    assert misplaced() == []


def test_every_source_package_has_its_test_folder() -> None:
    missing = {
        package: TESTED_ELSEWHERE.get(package, package)
        for package in source_packages()
        if not (TESTS / TESTED_ELSEWHERE.get(package, package)).is_dir()
    }
    assert missing == {}


def test_support_holds_no_tests_and_the_named_places_exist() -> None:
    assert sorted((TESTS / "support").rglob("test_*.py")) == []
    assert all((TESTS / folder).is_dir() for folder in NOT_MIRRORS)


def test_a_file_in_an_unknown_place_is_named(tmp_path: Path) -> None:
    # The check itself, on a small copy of the layout: a folder that mirrors nothing, a test at the top.
    for folder in ("controller", "controller/app", "controller/app/cli", "storage"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "__init__.py").touch()
    tests = tmp_path / "tests"
    for path in ("controller/app/cli/test_a.py", "controller/app/nosuch/test_b.py", "nosuch/test_c.py",
                 "storage/test_d.py", "e2e/test_e.py", "test_f.py", "conftest.py"):
        (tests / path).parent.mkdir(parents=True, exist_ok=True)
        (tests / path).touch()
    assert misplaced(tests, tmp_path) == [
        "tests/test_f.py: only conftest.py belongs at the top",
        "tests/controller/app/nosuch: mirrors no source package controller/app/nosuch/",
        "tests/nosuch: no source package nosuch/",
    ]
