"""The anchor file's lines (checkpoints and operators' acknowledgements) and the head file beside the log.

The anchor file is append-only JSON lines: signed checkpoints, and the signed acknowledgement an operator
writes when a finding is accepted (``lockers audit acknowledge``); checks read only what follows the last
acknowledgement, the lines before it stay as evidence. A line cut short by a crash while it was written
(``torn``) is told apart from a line that was written whole but is not a checkpoint.

The head file (``anchor-head.json`` in the data directory) holds a copy of the last checkpoint written. The
log and the anchors are kept apart; the head file stays with the log, so an anchor file that was replaced by
an older copy, cut short or deleted no longer holds the checkpoint the head file names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.domain.chain import canonical_json
from controller.domain.errors import ConfigError
from controller.service.anchors import Checkpoint

ACK_FORMAT = "lockers-acknowledgement/1"


@dataclass(frozen=True)
class Acknowledgement:
    """An operator's signed acceptance of the findings of a start check, from then on the new baseline."""

    time: str
    operator_id: str
    note: str
    findings: tuple[str, ...]
    compartments: tuple[str, ...]  # whose state the log may have lost: taken out of service at the next start
    position: int  # the log's head when acknowledged
    key_id: str = ""
    signature: str = ""

    def body(self) -> bytes:
        """The exact bytes that are signed."""
        document = {
            "format": ACK_FORMAT,
            "time": self.time,
            "operator_id": self.operator_id,
            "note": self.note,
            "findings": list(self.findings),
            "compartments": list(self.compartments),
            "position": self.position,
            "key_id": self.key_id,
        }
        return canonical_json(document).encode()

    def to_line(self) -> str:
        """One line of the anchor file."""
        return canonical_json({**json.loads(self.body()), "signature": self.signature})

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Acknowledgement:
        """From a parsed line; ValueError when it is not an acknowledgement."""
        try:
            return cls(
                str(raw["time"]), str(raw["operator_id"]), str(raw["note"]), tuple(map(str, raw["findings"])),
                tuple(map(str, raw["compartments"])), int(raw["position"]), str(raw["key_id"]), str(raw["signature"]),
            )  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an acknowledgement: {exc!r}") from None


@dataclass
class AnchorFile:
    """What an anchor file holds, line by line."""

    path: Path
    exists: bool = False
    checkpoints: list[tuple[int, Checkpoint]] = field(default_factory=list)  # (line number, checkpoint)
    acknowledgements: list[tuple[int, Acknowledgement]] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    torn: list[int] = field(default_factory=list)  # lines cut short: a write interrupted by a crash

    def since(self, line: int) -> list[Checkpoint]:
        """The checkpoints written after ``line``."""
        return [checkpoint for number, checkpoint in self.checkpoints if number > line]


def read_anchor_file(path: Path) -> AnchorFile:
    """Every line of the anchor file, sorted into checkpoints, acknowledgements, torn and unreadable lines."""
    found = AnchorFile(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return found
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the anchor file {path}: {exc}") from None
    found.exists = True
    for number, line in enumerate(lines, start=1):
        if line.strip():
            _sort_line(found, number, line)
    return found


def _sort_line(found: AnchorFile, number: int, line: str) -> None:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        # A line cut short by a crash is the start of a JSON object where the decoder ran out of text (inside
        # a string, or where the next token had to start); anything else was written whole and is not ours.
        if line.startswith("{") and (exc.msg.startswith("Unterminated string") or exc.pos >= len(line)):
            found.torn.append(number)
        else:
            found.unreadable.append((number, f"not JSON: {exc.msg}"))
        return
    try:
        if isinstance(raw, dict) and raw.get("format") == ACK_FORMAT:
            found.acknowledgements.append((number, Acknowledgement.from_json(raw)))
        else:
            found.checkpoints.append((number, Checkpoint.from_line(line)))
    except ValueError as exc:
        found.unreadable.append((number, str(exc)))


def append_line(path: Path, line: str, *, ended: bool = True) -> None:
    """Add one line to the anchor file, after a line a crash left cut short, and make it durable.

    ``ended=False`` leaves the line without its end: what a crash mid-write leaves (the crash tests' torn line).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write the anchor file {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "r+b") as file:
        size = file.seek(0, os.SEEK_END)
        torn_tail = size > 0 and os.pread(descriptor, 1, size - 1) != b"\n"
        file.write((b"\n" if torn_tail else b"") + line.encode() + (b"\n" if ended else b""))
        file.flush()
        os.fsync(file.fileno())


def write_head(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the head file with ``checkpoint`` atomically (a crash leaves the old one or the new one)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("w", encoding="utf-8") as file:
            file.write(checkpoint.to_line() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise ConfigError(f"cannot write the anchor head file {path}: {exc.strerror}") from None


def read_head(path: Path) -> Checkpoint | None:
    """The checkpoint the head file names; None when there is none; ValueError when it is not one."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read it: {exc}") from None
    return Checkpoint.from_line(text)
