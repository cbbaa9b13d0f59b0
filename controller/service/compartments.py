"""The compartment service: load → decide → append → effects, in that order, always.

Effects (unlock pulses, template destruction) run only after the events calling for them are
durably committed. An unlock is attempted exactly once; its outcome is recorded as a command of
its own, so a pulse whose outcome is unknown becomes an alarm, never a second pulse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import structlog

from controller.domain import commands as cmd
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import DestroyTemplate, Effect, Unlock, effects_of
from controller.domain.errors import (
    ClockSkew,
    ConcurrencyError,
    StoreUnavailable,
    TransitionRejected,
    UnknownCompartment,
    UnlockNotSent,
    UnlockOutcomeUnknown,
)
from controller.domain.events import Event
from controller.ports import Clock, EventStore, LockDriver, StoredEvent, TemplateVault
from controller.service.crash_points import (
    AFTER_COMMIT_BEFORE_PULSE,
    AFTER_PULSE_BEFORE_ACK,
    AFTER_PULSE_RECORDED,
    crash_point,
)

log = structlog.get_logger("lockers.service")

CONFLICT_RETRIES = 3
CLOCK_SKEW_TOLERANCE_S = 120.0
"""How far before the log's last event the clock may read (NTP steps, a slow RTC) before nothing is recorded."""
CommitListener = Callable[[Sequence[StoredEvent]], None]


class CompartmentService:
    """Owns the live compartments of one bank and the only path by which their state changes."""

    def __init__(
        self,
        store: EventStore,
        locks: LockDriver,
        vault: TemplateVault,
        clock: Clock,
        compartment_ids: Iterable[str],
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.locks = locks
        self.vault = vault
        self.clock = clock
        self.policy = policy or Policy()
        self.clock_tolerance_s = CLOCK_SKEW_TOLERANCE_S
        self.last_written: datetime | None = None
        """When the log's latest event was written: a clock reading well before it is ``clock_skew``."""
        self.compartments = {cid: self._load(cid) for cid in compartment_ids}
        self._lock = asyncio.Lock()
        self._stale: set[str] = set()
        self._undestroyed: set[str] = set()  # vault refs whose shredding the vault refused (retried)
        self._listeners: list[CommitListener] = []

    def subscribe(self, listener: CommitListener) -> None:
        """Call ``listener`` with every batch of committed events (for metrics, SSE, schedulers)."""
        self._listeners.append(listener)

    def _load(self, compartment_id: str) -> Compartment:
        events = self.store.read_stream(compartment_id)
        self._written(events)
        return Compartment.replay(compartment_id, events, self.policy)

    def _written(self, events: Sequence[Event]) -> None:
        latest = max((event.written_at for event in events), default=None)
        if latest is not None and (self.last_written is None or latest > self.last_written):
            self.last_written = latest

    def _check_clock(self) -> None:
        """Refuse to date an event well before the log's last one: a clock gone back is named, never recorded."""
        now, last = self.clock.now(), self.last_written
        if last is not None and (last - now).total_seconds() > self.clock_tolerance_s:
            raise ClockSkew(
                f"clock_skew: the clock reads {now.isoformat()}, {(last - now).total_seconds():.0f} s before the "
                f"log's last event ({last.isoformat()}); nothing is recorded until the clock is right"
            )

    def get(self, compartment_id: str) -> Compartment:
        """The live compartment; an unknown id is a clear error."""
        try:
            return self.compartments[compartment_id]
        except KeyError:
            raise UnknownCompartment(compartment_id) from None

    async def handle(self, command: cmd.Command) -> list[StoredEvent]:
        """Decide, append durably, then run the effects. Raises ``TransitionRejected`` on invalid commands."""
        async with self._lock:
            stored = self._commit(command)
        await self._run_effects(effects_of([s.event for s in stored]), command.correlation_id)
        return stored

    def _commit(self, command: cmd.Command) -> list[StoredEvent]:
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                return self._commit_once(command)
            except ConcurrencyError as exc:
                # Someone appended first (the aggregate was rebuilt from the log): decide again on the news.
                log.warning("version conflict; deciding again", attempt=attempt, error=str(exc))
        return self._commit_once(command)

    def _commit_once(self, command: cmd.Command) -> list[StoredEvent]:
        if command.compartment_id in self._stale:
            self.compartments[command.compartment_id] = self._load(command.compartment_id)
            self._stale.discard(command.compartment_id)
        compartment = self.get(command.compartment_id)
        self._check_clock()
        expected = compartment.version
        events = compartment.decide(command, self.clock)
        if not events:
            return []
        try:
            stored = self.store.append(compartment.compartment_id, expected, events)
        except BaseException:
            # The aggregate already applied what the log refused: rebuild it from the log (later, if the
            # store is down now: the compartment is marked stale and reloaded before its next decision).
            self._stale.add(compartment.compartment_id)
            with contextlib.suppress(StoreUnavailable):
                self.compartments[compartment.compartment_id] = self._load(compartment.compartment_id)
                self._stale.discard(compartment.compartment_id)
            raise
        self.publish(stored)
        return stored

    def publish(self, stored: Sequence[StoredEvent]) -> None:
        """Log committed events and hand them to every listener (the bank stream's writer calls it too)."""
        self._written([record.event for record in stored])
        for record in stored:
            log.info(
                "transition",
                compartment_id=record.event.compartment_id,
                position=record.position,
                version=record.event.version,
                event_type=type(record.event).__name__,
                correlation_id=record.event.correlation_id,
            )
        for listener in self._listeners:
            listener(stored)

    async def _run_effects(self, effects: Sequence[Effect], correlation_id: str) -> None:
        for ref in sorted(self._undestroyed):
            self._destroy(ref)
        for effect in effects:
            if isinstance(effect, Unlock):
                await self._unlock(effect, correlation_id)
            elif isinstance(effect, DestroyTemplate):
                self._destroy(effect.template_ref)

    def _destroy(self, ref: str) -> None:
        """Shred a template or PIN hash; a vault that cannot be written now (a full disk) is retried later.

        The event calling for it is committed already, so retrying the command would decide nothing anew:
        the reference waits here and every later decision tries it first.
        """
        try:
            self.vault.destroy(ref)
        except StoreUnavailable as exc:
            if ref not in self._undestroyed:
                log.error("template not destroyed yet: the vault refuses writes; retried later", error=str(exc))
            self._undestroyed.add(ref)
        else:
            self._undestroyed.discard(ref)

    async def _unlock(self, effect: Unlock, correlation_id: str) -> None:
        outcome, detail = "sent", ""
        crash_point(AFTER_COMMIT_BEFORE_PULSE)
        try:
            await self.locks.unlock(int(effect.compartment_id), effect.pulse_ms)
            crash_point(AFTER_PULSE_BEFORE_ACK)
        except UnlockNotSent as exc:
            outcome, detail = "not_sent", str(exc)
        except UnlockOutcomeUnknown as exc:
            outcome, detail = "unknown", str(exc)
        record = cmd.RecordUnlockOutcome(
            compartment_id=effect.compartment_id,
            correlation_id=correlation_id,
            unlock_id=effect.unlock_id,
            outcome=outcome,
            detail=detail,
        )
        async with self._lock:
            try:
                self._commit(record)
            except TransitionRejected as exc:
                # The access already ended (door opened and closed during a long pulse): nothing awaits it.
                log.warning("unlock outcome not recorded", compartment_id=effect.compartment_id, reason=str(exc))
        if outcome == "sent":
            crash_point(AFTER_PULSE_RECORDED)
