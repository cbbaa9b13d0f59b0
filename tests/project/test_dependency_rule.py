"""Per-wing dependency rules for ``controller/`` and no import circle anywhere in the repository.

- ``controller/domain``: the standard library, ``transitions``, ``structlog``, the domain and ``controller.ports``;
- ``controller/service``: anything but an adapter (storage, plc, recognition) or a heavy library;
- ``controller/app``: the shell, the only wing that may import adapters;
- ``storage/``, ``plc/``, ``recognition/``, ``fleet/`` (adapters), every folder of them: nothing from
  ``controller.app`` or ``controller.service``, and no command-line library (every ``lockers`` command lives in
  ``controller/app/cli``).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = ROOT / "controller"
PACKAGES = ("controller", "storage", "plc", "recognition", "migrations", "fleet")
ADAPTERS = {"storage", "plc", "recognition", "fleet", "sqlalchemy", "torch", "torchvision", "pymodbus", "fastapi",
            "starlette", "uvicorn", "facenet_pytorch", "cv2", "numpy", "alembic", "prometheus_client", "typer"}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports (``from a import b`` yields ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def wing_files(wing: str) -> list[Path]:
    files = sorted((CONTROLLER / wing).rglob("*.py"))
    assert len(files) >= 5, f"controller/{wing} has too few modules: {files}"
    return files


def test_domain_imports_only_stdlib_transitions_structlog_and_ports() -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"transitions", "structlog", "__future__", "controller"}
    offenders = {}
    for path in wing_files("domain"):
        names = imported_modules(path)
        foreign = {n for n in names if n.split(".")[0] not in allowed_roots}
        foreign |= {n for n in names if n.startswith("controller.") and not n.startswith(("controller.domain",
                                                                                           "controller.ports"))}
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_service_imports_no_adapter() -> None:
    offenders = {}
    for path in wing_files("service"):
        names = imported_modules(path)
        foreign = {n for n in names if n.split(".")[0] in ADAPTERS or n.startswith("controller.app")}
        if foreign:
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_ports_import_only_the_domain() -> None:
    names = imported_modules(CONTROLLER / "ports.py")
    assert {n for n in names if n.startswith("controller.") and not n.startswith("controller.domain")} == set()
    assert {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"controller", "__future__"} == set()


ADAPTER_PACKAGES = ("storage", "plc", "recognition", "fleet")
SHELL_ONLY = ("controller.app", "controller.service", "typer", "click")


def adapter_folders() -> list[Path]:
    """Every package folder of the adapters (``recognition/models``, ``recognition/liveness``, ...)."""
    folders = [init.parent for pkg in ADAPTER_PACKAGES for init in (ROOT / pkg).rglob("__init__.py")]
    assert len(folders) >= 8, f"too few adapter folders: {folders}"
    return sorted(folders)


def shell_imports(path: Path) -> set[str]:
    """What ``path`` imports from the shell, the service or a command-line library."""
    return {n for n in imported_modules(path) if any(n == s or n.startswith(s + ".") for s in SHELL_ONLY)}


@pytest.mark.parametrize("folder", adapter_folders(), ids=lambda f: str(f.relative_to(ROOT)))
def test_adapter_folder_imports_no_shell_and_no_service(folder: Path) -> None:
    offenders = {}
    for path in sorted(folder.glob("*.py")):
        if foreign := shell_imports(path):
            offenders[path.name] = sorted(foreign)
    assert offenders == {}


def test_the_adapter_rule_sees_a_cli_inside_an_adapter(tmp_path: Path) -> None:
    sample = tmp_path / "cli.py"
    sample.write_text("import typer\nfrom controller.app import exits\n")
    assert shell_imports(sample) == {"typer", "controller.app", "controller.app.exits"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module → project modules it imports at module level or in functions (TYPE_CHECKING blocks excluded)."""
    paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "versions" not in p.parts]
    assert len(paths) >= 50, f"too few modules found under {ROOT}: an empty graph has no circle to find"
    modules = {module_name(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test) for child in node.body for n in ast.walk(child)}
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            candidates: list[str] = []
            if isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                candidates = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            for candidate in candidates:
                if candidate in modules:
                    targets.add(candidate)
                elif candidate.rpartition(".")[0] in modules and candidate.rpartition(".")[0] != name:
                    targets.add(candidate.rpartition(".")[0])
        targets.discard(name)
        # a package's __init__ is imported by its modules implicitly; it is not an edge of the circle we mean
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_in_the_repository() -> None:
    graph = import_graph()
    assert len(graph) > 60
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_rule_detects_an_adapter_import(tmp_path: Path) -> None:
    sample = tmp_path / "leaky.py"
    sample.write_text("import torch\nfrom storage.event_store import SqlEventStore\n")
    assert imported_roots(sample) == {"torch", "storage"}
    assert "storage.event_store.SqlEventStore" in imported_modules(sample)


@pytest.mark.parametrize("wing", ["domain", "service", "app"])
def test_every_wing_is_a_package(wing: str) -> None:
    assert (CONTROLLER / wing / "__init__.py").is_file()
    assert not [p.name for p in CONTROLLER.glob("*.py") if p.name not in {"__init__.py", "__main__.py", "ports.py"}]
