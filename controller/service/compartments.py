"""The compartment service: load → decide → append → effects, in that order, always.

Effects (unlock pulses, template destruction) run only after the events calling for them are
durably committed. An unlock is attempted exactly once; its outcome is recorded as a command of
its own, so a pulse whose outcome is unknown becomes an alarm, never a second pulse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence

import structlog

from controller.domain import commands as cmd
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import DestroyTemplate, Effect, Unlock, effects_of
from controller.domain.errors import (
    ConcurrencyError,
    StoreUnavailable,
    TransitionRejected,
    UnknownCompartment,
    UnlockNotSent,
    UnlockOutcomeUnknown,
)
from controller.ports import Clock, EventStore, LockDriver, StoredEvent, TemplateVault
from controller.service.crash_points import (
    AFTER_COMMIT_BEFORE_PULSE,
    AFTER_PULSE_BEFORE_ACK,
    AFTER_PULSE_RECORDED,
    crash_point,
)

log = structlog.get_logger("lockers.service")

CONFLICT_RETRIES = 3
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
        self.compartments = {cid: self._load(cid) for cid in compartment_ids}
        self._lock = asyncio.Lock()
        self._stale: set[str] = set()
        self._listeners: list[CommitListener] = []

    def subscribe(self, listener: CommitListener) -> None:
        """Call ``listener`` with every batch of committed events (for metrics, SSE, schedulers)."""
        self._listeners.append(listener)

    def _load(self, compartment_id: str) -> Compartment:
        return Compartment.replay(compartment_id, self.store.read_stream(compartment_id), self.policy)

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
        return stored

    async def _run_effects(self, effects: Sequence[Effect], correlation_id: str) -> None:
        for effect in effects:
            if isinstance(effect, Unlock):
                await self._unlock(effect, correlation_id)
            elif isinstance(effect, DestroyTemplate):
                self.vault.destroy(effect.template_ref)

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
