"""Clocks through the bank's clock port: a clock behind the log is ``clock_skew``, a jump expires nothing.

Real service, in-memory store, fake lock driver; the wall clock is the ``FixedClock`` the service decides
with, and the monotonic seconds are what the daemon's tick passes beside it.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
import structlog

from controller.app.config.loader import Timeouts
from controller.domain.commands import ObserveDoor
from controller.domain.errors import ClockSkew
from controller.domain.events import DoorOpened
from controller.ports import DoorChanged
from controller.service.bank import LockerBank
from controller.service.bridge import BridgeSettings, RecognitionBridge
from controller.service.compartments import CLOCK_SKEW_TOLERANCE_S, CompartmentService
from controller.service.scheduler import TimeoutScheduler
from tests.controller.service.test_bank import World

DAY_S = 86_400.0
RENTAL_S = 3_600.0


def rental_bank(world: World, first_id: int = 100) -> LockerBank:
    """A bank over ``world``'s service whose deposits may stay ``RENTAL_S``."""
    counter = itertools.count(first_id)
    return LockerBank(
        world.service,
        world.gallery,
        TimeoutScheduler(Timeouts(), rental_period_s=RENTAL_S),
        RecognitionBridge(BridgeSettings(), lambda: f"id-{next(counter)}"),
        lambda: f"id-{next(counter)}",
    )


def rental_world() -> World:
    world = World()
    world.bank = rental_bank(world)
    return world


def test_an_event_dated_a_day_before_the_logs_last_is_refused_as_clock_skew() -> None:
    world = World()

    async def scenario() -> None:
        await world.deposit()
        written = len(world.store.read_stream("1"))
        world.clock.advance(-DAY_S)  # the clock is one day slow (a restart with a dead RTC battery)
        with pytest.raises(ClockSkew, match="clock_skew"):
            await world.bank.on_sensor(DoorChanged(2, True))
        assert len(world.store.read_stream("2")) == 0 and len(world.store.read_stream("1")) == written
        world.clock.advance(DAY_S)  # the clock is right again: the buffered fact is recorded
        await world.bank.on_sensor(DoorChanged(2, True))
        assert world.state("2") == "alarm"

    asyncio.run(scenario())


def test_a_clock_slightly_behind_the_log_is_within_the_tolerance() -> None:
    world = World()

    async def scenario() -> None:
        await world.deposit()
        world.clock.advance(-(CLOCK_SKEW_TOLERANCE_S - 5))  # an NTP step back of under two minutes
        await world.bank.on_sensor(DoorChanged(2, True))
        assert world.state("2") == "alarm"

    asyncio.run(scenario())


def test_a_restarted_service_knows_the_logs_last_time() -> None:
    world = World()

    async def scenario() -> None:
        await world.deposit()
        world.clock.advance(-DAY_S)
        restarted = CompartmentService(world.store, world.locks, world.vault, world.clock, ["1", "2", "3", "4"])
        with pytest.raises(ClockSkew):
            await restarted.handle(ObserveDoor(compartment_id="3", is_open=True))

    asyncio.run(scenario())


def test_a_clock_two_days_fast_expires_no_deposit_and_is_named() -> None:
    world = rental_world()

    async def scenario() -> None:
        cid = await world.deposit()
        assert await world.bank.tick(world.clock.now(), 100.0) == 0
        world.clock.advance(2 * DAY_S)  # the wall clock jumps; one second passes
        with structlog.testing.capture_logs() as logs:
            assert await world.bank.tick(world.clock.now(), 101.0) == 0
        assert world.state(cid) == "occupied"
        assert any(entry["event"].startswith("clock_jump") for entry in logs), logs
        world.clock.advance(RENTAL_S)  # the rental period really passes: now the deposit expires
        assert await world.bank.tick(world.clock.now(), 101.0 + RENTAL_S) == 1
        assert world.service.get(cid).alarm_reason == "deposit_expired"

    asyncio.run(scenario())


def test_without_a_jump_the_rental_expires_on_time() -> None:
    world = rental_world()

    async def scenario() -> None:
        cid = await world.deposit()
        await world.bank.tick(world.clock.now(), 0.0)
        world.clock.advance(RENTAL_S)
        assert await world.bank.tick(world.clock.now(), RENTAL_S) == 1
        assert world.state(cid) == "alarm"

    asyncio.run(scenario())


def test_a_buffered_door_change_keeps_the_time_it_was_seen_and_says_when_it_was_recorded() -> None:
    world = World()

    async def scenario() -> None:
        seen = world.clock.now()
        world.clock.advance(44)  # storage was down for 44 s
        await world.bank.on_sensor(DoorChanged(2, True), seen)
        opened = next(e for e in world.store.read_stream("2") if isinstance(e, DoorOpened))
        assert opened.occurred_at == seen and opened.recorded_at == seen + timedelta(seconds=44)
        assert opened.payload()["recorded_at"] == opened.recorded_at.isoformat()

    asyncio.run(scenario())


def test_a_controller_booted_with_its_clock_two_days_fast_expires_no_deposit_at_once() -> None:
    world = rental_world()

    async def scenario() -> None:
        cid = await world.deposit()
        world.clock.advance(RENTAL_S / 2)  # half the rental passes, recorded by a door elsewhere
        await world.bank.on_sensor(DoorChanged(3, False))
        await world.door("2", True)
        world.clock.advance(2 * DAY_S)  # the controller restarts with its clock two days fast
        restarted = rental_world_over(world)
        with structlog.testing.capture_logs() as logs:
            await restarted.bank.boot()
            assert await restarted.bank.tick(world.clock.now(), 0.0) == 0
        assert restarted.state(cid) == "occupied"
        assert any(entry["event"].startswith("clock_jump") for entry in logs), logs
        world.clock.advance(RENTAL_S / 2 + 1)  # what remained at the log's last position runs out
        assert await restarted.bank.tick(world.clock.now(), RENTAL_S / 2 + 1) == 1
        assert restarted.service.get(cid).alarm_reason == "deposit_expired"

    asyncio.run(scenario())


def rental_world_over(before: World) -> World:
    """A new controller over the same log, board and clock (a restart)."""
    world = World(before.store, before.locks)
    world.clock = before.clock
    world.service = CompartmentService(world.store, world.locks, world.vault, world.clock, ["1", "2", "3", "4"])
    world.bank = rental_bank(world, 200)
    return world
