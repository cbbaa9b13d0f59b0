"""The core imports only the standard library, transitions and structlog; adapters enter via the shell modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CONTROLLER = Path(__file__).resolve().parents[2] / "controller"
# The composition root and the outer shell (CLI, daemon, HTTP, metrics) may import adapters.
SHELL_MODULES = {
    "bootstrap.py",
    "auditor.py",
    "stack.py",
    "cli.py",
    "daemon.py",
    "daemon_cli.py",
    "api.py",
    "scenario.py",
    "metrics.py",
}
ALLOWED_THIRD_PARTY = {"transitions", "structlog"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_no_adapter() -> None:
    core = [p for p in CONTROLLER.glob("*.py") if p.name not in SHELL_MODULES]
    assert len(core) >= 10
    offenders = {}
    for path in core:
        allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"controller", "__future__"}
        foreign = imported_roots(path) - allowed
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_the_rule_detects_an_adapter_import(tmp_path: Path) -> None:
    sample = tmp_path / "leaky.py"
    sample.write_text("import torch\nfrom storage.event_store import SqlEventStore\n")
    assert imported_roots(sample) == {"torch", "storage"}
