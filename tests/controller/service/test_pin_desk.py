"""One-time PINs over the real parts: SQLite log, SQLite template vault (scrypt hashes), the bank's flows."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from controller.app.bootstrap import open_event_store
from controller.domain.compartment import Policy
from controller.domain.errors import TransitionRejected
from controller.domain.evidence import EnrolmentLiveness, Evidence
from controller.ports import DoorChanged, FaceMatch, FixedClock, LockDriver
from controller.service.bank import DepositTerms, EnrolWith, LockerBank
from controller.service.bridge import BridgeSettings, RecognitionBridge
from controller.service.compartments import CompartmentService
from controller.service.pins import (
    PinCoolingDown,
    PinDesk,
    PinFormatError,
    PinNeedsOperator,
    PinNotOffered,
    PinRefused,
    PinSettings,
)
from controller.service.scheduler import Timeouts, TimeoutScheduler
from plc.fake import FakeLockDriver
from storage.templates import SqliteTemplateStore

KEY = bytes(range(32))


class Gallery:
    def __init__(self) -> None:
        self.members: dict[str, str] = {}

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        self.members[compartment_id] = template_ref

    def remove(self, compartment_id: str) -> None:
        self.members.pop(compartment_id, None)


@dataclass
class Enrolment:
    template_ref: str
    model_version: str = "m@1"
    liveness: EnrolmentLiveness = EnrolmentLiveness()


class Bank:
    """A bank of 3 over a log and a vault in ``folder``; building it again is a restart."""

    def __init__(
        self, folder: Path, retrieval: str = "face_or_pin", settings: PinSettings | None = None,
        locks: LockDriver | None = None,
    ) -> None:
        self.clock = FixedClock()
        self.store = open_event_store(f"sqlite:///{folder / 'log.db'}")
        self.vault = SqliteTemplateStore(folder / "templates.db", KEY)
        self.fake_locks = FakeLockDriver(3, pop_doors=False)
        self.locks: LockDriver = locks or self.fake_locks
        self.gallery = Gallery()
        ids = itertools.count(1)
        policy = Policy(retrieval=retrieval)
        self.service = CompartmentService(self.store, self.locks, self.vault, self.clock, ["1", "2", "3"], policy)
        self.bank = LockerBank(
            self.service,
            self.gallery,
            TimeoutScheduler(Timeouts()),
            RecognitionBridge(BridgeSettings(), lambda: f"b-{next(ids)}"),
            lambda: f"{folder.name}-{self.clock.now().timestamp()}-{next(ids)}",
            DepositTerms(self.vault, 8, "v1"),
        )
        self.desk = PinDesk(self.bank, self.vault, settings or PinSettings())

    def close(self) -> None:
        self.store.close()
        self.vault.close()

    def state(self, cid: str) -> str:
        return str(self.service.get(cid).state)

    async def door(self, cid: str, is_open: bool) -> None:
        (self.fake_locks.open_door if is_open else self.fake_locks.close_door)(int(cid))
        await self.bank.on_sensor(DoorChanged(int(cid), is_open))

    async def deposit(self) -> tuple[str, str]:
        async def enrol() -> Enrolment:
            return Enrolment(self.vault.put(np.random.default_rng().normal(size=128).astype(np.float32), "m@1"))

        receipt = await self.bank.enrol_and_deposit(EnrolWith(enrol))
        await self.door(receipt.compartment_id, True)
        await self.door(receipt.compartment_id, False)
        self.clock.advance(BridgeSettings().depositor_away_s)  # the depositor walks away before coming back
        return receipt.compartment_id, receipt.pin


def wrong_pin(*right: str) -> str:
    return next(p for p in ("00000000", "11111111", "22222222") if p not in right)


def run(folder: Path, body: Callable[[Bank], Coroutine[None, None, None]], **options: object) -> Bank:
    bank = Bank(folder, **options)  # type: ignore[arg-type]
    try:
        asyncio.run(body(bank))
    finally:
        bank.close()
    return bank


def test_the_issued_pin_opens_exactly_its_compartment_and_a_wrong_one_nothing(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        (c1, p1), (c2, p2) = await b.deposit(), await b.deposit()
        assert (c1, c2) == ("1", "2") and len(p1) == 8 and p1.isdigit() and p1 != p2
        with pytest.raises(PinRefused, match="^PIN not accepted$"):
            await b.desk.enter(wrong_pin(p1, p2), "kiosk-a")
        assert (b.state("1"), b.state("2"), b.fake_locks.pulses) == ("occupied", "occupied", [1, 2])
        entry = await b.desk.enter(p2, "kiosk-a")
        assert (entry.compartment_id, entry.unlocked) == ("2", True)
        assert (b.state("1"), b.state("2"), b.fake_locks.pulses) == ("occupied", "open", [1, 2, 2])
        await b.door("2", True)
        await b.door("2", False)
        assert b.state("2") == "free"
        # Released: the template and the PIN hash are shredded; the PIN opens nothing any more.
        assert len(b.vault.pin_refs()) == 1 and len(b.vault.refs()) == 1
        with pytest.raises(PinRefused):
            await b.desk.enter(p2, "kiosk-a")

    run(tmp_path, body)


def test_the_pin_is_nowhere_in_the_log_rows_or_the_logs(tmp_path: Path) -> None:
    pins: list[str] = []

    async def body(b: Bank) -> None:
        with capture_logs() as logs:
            _, pin = await b.deposit()
            pins.append(pin)
            await b.desk.enter(pin, "kiosk-a")
        rows = [f"{r.event_type} {r.payload_json}" for r in b.store.read_raw()]
        assert any("PinConfirmed" in row for row in rows) and any('"pin_ref":"pin-' in row for row in rows)
        assert not [row for row in rows if pin in row]
        assert logs and not [entry for entry in logs if pin in repr(entry)]

    run(tmp_path, body)
    assert pins[0].encode() not in (tmp_path / "log.db").read_bytes()
    assert pins[0].encode() not in (tmp_path / "templates.db").read_bytes()


def test_wrong_pins_sent_at_once_cannot_slip_past_the_kiosks_count(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        _, pin = await b.deposit()
        tries = [b.desk.enter(wrong_pin(pin), "kiosk-a") for _ in range(6)]
        outcomes = await asyncio.gather(*tries, return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["PinCoolingDown"] * 3 + ["PinRefused"] * 3

    run(tmp_path, body)


def test_a_kiosk_cools_down_after_repeated_wrong_pins(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        _, pin = await b.deposit()
        for _ in range(3):
            with pytest.raises(PinRefused):
                await b.desk.enter(wrong_pin(pin), "kiosk-a")
        with pytest.raises(PinCoolingDown) as cooling:
            await b.desk.enter(pin, "kiosk-a")  # even the right PIN is not checked meanwhile
        assert 0 < cooling.value.retry_after_s <= 60
        assert b.state("1") == "occupied"
        b.clock.advance(61)
        assert (await b.desk.enter(pin, "kiosk-a")).compartment_id == "1"

    run(tmp_path, body)


def test_repeated_wrong_pins_lock_the_exposed_compartments_out(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        (_, p1), (_, p2) = await b.deposit(), await b.deposit()
        for kiosk in range(4):  # spread over kiosks, so no cool-down hides the per-compartment count
            with pytest.raises(PinRefused):
                await b.desk.enter(wrong_pin(p1, p2), f"kiosk-{kiosk}")
        assert [b.service.get(c).alarm_reason for c in ("1", "2", "3")] == ["lockout", "lockout", ""]
        with pytest.raises(PinNeedsOperator, match="operator"):
            await b.desk.enter(p1, "kiosk-9")
        await b.bank.clear_alarm("1", "ops-1")
        assert (await b.desk.enter(p1, "kiosk-9")).compartment_id == "1"

    run(tmp_path, body, settings=PinSettings(kiosk_failures=100, alarm_failures=4))


def test_the_pin_survives_a_restart(tmp_path: Path) -> None:
    pins: list[str] = []

    async def deposit(b: Bank) -> None:
        pins.append((await b.deposit())[1])

    async def retrieve(b: Bank) -> None:
        await b.bank.boot()
        assert (await b.desk.enter(pins[0], "kiosk-a")).compartment_id == "1"
        assert b.state("1") == "open"

    run(tmp_path, deposit)
    run(tmp_path, retrieve)


def test_face_only_issues_no_pin_and_accepts_none(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        _, pin = await b.deposit()
        assert pin == "" and b.vault.pin_refs() == []
        with pytest.raises(PinNotOffered):
            await b.desk.enter("12345678", "kiosk-a")

    run(tmp_path, body, retrieval="face_only")


def test_face_and_pin_needs_both(tmp_path: Path) -> None:
    async def body(b: Bank) -> None:
        _, pin = await b.deposit()
        owner = b.service.get("1").subject_id
        evidence = Evidence(subject_id=owner, distance=0.2, threshold=0.45, frames_agreeing=3, model_version="m@1")
        await b.bank.on_face(FaceMatch("1", True, evidence), 1.0)
        assert (b.state("1"), b.fake_locks.pulses) == ("occupied", [1])  # the face alone starts nothing
        entry = await b.desk.enter(pin, "kiosk-a")
        assert (entry.unlocked, b.state("1"), b.service.get("1").pin_verified) == (False, "occupied", True)
        assert b.fake_locks.pulses == [1]
        await b.bank.on_face(FaceMatch("1", True, evidence), 2.0)
        assert (b.state("1"), b.fake_locks.pulses) == ("open", [1, 1])
        kinds = [type(e).__name__ for e in b.store.read_stream("1")][-4:]
        assert kinds == ["PinVerified", "VerificationStarted", "IdentityConfirmed", "UnlockPulseSent"]

    run(tmp_path, body, retrieval="face_and_pin")


@pytest.mark.parametrize("typed", ["1234567", "123456789", "1234567a", "１２３４５６７８", ""])
def test_a_malformed_pin_is_one_clear_error_and_counts_nothing(tmp_path: Path, typed: str) -> None:
    async def body(b: Bank) -> None:
        await b.deposit()
        for _ in range(5):
            with pytest.raises(PinFormatError, match="^a PIN is 8 digits$"):
                await b.desk.enter(typed, "kiosk-a")
        assert b.state("1") == "occupied"

    run(tmp_path, body)


def test_erasure_by_pin_keeps_the_item_and_the_pin(tmp_path: Path) -> None:
    pins: list[str] = []

    async def erase(b: Bank) -> None:
        _, pin = await b.deposit()
        pins.append(pin)
        assert b.gallery.members
        assert await b.desk.erase(pin, "kiosk-a") == "1"
        assert await b.desk.erase(pin, "kiosk-a") == "1"  # asked twice: erased once
        assert [type(e).__name__ for e in b.store.read_stream("1")].count("FaceErased") == 1
        assert b.vault.refs() == [] and len(b.vault.pin_refs()) == 1 and b.gallery.members == {}
        assert b.state("1") == "occupied" and b.service.get("1").face_erased
        with pytest.raises(TransitionRejected, match="no face template"):
            await b.bank.erase_face("1", "ops-1")

    async def retrieve_after_restart(b: Bank) -> None:
        await b.bank.boot()
        assert b.gallery.members == {}  # an erased face is not loaded again
        await b.desk.enter(pins[0], "kiosk-a")
        await b.door("1", True)
        await b.door("1", False)
        assert b.state("1") == "free" and b.vault.pin_refs() == []

    run(tmp_path, erase)
    run(tmp_path, retrieve_after_restart)
