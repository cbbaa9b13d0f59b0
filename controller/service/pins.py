"""The PIN desk: one-time PINs entered at a kiosk, matched against the vault, limited and alarmed.

A wrong PIN names no compartment, so it counts twice: against the kiosk it was entered at (after
``kiosk_failures`` consecutive wrong PINs the kiosk cools down for ``cooldown_s``, checking nothing)
and against every compartment whose PIN it could have been (after ``alarm_failures`` such guesses a
compartment raises the ``lockout`` alarm, as repeated failed faces do, and waits for an operator).
Every answer to a wrong PIN is the same words, naming neither a digit nor a compartment; the vault
compares every candidate in constant time. The counters live in memory: a restart forgets them, the
alarms they raised stay in the log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from controller.domain import commands as c
from controller.domain.compartment import Compartment
from controller.domain.errors import LockerError, TransitionRejected
from controller.domain.lifecycle import OWNER, Retrieval
from controller.domain.states import CompartmentState as S
from controller.ports import PinVault
from controller.service.bank import LockerBank, pulse_outcome

log = structlog.get_logger("lockers.pins")

REFUSED = "PIN not accepted"
AT_REST = (S.OCCUPIED, S.VERIFYING)


class PinRefused(LockerError):
    """The PIN opens nothing here (always the same words: no hint which digit or which compartment)."""


class PinCoolingDown(LockerError):
    """Too many wrong PINs at this kiosk: it checks none until the cool-down ends."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many wrong PINs at this kiosk: try again in {retry_after_s:.0f} s")


class PinNeedsOperator(LockerError):
    """The PIN is right but its compartment waits for an operator (an alarm: overstay, lockout, fault)."""


class PinNotOffered(LockerError):
    """The site's retrieval policy is face only: no PIN is issued or accepted."""


class PinFormatError(LockerError):
    """A PIN must be a string of digits of the site's length."""


@dataclass(frozen=True, slots=True)
class PinSettings:
    """PIN length and the limits on wrong PINs (``[policy] pin_*``)."""

    digits: int = 8
    kiosk_failures: int = 3
    cooldown_s: float = 60.0
    alarm_failures: int = 1000  # each wrong PIN counts against every deposit: a low figure locks the bank


@dataclass(frozen=True, slots=True)
class PinEntry:
    """What a PIN did: which compartment, whether it unlocked it (or vouched for a face to come)."""

    compartment_id: str
    correlation_id: str
    unlocked: bool
    pulse: str = ""
    """``sent`` (the board acknowledged it), ``not_sent``, ``unknown``; empty where no pulse was asked for."""


def check_format(pin: object, digits: int) -> str:
    """The PIN if it is exactly ``digits`` ASCII digits, else ``PinFormatError`` (naming no digit)."""
    if not isinstance(pin, str) or len(pin) != digits or not (pin.isascii() and pin.isdigit()):
        raise PinFormatError(f"a PIN is {digits} digits")
    return pin


@dataclass
class _Counters:
    failures: dict[str, int] = field(default_factory=dict)
    blocked_until: dict[str, datetime] = field(default_factory=dict)
    exposure: dict[str, int] = field(default_factory=dict)


