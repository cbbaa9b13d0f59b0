"""The locker bank: the flows of DESIGN.md over the compartment service.

It turns the outside world's inputs (a deposit request with a stored template, recognition
evidence, sensor observations, the passing of time, operator actions) into commands, keeps the
identification gallery in step with the log, and re-arms timeouts and reconciles doors at boot.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from controller.domain import commands as c
from controller.domain import events as ev
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import DestroyTemplate, effects_of
from controller.domain.errors import BoardUnreachable, LockerError, Refusal, StoreUnavailable, TransitionRejected
from controller.domain.events import Purpose
from controller.domain.evidence import EnrolmentLiveness
from controller.domain.lifecycle import Retrieval
from controller.domain.states import CompartmentState as S
from controller.ports import (
    BoardFaulted,
    BoardRecovered,
    DoorChanged,
    Enrolled,
    Enroller,
    FaceMatch,
    PinVault,
    SensorObservation,
    StoredEvent,
    TemplateGallery,
)
from controller.service.bridge import RecognitionBridge
from controller.service.clock_watch import ClockWatch
from controller.service.compartments import CommitListener, CompartmentService
from controller.service.grace import DepositorGrace
from controller.service.scheduler import TimeoutScheduler

log = structlog.get_logger("lockers.bank")


class BankFull(LockerError):
    """No compartment is free."""


class NoEnroller(LockerError):
    """No camera to enrol a depositor from: the bank was built without an enroller."""


@dataclass(frozen=True, slots=True)
class DepositReceipt:
    """Where the item goes, the id that ties the deposit's events together, and its one-time PIN ("": none)."""

    compartment_id: str
    correlation_id: str
    pin: str = field(default="", repr=False)  # shown once to the depositor, never logged
    pulse: str = ""
    """What became of the unlock pulse (see ``pulse_outcome``); empty before it was sent."""


def pulse_outcome(compartment: Compartment, unlock_id: str) -> str:
    """``sent`` (the board acknowledged it), ``not_sent`` or ``unknown``: the pulse of ``unlock_id`` as the log says."""
    if compartment.unlock_id == unlock_id and compartment.pulse_confirmed:
        return "sent"
    return "not_sent" if compartment.alarm_reason == ev.AlarmReason.UNLOCK_FAILED else "unknown"


@dataclass(frozen=True, slots=True)
class DepositTerms:
    """What every deposit gets: a one-time PIN of ``pin_digits`` digits (kept in ``pins``), the consent version."""

    pins: PinVault | None = None
    pin_digits: int = 8
    consent_version: str = ""


@dataclass(frozen=True, slots=True)
class EnrolWith:
    """An ``Enroller`` made of a coroutine function: a scenario's photographs, a benchmark's stored template."""

    enrol: Callable[[], Coroutine[Any, Any, Enrolled]]


