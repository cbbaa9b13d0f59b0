"""The bank's flows over the real service, with the in-memory store and the fake lock driver."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from controller.app.config.loader import Timeouts
from controller.domain.commands import TakeOutOfService
from controller.domain.errors import TransitionRejected, UnlockOutcomeUnknown
from controller.domain.events import AlarmRaised, BoardFaultResolved
from controller.domain.evidence import EnrolmentLiveness, Evidence
from controller.ports import BoardFaulted, BoardRecovered, DoorChanged, FaceMatch, FixedClock
from controller.service import audit
from controller.service.bank import BankFull, LockerBank, NoEnroller
from controller.service.bridge import BridgeSettings, RecognitionBridge
from controller.service.compartments import CompartmentService
from controller.service.scheduler import TimeoutScheduler
from plc.fake import FakeLockDriver
from storage.memory import InMemoryEventStore
from tests.controller.service.fakes import FakeGallery, FakeVault

AWAY_S = BridgeSettings().depositor_away_s


class World:
    def __init__(self, store: InMemoryEventStore | None = None, locks: FakeLockDriver | None = None) -> None:
        self.clock = FixedClock()
        self.store = store or InMemoryEventStore()
        self.locks = locks or FakeLockDriver(4, pop_doors=False)
        self.vault = FakeVault()
        self.gallery = FakeGallery()
        counter = itertools.count(1)
        ids = [str(k) for k in range(1, 5)]
        self.service = CompartmentService(self.store, self.locks, self.vault, self.clock, ids)
        self.bank = LockerBank(
            self.service,
            self.gallery,
            TimeoutScheduler(Timeouts(unlocked_door_not_opened_s=20, door_left_open_s=60, verification_s=8)),
            RecognitionBridge(BridgeSettings(retry_after_s=2), lambda: f"id-{next(counter)}"),
            lambda: f"id-{next(counter)}",
        )

    def state(self, cid: str) -> str:
        return str(self.service.get(cid).state)

    async def door(self, cid: str, is_open: bool) -> None:
        (self.locks.open_door if is_open else self.locks.close_door)(int(cid))
        await self.bank.on_sensor(DoorChanged(int(cid), is_open))

    async def deposit(self, subject: str = "alice") -> str:
        receipt = await self.bank.deposit(subject, f"tpl-{subject}", "m@1")
        await self.door(receipt.compartment_id, True)
        await self.door(receipt.compartment_id, False)
        self.clock.advance(AWAY_S)  # the depositor walks away; a face after this is a returning owner
        return receipt.compartment_id

    def face(
        self, cid: str | None, subject: str | None, accepted: bool, considered: int = 3, rejected: bool = False
    ) -> FaceMatch:
        evidence = Evidence(
            subject_id=subject or "",
            distance=0.3,
            runner_up_distance=0.9,
            threshold=0.45,
            margin=0.05,
            frames_agreeing=3 if accepted else 1,
            frames_considered=considered,
            model_version="m@1",
        )
        return FaceMatch(cid, accepted, evidence, rejected)


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def world() -> Iterator[World]:
    yield World()


def test_deposit_then_retrieval_by_face(world: World) -> None:
    async def scenario() -> None:
        cid = await world.deposit()
        assert (cid, world.state(cid)) == ("1", "occupied")
        assert world.gallery.members == {"1": "alice"}
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), 0.0)
        assert world.state("1") == "verifying"
        await world.bank.on_face(world.face("1", "alice", accepted=True), 0.3)
        assert world.state("1") == "open"
        assert world.locks.pulses == [1, 1]
        await world.door("1", True)
        await world.door("1", False)
        assert world.state("1") == "free"
        assert world.vault.destroyed == ["tpl-alice"]
        assert world.gallery.members == {}

    run(scenario())
    assert audit.verify(world.store.read_raw(), world.store._serializer.decode).ok


def test_lowest_free_compartment_and_full_bank(world: World) -> None:
    async def scenario() -> None:
        assert [await world.deposit(s) for s in ("a", "b", "c", "d")] == ["1", "2", "3", "4"]
        with pytest.raises(BankFull):
            await world.bank.deposit("e", "tpl-e", "m@1")

    run(scenario())


def test_a_stranger_opens_nothing_and_a_face_of_another_compartment_is_ignored(world: World) -> None:
    async def scenario() -> None:
        await world.deposit("alice")
        await world.bank.on_face(world.face(None, None, accepted=False), 0.0)
        await world.bank.on_face(world.face("3", "bob", accepted=True), 0.1)
        assert world.state("1") == "occupied"
        assert world.locks.pulses == [1]

    run(scenario())


def test_failed_verifications_lock_out_after_retries(world: World) -> None:
    async def scenario() -> None:
        await world.deposit("alice")
        for attempt in range(3):
            now = attempt * 10.0
            await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), now)
            await world.bank.on_face(world.face("1", "alice", accepted=False, considered=5, rejected=True), now + 0.5)
        assert world.state("1") == "alarm"
        assert world.service.get("1").alarm_reason == "lockout"

    run(scenario())


def test_timeouts_are_issued_by_the_scheduler(world: World) -> None:
    async def scenario() -> None:
        receipt = await world.bank.deposit("alice", "tpl-alice", "m@1")
        world.clock.advance(19)
        assert await world.bank.tick(world.clock.now()) == 0
        world.clock.advance(2)
        assert await world.bank.tick(world.clock.now()) == 1
        assert world.state(receipt.compartment_id) == "free"
        assert world.vault.destroyed == ["tpl-alice"]

    run(scenario())


def test_door_left_open_alarm_then_operator_clear(world: World) -> None:
    async def scenario() -> None:
        receipt = await world.bank.deposit("alice", "tpl-alice", "m@1")
        await world.door(receipt.compartment_id, True)
        world.clock.advance(61)
        await world.bank.tick(world.clock.now())
        assert world.service.get("1").alarm_reason == "door_left_open"
        await world.door("1", False)
        await world.bank.clear_alarm("1", "ops-1", "closed it")
        assert world.state("1") == "occupied"

    run(scenario())


def test_unlock_outcome_unknown_is_an_alarm_and_never_a_second_pulse(world: World) -> None:
    async def scenario() -> None:
        world.locks.fail_next_unlock(UnlockOutcomeUnknown("no reply"))
        receipt = await world.bank.deposit("alice", "tpl-alice", "m@1")
        assert world.state(receipt.compartment_id) == "alarm"
        assert world.service.get("1").alarm_reason == "unlock_outcome_unknown"
        world.clock.advance(100)
        await world.bank.tick(world.clock.now())
        unlocks = [call for call in world.locks.calls if call.name == "unlock"]
        assert len(unlocks) == 1

    run(scenario())


def test_board_fault_observation_alarms_every_compartment_on_it(world: World) -> None:
    async def scenario() -> None:
        await world.bank.on_sensor(BoardFaulted("fake", (1, 2, 3, 4), "timeout"))
        assert {world.state(c) for c in "1234"} == {"alarm"}

    run(scenario())


def test_a_recovered_board_ends_its_fault_alarms_when_the_doors_agree(world: World) -> None:
    async def scenario() -> None:
        await world.deposit("alice")  # compartment 1 occupied, its door closed
        await world.bank.on_sensor(BoardFaulted("fake", (1, 2, 3, 4), "timeout"))
        with pytest.raises(TransitionRejected, match="lock board is unreachable"):
            await world.bank.clear_alarm("2", "ops-1")
        world.locks.open_door(3)  # while the board was silent, door 3 was forced
        await world.bank.on_sensor(BoardRecovered("fake", (1, 2, 3, 4)))
        assert [world.state(c) for c in "1234"] == ["occupied", "free", "alarm", "free"]
        resolved = [s.event for s in world.store.read_all() if isinstance(s.event, BoardFaultResolved)]
        assert [(e.compartment_id, e.resume_state) for e in resolved] == [
            ("1", "occupied"),
            ("2", "free"),
            ("4", "free"),
        ]
        assert world.service.get("3").alarm_reason == "lock_board_fault"
        assert "door is open but the log says closed" in world.service.get("3").alarm_detail or any(
            "door is open" in getattr(s.event, "detail", "") for s in world.store.read_all()
        )
        world.locks.close_door(3)
        await world.bank.clear_alarm("3", "ops-1")  # the board answers again: an operator may clear it now
        assert world.state("3") == "free"

    run(scenario())


def test_a_board_fault_left_by_the_last_run_ends_at_boot_when_the_board_answers_and_the_doors_agree() -> None:
    first = World()

    async def before_restart() -> None:
        await first.deposit("alice")
        await first.bank.on_sensor(BoardFaulted("fake", (1, 2, 3, 4), "timeout"))  # then the controller stops

    run(before_restart())
    first.locks.open_door(3)  # forced while nobody watched
    second = World(store=first.store, locks=first.locks)
    run(second.bank.boot())
    assert [second.state(c) for c in "1234"] == ["occupied", "free", "alarm", "free"]
    assert second.gallery.members == {"1": "alice"}
    mismatches = [
        s.event
        for s in second.store.read_all()
        if s.event.compartment_id == "3"
        and isinstance(s.event, AlarmRaised)
        and "door is open but the log says closed" in s.event.detail
    ]
    assert len(mismatches) == 1  # door 3 stays in alarm for an operator, with the reason recorded


def test_restart_rebuilds_from_the_log_and_reconciles_with_the_doors() -> None:
    first = World()

    async def before_crash() -> None:
        await first.deposit("alice")
        await first.bank.deposit("bob", "tpl-bob", "m@1")  # unlocked, door not yet opened

    run(before_crash())
    first.locks.open_door(3)  # while the controller was down, someone forced door 3
    second = World(store=first.store, locks=first.locks)

    async def after_restart() -> None:
        await second.bank.boot()

    run(after_restart())
    assert second.state("1") == "occupied"
    assert second.gallery.members == {"1": "alice", "2": "bob"}
    assert second.state("3") == "alarm"
    assert second.service.get("3").alarm_reason == "reconciliation_mismatch"
    assert second.state("2") == "open"  # the pulse was acknowledged before the crash: nothing to re-send
    names = [c.name for c in second.locks.calls]
    assert names.count("unlock") == 2
    assert names[-2:] == ["all_relays_off", "read_doors"]


def test_a_version_conflict_is_reloaded_and_decided_again(world: World) -> None:
    """Another writer appended first: the service rebuilds the compartment from the log and decides anew."""
    other = CompartmentService(world.store, world.locks, world.vault, world.clock, ["1"])

    async def scenario() -> None:
        await other.handle(TakeOutOfService(compartment_id="1", operator_id="ops-2"))  # behind our back
        await world.bank.take_out_of_service("1", "ops-1", "second opinion")
        assert world.state("1") == "alarm"
        versions = [s.event.version for s in world.store.read_all() if s.event.compartment_id == "1"]
        assert versions == [1, 2]
        assert world.service.get("1").version == 2

    run(scenario())


def test_a_maintenance_unlock_is_recorded_then_pulsed_once_and_cleared_by_an_operator(world: World) -> None:
    async def scenario() -> None:
        await world.deposit("alice")
        await world.bank.maintenance_unlock("1", "ops-9", "replace the latch")
        assert [call.name for call in world.locks.calls].count("unlock") == 2  # the deposit's and this one
        events = [s.event for s in world.store.read_all() if s.event.compartment_id == "1"]
        assert [type(e).__name__ for e in events[-2:]] == ["MaintenanceUnlocked", "UnlockPulseSent"]
        assert events[-2].operator_id == "ops-9" and events[-1].unlock_id == events[-2].unlock_id
        await world.bank.on_sensor(DoorChanged(1, True))  # the door opens for the technician: no forced alarm
        alarms = [e for e in (s.event for s in world.store.read_all()) if type(e).__name__ == "AlarmRaised"]
        assert alarms == [] and world.service.get("1").alarm_reason == "maintenance"
        await world.bank.on_sensor(DoorChanged(1, False))
        await world.bank.clear_alarm("1", "ops-9", "latch replaced")
        assert world.state("1") == "occupied"

    run(scenario())


class StoredTemplate:
    """What an enroller hands back: a template ref in the (fake) vault."""

    def __init__(self, ref: str) -> None:
        self.template_ref, self.model_version = ref, "m@1"
        self.liveness = EnrolmentLiveness(liveness="live")


class CountingEnroller:
    def __init__(self) -> None:
        self.calls = 0

    async def enrol(self) -> StoredTemplate:
        self.calls += 1
        return StoredTemplate(f"tpl-{self.calls}")


def test_a_deposit_enrols_through_the_banks_own_enroller(world: World) -> None:
    enroller = CountingEnroller()
    world.bank.enroller = enroller

    async def scenario() -> None:
        receipt = await world.bank.enrol_and_deposit()
        assert (receipt.compartment_id, enroller.calls) == ("1", 1)
        assert world.service.get("1").template_ref == "tpl-1"

    run(scenario())


def test_a_bank_without_an_enroller_refuses_a_deposit_and_assigns_nothing(world: World) -> None:
    with pytest.raises(NoEnroller):
        run(world.bank.enrol_and_deposit())
    assert [world.state(cid) for cid in "1234"] == ["free"] * 4


def test_a_full_bank_asks_nobody_to_look_at_the_camera(world: World) -> None:
    enroller = CountingEnroller()

    async def scenario() -> None:
        for subject in "abcd":
            await world.deposit(subject)
        with pytest.raises(BankFull):
            await world.bank.enrol_and_deposit(enroller)

    run(scenario())
    assert enroller.calls == 0


def test_the_bridge_follows_recognitions_decision_not_its_own_count(world: World) -> None:
    async def scenario() -> None:
        await world.deposit("alice")
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), 0.0)
        # A full window that recognition has not rejected (it still may accept) keeps the attempt open.
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=9), 0.5)
        assert world.state("1") == "verifying"
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=2, rejected=True), 0.6)
        assert world.service.get("1").failed_attempts == 1

    run(scenario())


async def just_deposited(world: World, subject: str) -> None:
    """A deposit whose door has just closed, on the bank's clock as it is (no walking away yet)."""
    receipt = await world.bank.deposit(subject, f"tpl-{subject}", "m@1")
    await world.door(receipt.compartment_id, True)
    await world.door(receipt.compartment_id, False)


def test_the_depositor_still_in_view_is_not_handed_the_door_back(world: World) -> None:
    async def scenario() -> None:
        await just_deposited(world, "alice")
        for k in range(100):  # ten seconds in front of the camera after closing the door, recognised
            await world.bank.on_face(world.face("1", "alice", accepted=True), 100.0 + k * 0.1)
        assert (world.state("1"), world.locks.pulses, world.vault.destroyed) == ("occupied", [1], [])
        await world.bank.on_face(world.face(None, None, accepted=False), 112.0)  # someone else, then back
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), 100.0 + 9.9 + AWAY_S)
        assert world.state("1") == "verifying"  # gone for the grace period: a returning owner

    run(scenario())


def test_an_owner_who_leaves_and_returns_later_starts_a_verification(world: World) -> None:
    async def scenario() -> None:
        await just_deposited(world, "alice")
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), 50.0)
        assert world.state("1") == "occupied"  # just deposited
        world.clock.advance(3600)
        await world.bank.on_face(world.face("1", "alice", accepted=False, considered=1), 3650.0)
        assert world.state("1") == "verifying"

    run(scenario())
