"""The fleet as its operators see it: every bank's liveness and head, compartments folded from the copies.

Each bank's compartments are folded with the bank's own fold (``controller.service.audit.fold``) from the
centre's copy of its log, and the fold is kept: a later read only applies the events that arrived since.
A bank is online while its last heartbeat (or batch) is younger than two of its heartbeat intervals.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from controller.app.bootstrap import event_decoder
from controller.app.http.web.documents import stored_document
from controller.domain.compartment import Compartment
from controller.domain.states import CompartmentState
from controller.ports import StoredEvent
from controller.service.audit import fold
from controller.service.views import status_document
from fleet.store import BankRecord, CentralStore

DEFAULT_HEARTBEAT_S = 10.0
MISSED_INTERVALS = 2


def is_online(bank: BankRecord, now: datetime) -> bool:
    """Whether the bank was heard from within two of its heartbeat intervals."""
    if bank.last_seen is None:
        return False
    allowed = timedelta(seconds=MISSED_INTERVALS * (bank.heartbeat_s or DEFAULT_HEARTBEAT_S))
    return now - datetime.fromisoformat(bank.last_seen) <= allowed


def fleet_alarm_document(alarm: dict[str, Any]) -> dict[str, Any]:
    """A fleet alarm as the API shows it: what was raised (its detail coded too), once cleared by whom, when, why."""
    shown = ("id", "bank_id", "kind", "detail", "detail_code", "raised_at", "cleared_at", "cleared_by",
             "cleared_note")
    args = json.loads(alarm["detail_args"]) if alarm["detail_args"] else {}
    return {"source": "fleet", **{name: alarm[name] for name in shown}, "detail_args": args}


class FleetViews:
    """Reads the centre's store for the fleet API; keeps each bank's fold between requests."""

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self._decode = event_decoder()
        self._folds: dict[str, tuple[int, dict[str, Compartment]]] = {}
        self._lock = threading.Lock()  # requests run on a thread pool; a fold is taken further by one at a time

    def compartments(self, bank_id: str) -> dict[str, list[dict[str, object]]]:
        """The ``GET /fleet/banks/{id}/compartments`` body: the bank's compartments, as the bank shows them."""
        bank = self.store.bank(bank_id)  # UnknownBank for an id nobody enrolled
        reported = (bank.health or {}).get("compartments")  # the bank's compartments, by its heartbeats
        return status_document(self._fold(bank_id), reported if isinstance(reported, list) else [])

    def banks(self) -> dict[str, list[dict[str, Any]]]:
        """The ``GET /fleet/banks`` body."""
        now = datetime.now(UTC)
        fleet_alarms = self._fleet_alarms_by_bank()
        rows = []
        for bank in self.store.banks():
            online = is_online(bank, now)
            in_alarm = sum(1 for k in self._fold(bank.bank_id).values() if k.state == CompartmentState.ALARM)
            rows.append({
                "id": bank.bank_id, "online": online, "last_seen": bank.last_seen,
                "offline_since": None if online else bank.last_seen,
                "head_position": bank.head.position, "events": bank.head.events,
                "open_alarms": in_alarm + fleet_alarms.get(bank.bank_id, 0),
                "health": bank.health,
            })
        return {"banks": rows}

    def alarms(self) -> dict[str, list[dict[str, Any]]]:
        """The ``GET /fleet/alarms`` body: open fleet alarms and compartments in alarm; fleet alarms cleared last."""
        found = [fleet_alarm_document(alarm) for alarm in self.store.open_alarms()]
        for bank in self.store.banks():
            for cid, compartment in sorted(self._fold(bank.bank_id).items()):
                if compartment.state == CompartmentState.ALARM:
                    found.append({"source": "compartment", "bank_id": bank.bank_id, "compartment_id": cid,
                                  "kind": compartment.alarm_reason, "detail": compartment.alarm_detail})
        return {"alarms": found, "cleared": [fleet_alarm_document(alarm) for alarm in self.store.cleared_alarms()]}

    def timeline(self, bank_id: str, after: int = 0, limit: int = 1000) -> dict[str, list[dict[str, Any]]]:
        """The ``GET /fleet/banks/{id}/timeline`` body: the bank's events after ``after``, as the bank shows them."""
        self.store.bank(bank_id)  # UnknownBank for an id nobody enrolled
        events = []
        for raw in islice(self.store.rows(bank_id, after=after), limit):
            stored = StoredEvent(raw.position, self._decode(raw), raw.event_hash, raw.previous_hash)
            events.append(stored_document(stored))
        return {"events": events}

    def _fleet_alarms_by_bank(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for alarm in self.store.open_alarms():
            counts[alarm["bank_id"]] = counts.get(alarm["bank_id"], 0) + 1
        return counts

    def _fold(self, bank_id: str) -> dict[str, Compartment]:
        with self._lock:
            position, compartments = self._folds.get(bank_id, (0, {}))
            for raw in self.store.rows(bank_id, after=position):
                fold([StoredEvent(raw.position, self._decode(raw), raw.event_hash, raw.previous_hash)],
                     into=compartments)
                position = raw.position
            self._folds[bank_id] = (position, compartments)
            return compartments
