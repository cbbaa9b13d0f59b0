"""The log against its anchors, as ``audit verify`` and the controller's start check read them.

Beyond the log's own contradictions of its checkpoints (``controller.service.anchors.check``), this names
what is wrong with the anchors themselves: the trusted public key missing or not the pinned one
(``missing_key``, ``foreign_key``), checkpoints signed by another key (``foreign_key``) or forged
(``bad_signature``), an anchor file deleted (``missing_anchors``) or older than the last checkpoint written
(``anchors_behind``: a restored copy, a cut last line). A line cut short by a crash is a note, not a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.app.audit.anchor_file import AnchorFile, read_anchor_file, read_head
from controller.app.audit.keys import AuditSettings, fingerprint, is_authentic, key_id, load_verifier, pin_line
from controller.service import anchors
from controller.service.anchors import Checkpoint, Problem


@dataclass
class Findings:
    """Problems found (position, kind, text) and the ``anchors`` summary of ``audit verify --json``."""

    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    latest: Checkpoint | None = None  # the last authentic checkpoint since the last acknowledgement

    def add(self, position: int, kind: str, text: str) -> None:
        """One more problem."""
        self.problems.append((position, kind, text))


def trusted_key(settings: AuditSettings, file: AnchorFile, found: Findings) -> Ed25519PublicKey | None:
    """The public key checkpoints must verify against; None (with a finding, or unanchored) when there is none."""
    pinned = settings.key_fingerprint
    found.summary["pinned"] = bool(pinned)
    if not settings.public_key_path.exists():
        if pinned or file.checkpoints or settings.head_path.exists():
            found.add(0, "missing_key", f"the public key {settings.public_key_path} is missing: the anchors cannot "
                      "be checked (restore it, or make a key pair and pin it)")  # fmt: skip
        return None
    verifier = load_verifier(settings)
    digest = fingerprint(verifier)
    found.summary["key_fingerprint"] = digest
    if pinned and digest != pinned:
        found.add(0, "foreign_key", f"the public key {settings.public_key_path} ({digest[:16]}) is not the pinned "
                  f"key ([audit] anchor_key_fingerprint {pinned[:16]}): a key pair made beside the log is not trusted")
        return None
    if not pinned:
        found.summary["pin"] = pin_line(digest)
    return verifier


def check_anchors(settings: AuditSettings, reader: anchors.LogFacts) -> Findings:
    """Everything the anchor file, the head file and the keys say against the log."""
    file = read_anchor_file(settings.anchor_path)
    found = Findings(summary={"path": str(settings.anchor_path), "checkpoints": len(file.checkpoints)})
    if file.torn:
        found.summary["torn_lines"] = file.torn  # a crash while a line was written: the lines before it hold
    verifier = trusted_key(settings, file, found)
    if verifier is None:
        return found
    baseline = _acknowledged(file, verifier, found)
    authentic = _authentic(file, verifier, baseline, found)
    _head_problems(settings, file, verifier, found)
    low, high, count = reader.position_bounds()
    if count and not authentic and not file.exists and not found.problems:
        found.add(low, "missing_anchors", f"the log holds {count} events but there is no anchor file "
                  f"{settings.anchor_path} beside its signing key (`lockers audit anchor` starts one)")  # fmt: skip
    found.problems += anchors.check(authentic, reader)
    if authentic:
        found.latest = max(authentic, key=lambda c: c.position)
        found.summary.update(anchored_position=found.latest.position, anchored_at=found.latest.time)
    return found


def _acknowledged(file: AnchorFile, verifier: Ed25519PublicKey, found: Findings) -> int:
    """The line of the last authentic acknowledgement (0: none); its findings go to the summary."""
    line = 0
    for number, acknowledgement in file.acknowledgements:
        if is_authentic(acknowledgement, verifier):
            line = number
            found.summary["acknowledged"] = {
                "time": acknowledgement.time, "operator_id": acknowledgement.operator_id,
                "note": acknowledgement.note, "findings": list(acknowledgement.findings),
            }  # fmt: skip
        else:
            found.add(0, "bad_signature", f"anchor file line {number}: an acknowledgement not signed by this key")
    return line


def _authentic(file: AnchorFile, verifier: Ed25519PublicKey, baseline: int, found: Findings) -> list[Checkpoint]:
    """The checkpoints after ``baseline`` whose signature holds; the others are findings."""
    for number, reason in file.unreadable:
        if number > baseline:
            found.add(0, "bad_signature", f"anchor file line {number} is not a checkpoint: {reason}")
    authentic, trusted = [], key_id(verifier)
    for checkpoint in file.since(baseline):
        if is_authentic(checkpoint, verifier):
            authentic.append(checkpoint)
        elif checkpoint.key_id != trusted:
            found.add(checkpoint.position, "foreign_key", f"the checkpoint of {checkpoint.time} (position "
                      f"{checkpoint.position}) is signed by key {checkpoint.key_id}, not by the trusted key {trusted}")
        else:
            text = f"the checkpoint of {checkpoint.time} (position {checkpoint.position}) is not signed by this key"
            found.add(checkpoint.position, "bad_signature", text)
    return authentic


def _head_problems(settings: AuditSettings, file: AnchorFile, verifier: Ed25519PublicKey, found: Findings) -> None:
    """The head file against the anchor file: the last checkpoint written must be in it."""
    where = settings.head_path
    try:
        head = read_head(where)
    except ValueError as exc:
        found.add(0, "bad_signature", f"the head file {where} is not a checkpoint: {exc}")
        return
    if head is None:
        if file.checkpoints:
            found.add(0, "anchors_behind", f"the head file {where} is missing: the anchor file cannot be shown to "
                      "hold the last checkpoint written")  # fmt: skip
        return
    if not is_authentic(head, verifier):
        found.add(head.position, "bad_signature", f"the head file {where} is not signed by the trusted key")
        return
    named = f"the last checkpoint written ({head.time}, position {head.position}, in {where})"
    if not file.exists:
        found.add(head.position, "missing_anchors", f"the anchor file {settings.anchor_path} is missing; {named}")
    elif all(checkpoint.signature != head.signature for _, checkpoint in file.checkpoints):
        last = max((c.position for _, c in file.checkpoints), default=0)
        text = f"{named} is not in the anchor file, whose checkpoints end at position {last}: an older or cut copy"
        if file.torn:
            text += f" (line {file.torn[-1]} is cut short)"
        found.add(head.position, "anchors_behind", text)
