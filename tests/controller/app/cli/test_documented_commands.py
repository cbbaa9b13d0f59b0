"""Every ``lockers`` command and option that the README or a message names exists in the real command tree."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from controller.app.cli import main as cli
from tests.conftest import REPO_ROOT

CODE_SPAN = re.compile(r"`([^`\n]*\blockers [^`\n]*)`")
SOURCES = ("controller", "storage", "plc", "recognition")


def is_group(command: Any) -> bool:
    """A command with subcommands (typer ships its own click, so no isinstance on click's classes)."""
    return hasattr(command, "commands")


@pytest.fixture(scope="module")
def root() -> Any:
    cli._register_subsystems()
    command = typer.main.get_command(cli.app)
    assert is_group(command) and "status" in command.commands
    return command


def readme_commands() -> list[str]:
    """Code spans and code-block lines of the README that run ``lockers``."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    spans = [m.group(1) for m in CODE_SPAN.finditer(text)]
    return spans + [line for line in shell_block_lines(text) if re.search(r"\blockers \w", line)]


def shell_block_lines(text: str) -> list[str]:
    """Lines inside fenced blocks marked sh, bash or nothing (prose between fences is not code)."""
    lines, language = [], None
    for line in text.splitlines():
        fence = re.match(r"\s*```(\w*)", line)
        if fence:
            language = None if language is not None else fence.group(1)
        elif language in ("", "sh", "bash"):
            lines.append(line.strip())
    return lines


def message_commands() -> list[str]:
    """Commands named in backticks by the code's messages and docstrings."""
    found = []
    for package in SOURCES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            found += [m.group(1) for m in CODE_SPAN.finditer(path.read_text(encoding="utf-8"))]
    return found


def problems_in(text: str, root: Any) -> list[str]:
    """What ``text`` names that the command tree lacks; values and placeholders are ignored."""
    words = re.sub(r"[\[\]]", " ", text.replace("\\|", "|").replace("|", " | ")).split()
    words = words[next(i for i, w in enumerate(words) if w.endswith("lockers")) + 1:]
    path: list[Any] = [root]
    after_bar, problems = False, []
    for word in words:
        current = path[-1]
        if word == "|":
            after_bar = True
            continue
        if word.startswith("--"):
            options = word.split("=")[0].split("/")  # `--host/--port`
            for option in (o for o in options if o != "--help"):
                if not any(option in p.opts or option in p.secondary_opts for c in (current, root) for p in c.params):
                    problems.append(f"{text!r}: {' '.join(c.name or '' for c in path)} has no option {option}")
        elif is_group(current) and not after_bar:
            if word not in current.commands:
                problems.append(f"{text!r}: no command {word!r} under {current.name!r}")
                break
            path.append(current.commands[word])
        elif after_bar and len(path) > 1 and is_group(path[-2]) and word in path[-2].commands:
            path[-1] = path[-2].commands[word]  # an alternative: `audit verify | replay`
        after_bar = False
    return problems


def test_the_readme_names_commands_and_options_that_exist(root: Any) -> None:
    commands = readme_commands()
    assert len(commands) >= 20, commands
    assert [p for text in commands for p in problems_in(text, root)] == []


def test_messages_name_commands_that_exist(root: Any) -> None:
    commands = message_commands()
    assert any("keys master" in text for text in commands) and any("db upgrade" in text for text in commands)
    assert [p for text in commands for p in problems_in(text, root)] == []


@pytest.mark.parametrize(
    "text",
    ["lockers keys generate", "lockers status --config F --colour", "lockers audit verify | replay --att 3",
     "lockers plc-simulator"],
)
def test_the_checker_finds_what_does_not_exist(root: Any, text: str) -> None:
    assert problems_in(text, root) != []


def test_every_bank_command_takes_config(root: Any) -> None:
    bank_commands = [("status",), ("audit", "verify"), ("audit", "replay"), ("audit", "export"), ("sim", "history"),
                     ("db", "upgrade"), ("db", "check"), ("plc", "status"), ("plc", "unlock"), ("run",),
                     ("config", "show")]
    for names in bank_commands:
        command: Any = root
        for name in names:
            assert is_group(command)
            command = command.commands[name]
        assert any("--config" in p.opts for p in command.params), names


def test_only_shell_blocks_count_as_code() -> None:
    text = "```toml\nx = 1\n```\nprose `lockers x` here\n```sh\nlockers status\n```\n```\nlockers run\n```\n"
    assert shell_block_lines(text) == ["lockers status", "lockers run"]
