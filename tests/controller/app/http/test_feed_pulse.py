"""The kiosk is told that a door is open only once the lock board acknowledged its pulse.

A real bank (SQLite log and vault, the real Modbus driver, a real pymodbus board on loopback) feeds the
kiosk feed that ``/kiosk/feed`` streams; the board is stopped to make it unreachable. An owner's face then
confirms (``door``), but the pulse fails: the feed says ``unlock_failed``, never ``unlocked``; with the
board answering it says ``unlocked``. A deposit's answer carries its pulse outcome the same way.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from controller.app.http.web.feed import KioskFeed
from controller.domain.evidence import Evidence
from controller.ports import FaceMatch
from controller.service.bank import DepositReceipt, EnrolWith
from controller.service.bridge import BridgeSettings
from plc.driver import ModbusLockDriver
from plc.registers import default_plc_config
from plc.sim_board import DoorBehaviour
from plc.simulator import LockBoardSimulator
from tests.controller.service.test_pin_desk import Bank, Enrolment

DOOR_KINDS = ("door", "unlocked", "unlock_failed")


async def face_retrieval(bank: Bank, feed: KioskFeed, cid: str) -> list[dict[str, Any]]:
    """The feed's door messages while the owner of ``cid`` looks at the camera."""
    await asyncio.sleep(0.05)  # what earlier commits published is delivered first (to nobody)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    feed.clients.add(queue)
    owner = bank.service.get(cid).subject_id
    evidence = Evidence(subject_id=owner, distance=0.2, threshold=0.45, frames_agreeing=3, model_version="m@1")
    await bank.bank.on_face(FaceMatch(cid, True, evidence), 1.0)
    await asyncio.sleep(0.05)  # the feed delivers on the loop
    feed.clients.discard(queue)
    messages = [queue.get_nowait() for _ in range(queue.qsize())]
    return [{k: v for k, v in m.items() if k != "at"} for m in messages if m["kind"] in DOOR_KINDS]


async def deposit(bank: Bank, completed: bool = True) -> DepositReceipt:
    """A deposit's answer; ``completed``: the item put in, the door closed, the depositor gone."""

    async def enrol() -> Enrolment:
        return Enrolment(bank.vault.put(np.random.default_rng().normal(size=128).astype(np.float32), "m@1"))

    receipt = await bank.bank.enrol_and_deposit(EnrolWith(enrol))
    if completed:
        await bank.door(receipt.compartment_id, True)
        await bank.door(receipt.compartment_id, False)
        bank.clock.advance(BridgeSettings().depositor_away_s)
    return receipt


def test_the_kiosk_hears_open_only_after_the_board_acknowledged_the_pulse(tmp_path: Path) -> None:
    async def body() -> None:
        board = LockBoardSimulator(compartments=3, behaviour=DoorBehaviour.STAY_CLOSED)
        await board.start()
        driver = ModbusLockDriver(default_plc_config(3, "127.0.0.1", board.port, timeout_s=0.5))
        bank, feed = Bank(tmp_path, locks=driver), KioskFeed()
        feed.bind(asyncio.get_running_loop())
        bank.bank.subscribe(feed.on_committed)
        try:
            first, second = await deposit(bank), await deposit(bank)
            assert first.pulse == second.pulse == "sent"
            assert await face_retrieval(bank, feed, first.compartment_id) == [
                {"kind": "door", "purpose": "retrieval", "door": first.compartment_id},
                {"kind": "unlocked", "purpose": "retrieval", "door": first.compartment_id},
            ]

            await board.stop()  # the board goes away: the pulse is not acknowledged
            told = await face_retrieval(bank, feed, second.compartment_id)
            assert [m["kind"] for m in told] == ["door", "unlock_failed"], told
            assert told[1]["pulse"] in ("not_sent", "unknown") and bank.state(second.compartment_id) == "alarm"
            # the deposit's answer says so too
            assert (await deposit(bank, completed=False)).pulse in ("not_sent", "unknown")
        finally:
            driver.close()
            bank.close()
            await board.stop()

    asyncio.run(body())
