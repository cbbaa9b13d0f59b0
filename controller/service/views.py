"""The read side: a bank as its readers see it, in the shapes the API and the CLI have always shown.

The command side (``CompartmentService`` and the flows of ``LockerBank``) is the only writer. The HTTP
routes, the console, ``lockers status``, scenarios, health and benchmarks read through here, never the
service's internals (cosmicpython's ``views.py``). Values are plain: a compartment's summary (one row of
the ``status`` JSON), stored events, an ``Alarm``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from controller.domain.compartment import Compartment
from controller.domain.events import Event
from controller.domain.states import CompartmentState as S
from controller.ports import RawRecord, StoredEvent
from controller.service.audit import fold
from controller.service.compartments import CompartmentService

Summary = dict[str, object]
"""One compartment as the ``status`` JSON shows it (``compartment_summary``)."""


def compartment_summary(compartment: Compartment) -> Summary:
    """One compartment as the ``status`` JSON shows it."""
    return {
        "id": compartment.compartment_id,
        "state": str(compartment.state),
        "version": compartment.version,
        "door": "open" if compartment.door_open else "closed",
        "occupied_by": compartment.subject_id or None,
        "alarm": compartment.alarm_reason or None,
        "failed_attempts": compartment.failed_attempts,
        "face_erased": compartment.face_erased,
    }


def sort_key(compartment_id: str) -> tuple[int, str]:
    """Numeric ids in numeric order, others after them."""
    return (int(compartment_id), "") if compartment_id.isdigit() else (1 << 62, compartment_id)


def status_document(compartments: Mapping[str, Compartment], bank: Iterable[str] = ()) -> dict[str, list[Summary]]:
    """The JSON of ``status`` and ``GET /compartments``: every compartment of ``bank`` and of ``compartments``."""
    every = {cid: Compartment(cid) for cid in bank} | dict(compartments)
    ordered = sorted(every.values(), key=lambda k: sort_key(k.compartment_id))
    return {"compartments": [compartment_summary(k) for k in ordered]}


def log_status(events: Iterable[StoredEvent], bank: Iterable[str] = ()) -> dict[str, list[Summary]]:
    """``status_document`` of the log's fold (``bank``: the compartments to show even without events)."""
    return status_document(fold(events), bank)


def replay_differences(live: Mapping[str, Summary], events: Iterable[StoredEvent]) -> list[str]:
    """The compartments whose ``live`` summary differs from the fold of ``events`` (a log replayed)."""
    replayed = fold(events)
    return [cid for cid, seen in live.items() if compartment_summary(replayed.get(cid) or Compartment(cid)) != seen]


@dataclass(frozen=True, slots=True)
class Alarm:
    """An open alarm: the compartment, why (an ``AlarmRaised`` reason) and the detail recorded with it."""

    compartment_id: str
    reason: str
    detail: str


class BankViews:
    """Reads one running bank: its live (folded) compartments and its log, never changing either."""

    def __init__(self, service: CompartmentService) -> None:
        self._service = service

    def compartment_ids(self) -> list[str]:
        """The bank's compartments, in the bank's order."""
        return list(self._service.compartments)

    def status(self) -> dict[str, list[Summary]]:
        """Every compartment (the ``GET /compartments`` body)."""
        return status_document(self._service.compartments)

    def summaries(self) -> dict[str, Summary]:
        """Each compartment's summary by id, in the bank's order."""
        return {cid: compartment_summary(k) for cid, k in self._service.compartments.items()}

    def compartment(self, compartment_id: str) -> Summary:
        """One compartment's summary (``UnknownCompartment`` for an id the bank lacks)."""
        return compartment_summary(self._service.get(compartment_id))

    def state(self, compartment_id: str) -> str:
        """One compartment's state."""
        return str(self._service.get(compartment_id).state)

    def door_open(self, compartment_id: str) -> bool:
        """Whether the folded state has this compartment's door open."""
        return self._service.get(compartment_id).door_open

    def open_alarms(self) -> list[Alarm]:
        """The compartments in alarm, in the bank's order."""
        live = self._service.compartments.values()
        return [Alarm(k.compartment_id, k.alarm_reason, k.alarm_detail) for k in live if k.state == S.ALARM]

    def templates_in_use(self) -> set[str]:
        """The vault refs of the templates the live compartments hold."""
        return {k.template_ref for k in self._service.compartments.values() if k.template_ref}

    def timeline(self, compartment_id: str) -> list[Event]:
        """One compartment's events in version order (``UnknownCompartment`` for an id the bank lacks)."""
        self._service.get(compartment_id)  # an unknown id is refused, never answered with an empty timeline
        return self._service.store.read_stream(compartment_id)

    def events(self, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """The bank's events after global position ``after`` (at most ``limit``), in position order."""
        return list(self._service.store.read_all(after=after, limit=limit))

    def raw_log(self) -> Iterator[RawRecord]:
        """Every row of the log as stored (the console's export)."""
        return self._service.store.read_raw()

    def replay_differences(self) -> list[str]:
        """The compartments whose live state differs from a replay of the whole log now."""
        return replay_differences(self.summaries(), self._service.store.read_all())
