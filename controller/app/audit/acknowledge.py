"""``lockers audit acknowledge``: an operator accepts the findings of the start check, signed and recorded.

The acknowledgement (who, why, the exact findings, the compartments whose newer state the log lost) is
appended to the anchor file, followed by a checkpoint of the log as it is now: checks read from there on,
and the lines before stay as evidence. A finding about the key itself is not acknowledged here: the
operator restores the key or pins the new one in the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.app.audit.anchor_file import Acknowledgement, append_line
from controller.app.audit.anchors import head_from_log, now_text, write_checkpoint
from controller.app.audit.findings import Findings, check_anchors
from controller.app.audit.keys import AuditSettings, load_signer, sign
from controller.app.audit.start import describe
from controller.app.audit.witness import check_witness
from controller.app.config.loader import Config
from controller.domain.errors import ConfigError
from controller.service.anchors import Checkpoint, LogFacts

KEY_KINDS = ("missing_key", "foreign_key")


def in_doubt(latest: Checkpoint | None, facts: LogFacts) -> tuple[str, ...]:
    """The compartments whose anchored stream the log no longer holds as anchored (cut, rewritten, gone)."""
    if latest is None:
        return ()
    heads = facts.stream_heads()
    present = facts.stream_hashes((cid, head[0]) for cid, head in latest.streams.items() if cid in heads)
    return tuple(
        cid
        for cid, (version, digest) in sorted(latest.streams.items(), key=lambda item: int(item[0]))
        if cid not in heads or heads[cid][0] < version or present.get((cid, version)) != digest
    )


def _refuse_key_findings(problems: Iterable[tuple[int, str, str]]) -> None:
    for position, kind, text in problems:
        if kind in KEY_KINDS and position == 0:
            raise ConfigError(f"{text}: a key is restored or pinned in the configuration, not acknowledged")


def acknowledge(config: Config, url: str, operator_id: str, note: str) -> tuple[Findings, Acknowledgement | None]:
    """Record ``operator_id``'s acknowledgement of the findings about the log at ``url`` (None: nothing found)."""
    from storage.audit_reader import AuditReader

    if not operator_id.strip() or not note.strip():
        raise ConfigError("an acknowledgement needs the operator's id (--operator) and what they found (--note)")
    settings = AuditSettings.from_config(config)
    reader = AuditReader.from_url(url)
    try:
        found = check_anchors(settings, reader)
        check_witness(settings, reader, found)
        if not found.problems:
            return found, None
        _refuse_key_findings(found.problems)
        signer = load_signer(settings)
        head = head_from_log(reader)
        record = Acknowledgement(
            now_text(), operator_id, note, tuple(describe(found)), in_doubt(found.latest, reader), head.position
        )
        record = sign(record, signer)
        append_line(settings.anchor_path, record.to_line())
        if head.events:
            write_checkpoint(settings, signer, head)  # the new baseline
    finally:
        reader.close()
    return found, record
