"""``lockers audit verify --central``: every bank's copy at the centre against its chain and signed checkpoints.

Each copy is checked like a bank's own log (``controller.service.audit.verify``: chain links, hashes, contiguous
versions, replay) and against every checkpoint the bank signed with its batches (those not signed by its pinned
key are problems themselves). A bank's result names its first bad position.
"""

from __future__ import annotations

from typing import Any

from controller.app.audit.anchors import signed_checkpoint_problems
from controller.app.audit.keys import parse_public_key
from controller.app.bootstrap import event_decoder
from controller.service import audit
from controller.service.anchors import Checkpoint
from fleet.copied_log import CopiedLog
from fleet.store import CentralStore


def verify_bank(store: CentralStore, bank_id: str) -> audit.AuditReport:
    """One bank's copy: the chain and replay, then its signed checkpoints."""
    bank = store.bank(bank_id)
    report = audit.verify(store.rows(bank_id), event_decoder())
    checkpoints: list[Checkpoint] = []
    for line in store.checkpoints(bank_id):
        try:
            checkpoints.append(Checkpoint.from_line(line))
        except ValueError as exc:
            report.flag(0, "anchor", f"a stored checkpoint cannot be read: {exc}", kind="bad_signature")
    verifier = parse_public_key(bank.public_key.encode(), f"bank {bank_id}'s enrolled key")
    problems, _ = signed_checkpoint_problems(checkpoints, verifier, CopiedLog(store, bank_id))
    for position, kind, text in problems:
        report.flag(position, "anchor", text, kind=kind)
    return report


def verify_fleet(store: CentralStore) -> dict[str, Any]:
    """The ``--json`` document: ``{"ok", "banks": {id: {"ok", "events", "first_bad_position", "problems"}}}``."""
    banks = {}
    for bank in store.banks():
        report = verify_bank(store, bank.bank_id)
        banks[bank.bank_id] = {"ok": report.ok, "events": report.events,
                               "first_bad_position": report.first_bad_position, "problems": report.problems}
    return {"ok": all(entry["ok"] for entry in banks.values()), "banks": banks}
