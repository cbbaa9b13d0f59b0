"""Timeouts as commands: deadlines derived from committed events, issued when their time comes.

The scheduler never decides whether a timeout still applies: each command names what armed it (the
unlock id, or the version of the opening or verification attempt), and the aggregate decides
nothing when that flow has moved on, so a stale timer can never raise an alarm.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from controller.domain import commands as c
from controller.domain import events as ev
from controller.domain.compartment import Compartment
from controller.domain.states import CompartmentState as S
from controller.ports import StoredEvent

log = structlog.get_logger("lockers.scheduler")


@dataclass(frozen=True)
class Timeouts:
    """Seconds before the scheduler issues each timeout command."""

    unlocked_door_not_opened_s: float = 20.0
    door_left_open_s: float = 120.0
    verification_s: float = 8.0


class TimeoutScheduler:
    """A deadline queue fed by committed events; ``due(now)`` pops the commands whose time has come."""

    def __init__(self, timeouts: Timeouts, rental_period_s: float | None = None) -> None:
        self.timeouts = timeouts
        self.rental_period_s = rental_period_s
        """Seconds a deposit may stay before ``deposit_expired`` (``[policy] rental_period_s``; None: forever)."""
        self._queue: list[tuple[datetime, int, c.Command]] = []
        self._unseen: tuple[datetime, datetime] | None = None  # the log's last event and the boot time (``resume``)
        self._tiebreak = itertools.count()

    def __len__(self) -> int:
        return len(self._queue)

    def schedule(self, at: datetime, command: c.Command) -> None:
        """Issue ``command`` at ``at``."""
        heapq.heappush(self._queue, (at, next(self._tiebreak), command))

    def shift(self, seconds: float) -> None:
        """Move every pending deadline by ``seconds``: time the controller did not live through counts for no timer."""
        delta = timedelta(seconds=seconds)
        self._queue = [(at + delta, order, command) for at, order, command in self._queue]
        heapq.heapify(self._queue)

    def next_deadline(self) -> datetime | None:
        """When the earliest pending command is due."""
        return self._queue[0][0] if self._queue else None

    def due(self, now: datetime) -> list[c.Command]:
        """Every command due at ``now``, earliest first."""
        ready = []
        while self._queue and self._queue[0][0] <= now:
            ready.append(heapq.heappop(self._queue)[2])
        return ready

    def on_committed(self, stored: Sequence[StoredEvent]) -> None:
        """Derive deadlines from what was just committed."""
        for record in stored:
            self._on_event(record.event)

    def _on_event(self, event: ev.Event) -> None:
        cid, at, t, flow = event.compartment_id, event.occurred_at, self.timeouts, event.correlation_id
        if isinstance(event, ev.DepositStarted | ev.IdentityConfirmed | ev.PinConfirmed):
            expire = c.ExpireUnlock(compartment_id=cid, correlation_id=flow, unlock_id=event.unlock_id)
            self.schedule(at + timedelta(seconds=t.unlocked_door_not_opened_s), expire)
        elif isinstance(event, ev.DoorOpened):
            door = c.ExpireDoorOpen(compartment_id=cid, correlation_id=flow, opening_version=event.version)
            self.schedule(at + timedelta(seconds=t.door_left_open_s), door)
        elif isinstance(event, ev.VerificationStarted):
            verification = c.ExpireVerification(compartment_id=cid, correlation_id=flow, attempt_version=event.version)
            self.schedule(at + timedelta(seconds=t.verification_s), verification)
        elif isinstance(event, ev.ItemDeposited):
            self._arm_rental(cid, flow, event.version, at)

    def _arm_rental(self, cid: str, flow: str, deposit_version: int, deposited_at: datetime) -> None:
        """The deposit's rental deadline counts from the deposit itself, across restarts too."""
        if self.rental_period_s is not None:
            expire = c.ExpireRental(compartment_id=cid, correlation_id=flow, deposit_version=deposit_version)
            self.schedule(self._measured(cid, deposited_at + timedelta(seconds=self.rental_period_s)), expire)

    def _measured(self, cid: str, deadline: datetime) -> datetime:
        """``deadline``, or, if it fell in time the log never saw (``resume``), what remained of it from now."""
        if self._unseen is None or not self._unseen[0] < deadline <= self._unseen[1]:
            return deadline
        last_written, now = self._unseen
        log.warning(
            "clock_jump: a rental ran out between the log's last event and now; it is measured on the log "
            "(what remained at its last position remains from now), not expired at once",
            compartment_id=cid,
            last_event=last_written.isoformat(),
            now=now.isoformat(),
        )
        return now + (deadline - last_written)

    def resume(self, compartments: Iterable[Compartment], now: datetime, last_written: datetime | None = None) -> None:
        """After a restart: re-arm the deadlines of flows that were in progress, counted from ``now``.

        A rental that ran out between the log's last written event and ``now`` (a clock booted days fast, or
        a controller that was off) is measured on the log instead: what remained at its last position still
        remains, from ``now`` on. It is named (``clock_jump``), and nothing expires at once because of it.
        """
        t = self.timeouts
        self._unseen = None if last_written is None else (last_written, now)
        for k in compartments:
            cid, flow = k.compartment_id, k.flow_id
            if k.door_open and k.state != S.ALARM:
                door = c.ExpireDoorOpen(compartment_id=cid, correlation_id=flow, opening_version=k.opening_version)
                self.schedule(now + timedelta(seconds=t.door_left_open_s), door)
            elif k.state == S.OPEN:
                expire = c.ExpireUnlock(compartment_id=cid, correlation_id=flow, unlock_id=k.unlock_id)
                self.schedule(now + timedelta(seconds=t.unlocked_door_not_opened_s), expire)
            elif k.state == S.VERIFYING:
                attempt = c.ExpireVerification(
                    compartment_id=cid, correlation_id=flow, attempt_version=k.attempt_version
                )
                self.schedule(now, attempt)
            if k.deposited_at is not None and k.state in (S.OCCUPIED, S.VERIFYING):
                self._arm_rental(cid, flow, k.deposit_version, k.deposited_at)
