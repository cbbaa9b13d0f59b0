"""The anchor file (append-only JSON lines of signed checkpoints), the witness, and the anchored audit.

The anchor file belongs somewhere the database's owner cannot rewrite (another disk, host or account);
a witness URL, when configured, receives every checkpoint as it is written, so even a rewritten anchor
file can be caught against the witness's copy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.app.audit.anchor_file import append_line, read_anchor_file, write_head
from controller.app.audit.findings import Findings, check_anchors
from controller.app.audit.keys import AuditSettings, is_authentic, sign
from controller.app.config.loader import Config
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
    """Add one line to the anchor file and make it durable before returning (after ending a torn one)."""
    line = checkpoint.to_line()
    if armed(MID_CHECKPOINT):  # a crash test's torn write: half the line on disk, then the kill
        append_line(path, line[: len(line) // 2], ended=False)
        crash_point(MID_CHECKPOINT)
    append_line(path, line)


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
    write_head(settings.head_path, checkpoint)  # after the anchor file: a crash between leaves the older head
    error = None
    if settings.witness_url:
        error = send_to_witness(settings.witness_url, checkpoint, settings.witness_timeout_s)
        if error:
            log.warning("checkpoint not witnessed", url=settings.witness_url, error=error)
    return Written(checkpoint, error)


def read_checkpoints(path: Path) -> tuple[list[Checkpoint], list[tuple[int, str]]]:
    """Every checkpoint in the anchor file and the (line number, reason) of each unreadable or torn line."""
    file = read_anchor_file(path)
    torn = [(number, "cut short (a write interrupted by a crash)") for number in file.torn]
    return [checkpoint for _, checkpoint in file.checkpoints], sorted(file.unreadable + torn)


def signed_checkpoint_problems(
    checkpoints: list[Checkpoint], verifier: Ed25519PublicKey, reader: anchors.LogFacts
) -> tuple[list[anchors.Problem], list[Checkpoint]]:
    """Checkpoints not signed by ``verifier``'s key, then the log against the authentic ones; and those."""
    problems: list[anchors.Problem] = []
    authentic = []
    for checkpoint in checkpoints:
        if is_authentic(checkpoint, verifier):
            authentic.append(checkpoint)
        else:
            text = f"the checkpoint of {checkpoint.time} (position {checkpoint.position}) is not signed by this key"
            problems.append((checkpoint.position, "bad_signature", text))
    return problems + anchors.check(authentic, reader), authentic


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


def anchor_check(config: Config, url: str) -> Findings:
    """The log at ``url`` against the configured anchor file, head file and key."""
    from storage.audit_reader import AuditReader

    reader = AuditReader.from_url(url)
    try:
        return check_anchors(AuditSettings.from_config(config), reader)
    finally:
        reader.close()


def flag_findings(report: AuditReport, found: Findings) -> dict[str, Any]:
    """Add the anchor findings to ``report`` (check ``anchor``, with their kind) and its ``anchors`` summary."""
    for position, kind, text in found.problems:
        report.flag(position, "anchor", text, kind=kind)
    report.anchors = found.summary
    return found.summary


def add_anchor_findings(report: AuditReport, config: Config, url: str) -> dict[str, Any]:
    """Check the log at ``url`` against the configured anchor file; add its problems to ``report``."""
    return flag_findings(report, anchor_check(config, url))
