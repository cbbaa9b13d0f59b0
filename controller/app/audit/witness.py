"""The witness at start: a log and its anchors rolled back together (one older backup) are behind it.

The witness keeps every checkpoint POSTed to ``[audit] witness_url`` (``anchors.send_to_witness``). A GET of
the same URL answers what it holds: JSON lines of checkpoints in the order received (or the latest alone).
Its last checkpoint signed by this bank's key is compared with the log: newer than the log's head is
``behind_witness``; a position the log holds with another hash is the anchor check's own finding. A witness
that cannot be read is logged and never stops the bank (a bank never waits for anyone else).
"""

from __future__ import annotations

import urllib.error
import urllib.request

import structlog

from controller.app.audit.findings import Findings
from controller.app.audit.keys import AuditSettings, is_authentic, load_verifier
from controller.service import anchors
from controller.service.anchors import Checkpoint

log = structlog.get_logger("lockers.anchors")

MAX_ANSWER_BYTES = 64 * 1024 * 1024
"""A witness's answer is read up to this size (years of checkpoints are a few MiB)."""


def fetch_witnessed(url: str, timeout_s: float) -> list[Checkpoint]:
    """The checkpoints the witness holds, in its order; raises ``OSError`` or ``ValueError`` when it cannot tell."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        body = response.read(MAX_ANSWER_BYTES).decode()
    lines = [line for line in body.splitlines() if line.strip()]
    return [Checkpoint.from_line(line) for line in lines]


def check_witness(settings: AuditSettings, reader: anchors.LogFacts, found: Findings) -> None:
    """Add ``behind_witness`` (or the hash findings) when the witness holds more than the log; no URL: nothing."""
    if not settings.witness_url or not settings.public_key_path.exists():
        return  # no witness, or no key to tell this bank's checkpoints by (a key finding already)
    try:
        held = fetch_witnessed(settings.witness_url, settings.witness_timeout_s)
    except (OSError, ValueError, urllib.error.URLError) as exc:
        log.warning("the witness could not be read at start: checked against the local anchors only",
                    url=settings.witness_url, error=str(exc))  # fmt: skip
        found.summary["witness"] = {"url": settings.witness_url, "read": False, "error": str(exc)}
        return
    verifier = load_verifier(settings)
    ours = [checkpoint for checkpoint in held if is_authentic(checkpoint, verifier)]
    found.summary["witness"] = {"url": settings.witness_url, "read": True, "checkpoints": len(ours)}
    if not ours:
        return
    latest, (_, head, _) = ours[-1], reader.position_bounds()
    if latest.position > head:
        anchored = found.latest.position if found.latest else 0
        found.add(latest.position, "behind_witness", f"the witness {settings.witness_url} holds a checkpoint of "
                  f"{latest.time} at position {latest.position}; the log ends at {head} and its anchors at "
                  f"{anchored}: the log and its anchors were rolled back together (an older backup)")  # fmt: skip
        found.latest = latest  # what an acknowledgement compares the streams with (the compartments in doubt)
        return
    for position, kind, text in anchors.check([latest], reader):
        found.add(position, kind, f"against the witness's checkpoint of {latest.time}: {text}")