class LockerBank:
    """One bank of compartments, driven by inputs and the clock."""

    def __init__(
        self,
        service: CompartmentService,
        gallery: TemplateGallery,
        scheduler: TimeoutScheduler,
        bridge: RecognitionBridge,
        new_id: Callable[[], str],
        terms: DepositTerms | None = None,
        enroller: Enroller | None = None,
    ) -> None:
        self._service = service
        self.enroller = enroller
        self.terms = terms or DepositTerms()
        self.gallery = gallery
        self.scheduler = scheduler
        self.bridge = bridge
        self.grace = DepositorGrace(bridge.settings.depositor_away_s)
        self.clock_watch = ClockWatch()
        self.new_id = new_id
        self.unreachable: set[str] = set()  # compartments whose lock board does not answer now
        self.outage: Callable[[], str] = lambda: ""
        """Why the log cannot be written now ("": it can); the daemon's recorder knows (storage down, clock skew)."""
        service.subscribe(scheduler.on_committed)
        service.subscribe(self._sync_gallery)

    # ------------------------------------------- what outsiders may read (state itself: views.BankViews)
    def subscribe(self, listener: CommitListener) -> None:
        """Call ``listener`` with every batch of committed events (metrics, SSE, anchors)."""
        self._service.subscribe(listener)

    def now(self) -> datetime:
        """The bank's clock: the time its commands and timeouts are decided at."""
        return self._service.clock.now()

    @property
    def policy(self) -> Policy:
        """The rules the bank's compartments decide by."""
        return self._service.policy

    # ---------------------------------------------------------------- boot
    async def boot(self) -> None:
        """Relays off, reconcile every compartment with its door, reload templates, re-arm timeouts."""
        last_written = self._service.last_written  # before boot's own events: what the log saw before this start
        for compartment in self._service.compartments.values():
            if compartment.template_ref and not compartment.face_erased:
                self.gallery.add(compartment.compartment_id, compartment.subject_id, compartment.template_ref)
        try:
            await self._service.locks.all_relays_off()
            doors = await self._service.locks.read_doors()
        except BoardUnreachable as exc:
            await self._fault_all(f"lock board unreachable at boot: {exc}")
            return
        for cid in sorted(self._service.compartments, key=int):
            door_is_open = doors.get(int(cid))
            if door_is_open is None:
                await self._try(c.ReportBoardFault(compartment_id=cid, detail="no door input for this compartment"))
            else:
                await self._try(c.Reconcile(compartment_id=cid, door_is_open=door_is_open))
        self.scheduler.resume(self._service.compartments.values(), self._service.clock.now(), last_written)

    async def _fault_all(self, detail: str) -> None:
        for cid in self._service.compartments:
            self.unreachable.add(cid)
            await self._try(c.ReportBoardFault(compartment_id=cid, detail=detail))

    # ------------------------------------------------------------- deposit
    def free_compartment(self) -> str:
        """The lowest-numbered free compartment."""
        free = [cid for cid, k in self._service.compartments.items() if k.state == S.FREE and not k.door_open]
        if not free:
            raise BankFull("no compartment is free")
        return min(free, key=int)

    async def enrol_and_deposit(
        self, enroller: Enroller | None = None, subject_id: str | None = None
    ) -> DepositReceipt:
        """The deposit flow: check for room, enrol the depositor (template into the vault), assign and unlock.

        The bank is checked first so that nobody is asked to look at the camera for nothing; the enroller
        (the bank's own unless one is given: a scenario's step) stores the template and says where; the
        deposit's one-time PIN is issued (its hash stored) unless the site opens by face only; a refused
        assignment destroys that template and PIN hash again.
        """
        self.free_compartment()
        if problem := self.outage():
            raise StoreUnavailable(f"no deposit while the event log refuses writes: {problem}")
        enroller = enroller or self.enroller
        if enroller is None:
            raise NoEnroller("this bank has no camera to enrol a depositor from")
        enrolled = await enroller.enrol()
        subject = subject_id or f"subject-{self.new_id()[:12]}"
        try:
            pin, pin_ref = await self._issue_pin()
        except BaseException:
            self._service.vault.destroy(enrolled.template_ref)
            raise
        receipt = await self.deposit(
            subject, enrolled.template_ref, enrolled.model_version, enrolled.liveness, pin_ref=pin_ref
        )
        return replace(receipt, pin=pin)

    async def _issue_pin(self) -> tuple[str, str]:
        """A fresh PIN and the vault ref of its hash, or two empty strings where no PIN is issued."""
        vault, digits = self.terms.pins, self.terms.pin_digits
        if vault is None or self._service.policy.retrieval == Retrieval.FACE_ONLY:
            return "", ""
        pin = f"{secrets.randbelow(10**digits):0{digits}d}"
        return pin, await asyncio.to_thread(vault.put_pin, pin)

    async def deposit(
        self,
        subject_id: str,
        template_ref: str,
        model_version: str,
        liveness: EnrolmentLiveness | None = None,
        pin_ref: str = "",
    ) -> DepositReceipt:
        """Assign the lowest free compartment to a template already in the vault, and unlock it."""
        receipt = DepositReceipt(self.free_compartment(), self.new_id())
        command = c.StartDeposit(
            compartment_id=receipt.compartment_id,
            correlation_id=receipt.correlation_id,
            subject_id=subject_id,
            template_ref=template_ref,
            model_version=model_version,
            unlock_id=self.new_id(),
            enrolment_liveness=liveness or EnrolmentLiveness(),
            pin_ref=pin_ref,
            consent_version=self.terms.consent_version,
        )
        try:
            await self._service.handle(command)
        except BaseException:
            for ref in (template_ref, pin_ref):
                if ref:
                    self._service.vault.destroy(ref)
            raise
        return replace(receipt, pulse=pulse_outcome(self._service.get(receipt.compartment_id), command.unlock_id))

    # ---------------------------------------------------------- recognition
    async def on_face(self, match: FaceMatch, now_s: float) -> None:
        """Recognition evidence for one frame: start, confirm or reject a verification."""
        compartment = self._service.compartments.get(match.compartment_id or "")
        if compartment is not None and self._depositor_in_view(match, compartment, now_s):
            return  # not a returning owner (docs/deposit-lifecycle.md)
        for command in self.bridge.commands_for(match, compartment, now_s):
            if not await self._try(command):
                break

    async def face_too_late(self, match: FaceMatch, seen_at: datetime, ttl_s: float, age_s: float) -> None:
        """A face that could not be recorded within ``ttl_s``: logged as seen and expired, acted on never."""
        cid = match.compartment_id or ""
        if cid not in self._service.compartments:
            return  # an unknown face calls for nothing, stale or not
        log.warning("face recorded too late to act on", compartment_id=cid, age_s=round(age_s, 1), ttl_s=ttl_s)
        stale = c.RecordStaleFace(compartment_id=cid, evidence=match.evidence, ttl_s=ttl_s, observed_at=seen_at)
        await self._try(stale)

    def _depositor_in_view(self, match: FaceMatch, compartment: Compartment, now_s: float) -> bool:
        """Whether this face is the depositor still in view; an attack always counts, held or not."""
        cid = compartment.compartment_id
        if compartment.state != S.OCCUPIED:
            self.grace.forget(cid)
            return False
        return not match.evidence.presentation_attack() and self.grace.holds(cid, now_s, self.now())

    # -------------------------------------------------------------- sensors
    async def on_sensor(self, observation: SensorObservation, observed_at: datetime | None = None) -> None:
        """A debounced door change, a board fault or a recovery; ``observed_at``: when it was seen (None: now)."""
        if isinstance(observation, DoorChanged):
            cid = str(observation.compartment)
            if cid in self._service.compartments:
                await self._observe_door(cid, observation.is_open, observed_at)
        elif isinstance(observation, BoardFaulted):
            for number in observation.compartments:
                self.unreachable.add(str(number))
                detail = f"board {observation.board}: {observation.detail}"
                fault = c.ReportBoardFault(compartment_id=str(number), detail=detail, observed_at=observed_at)
                await self._try(fault)
        elif isinstance(observation, BoardRecovered):
            await self._board_recovered(observation)

    async def _observe_door(self, cid: str, is_open: bool, observed_at: datetime | None) -> None:
        """A door change; a deposit it completes holds its depositor's face off the door (``grace``)."""
        compartment = self._service.compartments[cid]
        depositing = compartment.state == S.OPEN and compartment.purpose == Purpose.DEPOSIT
        await self._try(c.ObserveDoor(compartment_id=cid, is_open=is_open, observed_at=observed_at))
        if depositing and self._service.compartments[cid].state == S.OCCUPIED:
            self.grace.deposited(cid, self.now())

    async def _board_recovered(self, observation: BoardRecovered) -> None:
        """Each door that reads what the log expects ends its board-fault alarm; a disagreement stays one."""
        cids = [str(n) for n in observation.compartments if str(n) in self._service.compartments]
        self.unreachable.difference_update(cids)
        try:
            doors = await self._service.locks.read_doors()
        except BoardUnreachable as exc:
            log.warning("lock board recovered but its doors cannot be read", board=observation.board, error=str(exc))
            self.unreachable.update(cids)
            return
        log.info("lock board recovered", board=observation.board)
        for cid in cids:
            if int(cid) in doors:
                await self._try(c.ResolveBoardFault(compartment_id=cid, door_is_open=doors[int(cid)]))

    # ----------------------------------------------------------------- time
    async def tick(self, now: datetime, now_s: float | None = None) -> int:
        """Issue every timeout due at ``now``; returns how many changed something.

        ``now_s`` (monotonic seconds, where the caller has them) lets a jump of the wall clock be named and
        kept out of every timer (``clock_watch``). Raises ``StoreUnavailable`` when the log cannot be written;
        the unissued timeouts stay due.
        """
        if now_s is not None and (jump := self.clock_watch.jumped(now, now_s)):
            self.scheduler.shift(jump)
        applied, due = 0, self.scheduler.due(now)
        for index, command in enumerate(due):
            try:
                changed = await self._try(command)
            except StoreUnavailable:
                for later in due[index:]:
                    self.scheduler.schedule(now, later)
                raise
            if not changed:
                # Its flow moved on (another opening, attempt or unlock): a stale timer does nothing.
                log.debug(
                    "stale timeout ignored", command=type(command).__name__, compartment_id=command.compartment_id
                )
            applied += changed
        return applied

    def waits_for_operator(self, compartment_id: str) -> bool:
        """Whether the compartment is in alarm: its owner must contact the operator (an overstay, a lockout)."""
        compartment = self._service.compartments.get(compartment_id)
        return compartment is not None and compartment.state == S.ALARM

    # ------------------------------------------------------------- operator
    async def clear_alarm(self, compartment_id: str, operator_id: str, note: str = "", release: bool = False) -> None:
        """An operator clears an alarm (raises ``TransitionRejected`` with the reason when not possible)."""
        if compartment_id in self.unreachable:
            state = self._service.get(compartment_id).state
            # Nobody can know the door's state while its board is silent: clearing now would be a guess.
            raise TransitionRejected(
                compartment_id, state, "ClearAlarm", "its lock board is unreachable", Refusal.BOARD_UNREACHABLE
            )
        command = c.ClearAlarm(compartment_id=compartment_id, operator_id=operator_id, note=note, release=release)
        await self._service.handle(command)

    async def maintenance_unlock(self, compartment_id: str, operator_id: str, note: str = "") -> None:
        """An operator's maintenance pulse, recorded first (an alarm until cleared), then sent once."""
        unlock = c.MaintenanceUnlock(
            compartment_id=compartment_id, operator_id=operator_id, unlock_id=self.new_id(), note=note
        )
        await self._service.handle(unlock)

    async def erase_face(self, compartment_id: str, operator_id: str) -> None:
        """An operator erases the owner's face template on request; the item stays (retrieval by PIN)."""
        command = c.EraseFace(
            compartment_id=compartment_id, requested_by="operator", proof="operator", operator_id=operator_id
        )
        await self._service.handle(command)

    async def erase_by_face(self, match: FaceMatch) -> bool:
        """The owner asked for erasure and their face was identified (live, accepted): erase it; False if not."""
        compartment = self._service.compartments.get(match.compartment_id or "")
        if compartment is None or not match.accepted or match.evidence.presentation_attack():
            return False
        command = c.EraseFace(compartment_id=compartment.compartment_id, requested_by="owner", proof="face")
        return await self._try(command)

    async def take_out_of_service(self, compartment_id: str, operator_id: str, note: str = "") -> None:
        """An operator takes a compartment out of service."""
        command = c.TakeOutOfService(compartment_id=compartment_id, operator_id=operator_id, note=note)
        await self._service.handle(command)

    # -------------------------------------------------------------- helpers
    async def _try(self, command: c.Command) -> bool:
        """Run a command that may be stale (a timeout, a sensor echo); a rejection is logged, not raised."""
        try:
            return bool(await self._service.handle(command))
        except TransitionRejected as exc:
            log.info(
                "command rejected",
                command=type(command).__name__,
                reason=exc.reason,
                compartment_id=command.compartment_id,
            )
            return False

    def _sync_gallery(self, stored: Sequence[StoredEvent]) -> None:
        for record in stored:
            event = record.event
            if isinstance(event, ev.ItemDeposited):
                owner = self._service.get(event.compartment_id)
                self.gallery.add(event.compartment_id, owner.subject_id, owner.template_ref)
            elif any(isinstance(effect, DestroyTemplate) for effect in effects_of([event])):
                self.gallery.remove(event.compartment_id)
