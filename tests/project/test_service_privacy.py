"""The compartment service is private to ``controller/service``: outside it nobody reaches into a bank's service.

The shell (``controller/app``) and the benchmarks drive a bank through ``LockerBank``'s flows and read it
through ``controller.service.views``; an attribute ``X.service`` or ``X._service`` (``stack.service.compartments``,
``bank._service.get(...)``) anywhere there is a reach past both. Found from the code's syntax tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTSIDERS = ("controller/app", "benchmarks")
SERVICE_NAMES = {"service", "_service"}


def service_reaches(source: str) -> list[str]:
    """Each ``<expr>.service`` / ``<expr>._service`` in ``source`` as ``line: code``."""
    return [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in SERVICE_NAMES
    ]


def outsider_files() -> list[Path]:
    files = sorted(p for folder in OUTSIDERS for p in (ROOT / folder).rglob("*.py"))
    assert len(files) >= 40, f"too few modules under {OUTSIDERS}: {len(files)}"
    return files


def test_no_module_outside_the_service_reaches_into_a_service() -> None:
    offenders = {}
    for path in outsider_files():
        if found := service_reaches(path.read_text()):
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.mark.parametrize(
    "code",
    [
        "stack.service.compartments",
        "len(ctx.bank.service.compartments)",
        "bank._service.get('1')",
        "HistorySimulator(stack.service, clock, 1)",
    ],
)
def test_the_rule_sees_a_reach(code: str) -> None:
    assert service_reaches(code)


def test_the_rule_passes_the_public_surface() -> None:
    assert service_reaches("stack.views.state('1'); stack.bank.subscribe(f); stack.bank.now(); service.get('1')") == []
