"""The controller's start check: its log against its own anchors before it serves, and the first start.

The first start of a bank (no key pair, no anchor file, no head file, no pinned key) makes the signing key,
pins its fingerprint in the configuration file when it can (else prints the line to add) and leaves the
first checkpoint to the keeper. Every later start checks the log against the anchors, and against the
witness's latest checkpoint when ``[audit] witness_url`` is set (``behind_witness``); any finding
(``controller.app.audit.findings``) is an ``AnchorAlarm``: the controller does not start, so no door opens,
until an operator acknowledges the exact finding with ``lockers audit acknowledge``. An acknowledgement names
the compartments whose newer state the log lost; the next start takes them out of service.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from controller.app.audit.anchor_file import read_anchor_file
from controller.app.audit.findings import Findings, check_anchors
from controller.app.audit.keys import AuditSettings, make_anchor_keys, pin_line
from controller.app.audit.witness import check_witness
from controller.app.config.loader import Config
from controller.domain.errors import LockerError

log = structlog.get_logger("lockers.anchors")


class AnchorAlarm(LockerError):
    """The log disagrees with its anchors at start: no door opens until an operator acknowledges the finding."""


@dataclass(frozen=True)
class StartCheck:
    """What the start check decided: a first start, or the compartments an acknowledgement put in doubt."""

    first_start: bool = False
    operator_id: str = ""
    note: str = ""
    in_doubt: tuple[str, ...] = ()


def is_first_start(settings: AuditSettings) -> bool:
    """Nothing of the anchors exists yet, and no key is pinned: this bank was never anchored."""
    return not (
        settings.key_fingerprint
        or settings.has_key_files()
        or settings.anchor_path.exists()
        or settings.head_path.exists()
    )


def check_at_start(config: Config, url: str) -> StartCheck:
    """Make the key on a first start; otherwise check the log at ``url`` and raise ``AnchorAlarm`` on any finding."""
    from storage.audit_reader import AuditReader

    settings = AuditSettings.from_config(config)
    if is_first_start(settings):
        first_key(config, settings)
        return StartCheck(first_start=True)
    reader = AuditReader.from_url(url)
    try:
        found = check_anchors(settings, reader)
        check_witness(settings, reader, found)  # a log and its anchors rolled back together: only a witness tells
        head_position = reader.position_bounds()[1]
    finally:
        reader.close()
    if not settings.signing_key_path.exists():
        found.add(0, "missing_key", f"the signing key {settings.signing_key_path} is missing: no checkpoint can be "
                  "written (restore it, or make a key pair and pin it)")  # fmt: skip
    if found.problems:
        log.error("the log does not match its anchors: every door stays shut", findings=describe(found))
        raise AnchorAlarm(alarm_text(found, config))
    return _pending(settings, head_position)


def _pending(settings: AuditSettings, head_position: int) -> StartCheck:
    """The last acknowledgement's compartments in doubt, when nothing was written since it (not yet handled)."""
    acknowledgements = read_anchor_file(settings.anchor_path).acknowledgements
    if not acknowledgements:
        return StartCheck()
    last = acknowledgements[-1][1]
    if last.position != head_position or not last.compartments:
        return StartCheck()
    return StartCheck(operator_id=last.operator_id, note=last.note, in_doubt=last.compartments)


async def hold_in_doubt(check: StartCheck, bank: Any, compartment_ids: Sequence[str]) -> None:
    """After an acknowledged rollback: take the compartments whose newer state the log lost out of service."""
    for cid in check.in_doubt:
        if cid in compartment_ids:
            note = f"the log lost this compartment's newer state; acknowledged: {check.note}"
            await bank.take_out_of_service(cid, check.operator_id, note)
            log.warning("compartment taken out of service after a rollback", compartment_id=cid)


def describe(found: Findings) -> list[str]:
    """One line per finding: its kind, position and text."""
    return [f"{kind} at position {position}: {text}" for position, kind, text in found.problems]


def alarm_text(found: Findings, config: Config) -> str:
    """The alarm's message: what was found, and the operator action that acknowledges it."""
    where = f" --config {config.source}" if config.source else ""
    return "\n".join(
        [
            "the log does not match its anchors: the controller does not start and no door opens",
            *describe(found),
            f"an operator who has looked into it acknowledges with `lockers audit acknowledge{where} "
            "--operator ID --note TEXT` (recorded, signed, in the anchor file)",
        ]
    )


def first_key(config: Config, settings: AuditSettings) -> str:
    """Make the signing key of a bank's first start and pin its fingerprint; returns the fingerprint."""
    digest = make_anchor_keys(settings)
    written = pin_in_config(config.source, digest)
    log.warning(
        "first start: audit signing key made; the log is anchored from its first event",
        key=str(settings.signing_key_path),
        anchors=str(settings.anchor_path),
        pinned_in=str(config.source) if written else None,
        pin=f"[audit] {pin_line(digest)}",
    )
    return digest


def pin_in_config(source: Path | None, digest: str) -> bool:
    """Add ``anchor_key_fingerprint`` to the ``[audit]`` table of the configuration file; False when it cannot."""
    if source is None:
        return False
    try:
        text = source.read_text(encoding="utf-8")
    except OSError:
        return False
    header = re.search(r"^\[audit\][ \t]*(#.*)?$", text, flags=re.MULTILINE)
    line = pin_line(digest)
    if header:
        updated = f"{text[: header.end()]}\n{line}{text[header.end() :]}"
    else:
        updated = f"{text.rstrip()}\n\n[audit]\n{line}\n"
    try:
        pinned = tomllib.loads(updated).get("audit", {}).get("anchor_key_fingerprint")
    except tomllib.TOMLDecodeError:
        return False
    if pinned != digest:
        return False  # a layout this edit cannot follow (dotted keys, an inline table): the operator pins it
    try:
        source.write_text(updated, encoding="utf-8")
    except OSError:
        return False
    return True