class PinDesk:
    """Takes PINs from kiosks: retrieval (``enter``) and erasure of the owner's face (``erase``)."""

    def __init__(self, bank: LockerBank, vault: PinVault, settings: PinSettings) -> None:
        self.bank = bank
        # The desk is one of the bank's flows (same layer): it decides on the bank's own service.
        self._service = bank._service
        self.vault = vault
        self.settings = settings
        self._counts = _Counters()
        # One PIN checked at a time: requests sent in parallel cannot slip past a kiosk's count.
        self._checking = asyncio.Lock()

    async def enter(self, pin: str, kiosk: str) -> PinEntry:
        """Open (face or PIN) or vouch for (face and PIN) the compartment this PIN belongs to."""
        retrieval = self.bank.policy.retrieval
        if retrieval == Retrieval.FACE_ONLY:
            raise PinNotOffered("this site opens compartments by face only")
        compartment = await self._identify(pin, kiosk)
        cid, flow = compartment.compartment_id, self.bank.new_id()
        command: c.Command = (
            c.ConfirmPin(compartment_id=cid, correlation_id=flow, unlock_id=self.bank.new_id(), kiosk=kiosk)
            if retrieval == Retrieval.FACE_OR_PIN
            else c.VerifyPin(compartment_id=cid, correlation_id=flow, kiosk=kiosk)
        )
        await self._handle(command)
        if not isinstance(command, c.ConfirmPin):
            return PinEntry(cid, flow, unlocked=False)
        pulse = pulse_outcome(self._service.get(cid), command.unlock_id)  # the effects have run
        return PinEntry(cid, flow, unlocked=pulse == "sent", pulse=pulse)

    async def erase(self, pin: str, kiosk: str) -> str:
        """Erase the face template of the deposit this PIN belongs to (the item stays); its compartment id."""
        compartment = await self._identify(pin, kiosk)
        cid = compartment.compartment_id
        if not compartment.face_erased:  # asked twice: it is erased, as asked
            await self._handle(c.EraseFace(compartment_id=cid, requested_by=OWNER, proof="pin"))
        return cid

    async def _handle(self, command: c.Command) -> None:
        try:
            await self._service.handle(command)
        except TransitionRejected as exc:
            # The compartment moved on meanwhile (a face opened it): the words stay the same.
            log.info("pin command refused", command=type(command).__name__, reason=exc.reason)
            raise PinRefused(REFUSED) from None

    async def _identify(self, pin: object, kiosk: str) -> Compartment:
        """The compartment whose PIN this is; else ``PinRefused`` (counted), ``PinCoolingDown``, ``PinFormatError``."""
        checked = check_format(pin, self.settings.digits)
        async with self._checking:
            return await self._match(checked, kiosk)

    async def _match(self, checked: str, kiosk: str) -> Compartment:
        self._check_cooldown(kiosk)
        candidates = {k.pin_ref: k for k in self._service.compartments.values() if k.pin_ref}
        ref = await asyncio.to_thread(self.vault.match_pin, checked, sorted(candidates))
        if ref is None:
            await self._count_wrong(kiosk, [k for k in candidates.values() if k.state in AT_REST])
            raise PinRefused(REFUSED)
        self._counts.failures.pop(kiosk, None)
        compartment = candidates[ref]
        if compartment.state == S.ALARM:
            raise PinNeedsOperator("this deposit needs the operator: please contact them")
        if compartment.state not in AT_REST:
            raise PinRefused(REFUSED)  # already open: nothing more to open
        return compartment

    def _check_cooldown(self, kiosk: str) -> None:
        until = self._counts.blocked_until.get(kiosk)
        now = self.bank.now()
        if until is not None and now < until:
            raise PinCoolingDown((until - now).total_seconds())

    async def _count_wrong(self, kiosk: str, exposed: list[Compartment]) -> None:
        counts, settings = self._counts, self.settings
        counts.failures[kiosk] = counts.failures.get(kiosk, 0) + 1
        log.info("wrong pin", kiosk=kiosk, consecutive=counts.failures[kiosk])
        if counts.failures[kiosk] >= settings.kiosk_failures:
            now = self.bank.now()
            counts.blocked_until[kiosk] = now + timedelta(seconds=settings.cooldown_s)
            counts.failures[kiosk] = 0
        live = {k.pin_ref for k in exposed}
        counts.exposure = {ref: n for ref, n in counts.exposure.items() if ref in live}
        for k in exposed:
            guesses = counts.exposure[k.pin_ref] = counts.exposure.get(k.pin_ref, 0) + 1
            if guesses >= settings.alarm_failures:
                counts.exposure[k.pin_ref] = 0
                await self._service.handle(c.ReportWrongPins(compartment_id=k.compartment_id, count=guesses))
