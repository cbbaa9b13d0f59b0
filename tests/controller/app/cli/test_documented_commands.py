"""Every ``lockers`` command and option, exit status, file and link that the README, ``docs/*.md`` or a message
names exists (commands and options in the real command tree, statuses in ``controller.app.cli.exits``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from controller.app.cli import exits
from controller.app.cli import main as cli
from tests.conftest import REPO_ROOT

CODE_SPAN = re.compile(r"`([^`\n]*\blockers [^`\n]*)`")
SOURCES = ("controller", "storage", "plc", "recognition")
EXIT_MENTION = re.compile(r"\bexit(?:s| status) (\d+)\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FOLDERS = "controller|recognition|storage|plc|migrations|tests|scenarios|benchmarks|deploy|docs"
REPO_PATH = re.compile(rf"`((?:{FOLDERS})/[^`\s]*)`")


def documents() -> list[Path]:
    """The README and every document under docs/ (found, not listed: a new document is checked too)."""
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def is_group(command: Any) -> bool:
    """A command with subcommands (typer ships its own click, so no isinstance on click's classes)."""
    return hasattr(command, "commands")


@pytest.fixture(scope="module")
def root() -> Any:
    cli._register_subsystems()
    command = typer.main.get_command(cli.app)
    assert is_group(command) and "status" in command.commands
    return command


def documented_commands(document: Path) -> list[str]:
    """Code spans and code-block lines of a document that run ``lockers``."""
    text = document.read_text(encoding="utf-8")
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
            lines.append(re.sub(r"(^|\s)#\s.*$", "", line).strip())  # a comment is prose (its code spans count)
    return lines


def message_commands() -> list[str]:
    """Commands named in backticks by the code's messages and docstrings."""
    found = []
    for package in SOURCES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            found += [m.group(1) for m in CODE_SPAN.finditer(path.read_text(encoding="utf-8"))]
    return found


def program_index(words: list[str]) -> int:
    """Where the program is: `.venv/bin/lockers` (also after `runuser -u lockers --`), else a bare `lockers`.

    A path such as `/var/lib/lockers` or a user name before the program is not the program.
    """
    for test in (lambda w: w.endswith("bin/lockers"), lambda w: w == "lockers", lambda w: w.endswith("lockers")):
        found = next((i for i, w in enumerate(words) if test(w)), None)
        if found is not None:
            return found
    raise ValueError(f"no lockers program in {words}")


def problems_in(text: str, root: Any) -> list[str]:
    """What ``text`` names that the command tree lacks; values and placeholders are ignored."""
    words = re.sub(r"[\[\]`]", " ", text.replace("\\|", "|").replace("|", " | ")).split()
    words = words[program_index(words) + 1:]
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


def test_the_readme_is_short_enough_for_an_operator() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < 250, f"README.md has {lines} lines: move what an operator does not need into docs/"


def test_the_readme_names_enough_commands_to_be_checked() -> None:
    commands = documented_commands(REPO_ROOT / "README.md")
    assert len(commands) >= 10, commands
    assert len([c for d in documents() for c in documented_commands(d)]) >= 100


@pytest.mark.parametrize("document", documents(), ids=lambda d: d.name)
def test_documents_name_commands_and_options_that_exist(root: Any, document: Path) -> None:
    assert [p for text in documented_commands(document) for p in problems_in(text, root)] == []


@pytest.mark.parametrize("document", documents(), ids=lambda d: d.name)
def test_documents_name_exit_statuses_that_exist(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    known = {value: name for name, value in vars(exits).items() if name.isupper() and isinstance(value, int)}
    assert [m.group(0) for m in EXIT_MENTION.finditer(text) if int(m.group(1)) not in known] == []
    for table in exit_tables(text):
        assert [code for code, _ in table] == sorted(known), document.name
        for code, meaning in table:
            assert first_words(meaning) == first_words(exits_meaning(known[code])), (document.name, code)


def exit_tables(text: str) -> list[list[tuple[int, str]]]:
    """The rows of every ``| status | meaning |`` table."""
    tables = text.split("| status | meaning |")[1:]
    rows = [re.findall(r"^\| (\d+) \| (.*) \|$", t.split("\n\n", 1)[0], flags=re.MULTILINE) for t in tables]
    return [[(int(code), meaning) for code, meaning in table] for table in rows]


def exits_meaning(name: str) -> str:
    """The meaning ``exits``' docstring table gives the constant ``name``."""
    line = next(line for line in (exits.__doc__ or "").splitlines() if f"``{name}``" in line)
    return line.split(f"``{name}``", 1)[1]


def first_words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())[:4]


@pytest.mark.parametrize("document", documents(), ids=lambda d: d.name)
def test_documents_name_files_and_links_that_exist(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    missing = [path for path in REPO_PATH.findall(text) if not (REPO_ROOT / path.rstrip("/")).exists()]
    for target in (t for t in LINK.findall(text) if not t.startswith(("http://", "https://"))):
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists() or (anchor and anchor not in anchors_of(linked)):
            missing.append(target)
    assert missing == []


def anchors_of(document: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.*)$", document.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_messages_name_commands_that_exist(root: Any) -> None:
    commands = message_commands()
    assert any("keys master" in text for text in commands) and any("db upgrade" in text for text in commands)
    assert [p for text in commands for p in problems_in(text, root)] == []


@pytest.mark.parametrize(
    "text",
    ["lockers keys generate", "lockers status --config F --colour", "lockers audit verify | replay --att 3",
     "lockers plc-simulator", "runuser -u lockers -- /opt/lockers/.venv/bin/lockers keys signing --confg F"],
)
def test_the_checker_finds_what_does_not_exist(root: Any, text: str) -> None:
    assert problems_in(text, root) != []


def test_the_checker_skips_paths_and_user_names_before_the_program(root: Any) -> None:
    assert problems_in("adduser --system --home /var/lib/lockers lockers", root) == []
    assert problems_in("runuser -u lockers -- /opt/lockers/.venv/bin/lockers keys signing --config F", root) == []


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
