"""The anchor file (append-only JSON lines of signed checkpoints), the witness, and the anchored audit.

The anchor file belongs somewhere the database's owner cannot rewrite (another disk, host or account);
a witness URL, when configured, receives every checkpoint as it is written, so even a rewritten anchor
file can be caught against the witness's copy.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import AuditSettings, is_authentic, load_verifier, sign
from controller.app.config.loader import Config
from controller.domain.errors import ConfigError
from controller.service import anchors
from controller.service.anchors import Checkpoint
from controller.service.audit import AuditReport
from controller.service.crash_points import MID_CHECKPOINT, armed, crash_point

log = structlog.get_logger("lockers.anchors")

TORN = "a checkpoint cut short by a crash (torn write)"
"""Why an anchor-file line is not a checkpoint when a crash cut it short (``read_checkpoints``)."""


def now_text() -> str:
    """UTC now as ISO-8601, the checkpoints' time format."""
    return datetime.now(UTC).isoformat()


def head_from_log(reader: anchors.LogFacts) -> anchors.ChainHead:
    """The current head of a log, read from the database (at start and for ``audit anchor``)."""
    low, high, count = reader.position_bounds()
    if count == 0:
        return anchors.ChainHead()
    hashes = reader.hashes_at([low, high])
    return anchors.ChainHead(hashes[low], high, hashes[high], count, reader.stream_heads())


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Add one line to the anchor file and make it durable before returning.

    A last line left without its end by a crash (a torn checkpoint) is ended first, so the new checkpoint
    stands on a line of its own; the torn one stays, and verify names it.
    """
    line = (checkpoint.to_line() + "\n").encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot write the anchor file {path}: {exc.strerror}") from None
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            log.warning("the anchor file's last line was cut short by a crash; it is ended and kept", path=str(path))
            line = b"\n" + line
        if armed(MID_CHECKPOINT):  # a crash test's torn write: half the line on disk, then the kill
            line = line[: len(line) // 2]
        view = memoryview(line)
        while view:
            view = view[os.write(descriptor, view) :]
        os.fsync(descriptor)
        crash_point(MID_CHECKPOINT)
    finally:
        os.close(descriptor)


def send_to_witness(url: str, checkpoint: Checkpoint, timeout_s: float) -> str | None:
    """POST the checkpoint to the witness; None when it accepted it (2xx), else why not."""
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked when the settings are read
        url, data=checkpoint.to_line().encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return None if 200 <= response.status < 300 else f"witness answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"witness answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"witness unreachable: {reason}"


@dataclass(frozen=True)
class Written:
    """A checkpoint just written, and what the witness said (None: accepted or none configured)."""

    checkpoint: Checkpoint
    witness_error: str | None


def write_checkpoint(settings: AuditSettings, signer: Ed25519PrivateKey, head: anchors.ChainHead) -> Written:
    """Sign the head, append it to the anchor file, then hand it to the witness (whose failure is logged)."""
    checkpoint = sign(head.checkpoint(now_text()), signer)
    append_checkpoint(settings.anchor_path, checkpoint)
    error = None
    if settings.witness_url:
        error = send_to_witness(settings.witness_url, checkpoint, settings.witness_timeout_s)
        if error:
            log.warning("checkpoint not witnessed", url=settings.witness_url, error=error)
    return Written(checkpoint, error)


def read_checkpoints(path: Path) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """Every checkpoint in the anchor file and the (line number, reason) of each unreadable line."""
    checkpoints, unreadable = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [], []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the anchor file {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint.from_line(line))
        except ValueError as exc:
            unreadable.append((number, TORN if is_torn(line) else str(exc)))
    return checkpoints, unreadable


def is_torn(line: str) -> bool:
    """Whether ``line`` is the start of a JSON object cut off mid-way (a crash's torn write), not a forgery."""
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        # The decoder ran out of text: inside a string, or right where the next token had to start.
        return line.startswith("{") and (exc.msg.startswith("Unterminated string") or exc.pos >= len(line))
    return False


def check_anchors(settings: AuditSettings, reader: anchors.LogFacts) -> tuple[list[anchors.Problem], dict[str, Any]]:
    """The log against every authentic checkpoint of the anchor file; forged or unreadable lines are problems."""
    checkpoints, unreadable = read_checkpoints(settings.anchor_path)
    summary: dict[str, Any] = {"path": str(settings.anchor_path), "checkpoints": len(checkpoints)}
    if not checkpoints and not unreadable:
        return [], summary
    verifier = load_verifier(settings)
    torn = [number for number, reason in unreadable if reason == TORN]
    if torn:  # named, not a problem: it never was a checkpoint, and the ones around it still stand
        summary["torn_lines"] = torn
    problems: list[anchors.Problem] = [
        (0, "bad_signature", f"anchor file line {number} is not a checkpoint: {reason}")
        for number, reason in unreadable
        if reason != TORN
    ]
    authentic = []
    for checkpoint in checkpoints:
        if is_authentic(checkpoint, verifier):
            authentic.append(checkpoint)
        else:
            text = f"the checkpoint of {checkpoint.time} (position {checkpoint.position}) is not signed by this key"
            problems.append((checkpoint.position, "bad_signature", text))
    problems += anchors.check(authentic, reader)
    if authentic:
        latest = max(authentic, key=lambda c: c.position)
        summary.update(anchored_position=latest.position, anchored_at=latest.time)
    return problems, summary


def checkpoint_json(written: Written, settings: AuditSettings) -> dict[str, Any]:
    """What ``lockers audit anchor --json`` prints."""
    document: dict[str, Any] = json.loads(written.checkpoint.to_line())
    document.pop("streams", None)
    document["anchor_path"] = str(settings.anchor_path)
    if settings.witness_url:
        document["witness"] = {"url": settings.witness_url, "ok": written.witness_error is None}
        if written.witness_error:
            document["witness"]["error"] = written.witness_error
    return document


def add_anchor_findings(report: AuditReport, config: Config, url: str) -> dict[str, Any]:
    """Check the log at ``url`` against the configured anchor file; add its problems to ``report``."""
    from storage.audit_reader import AuditReader

    reader = AuditReader.from_url(url)
    try:
        problems, summary = check_anchors(AuditSettings.from_config(config), reader)
    finally:
        reader.close()
    for position, kind, text in problems:
        report.flag(position, "anchor", text, kind=kind)
    report.anchors = summary
    return summary
