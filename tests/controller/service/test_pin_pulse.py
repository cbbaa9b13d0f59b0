"""A PIN answer tells the pulse's real outcome: ``unlocked`` only once the lock board acknowledged it.

The board is a real pymodbus server on loopback (``plc.simulator``) driven by the real Modbus driver; it is
stopped to make the board unreachable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from controller.domain import events as ev
from plc.driver import ModbusLockDriver
from plc.registers import default_plc_config
from plc.simulator import DoorBehaviour, LockBoardSimulator
from tests.controller.service.test_pin_desk import Bank


def test_a_pin_says_unlocked_when_the_board_took_the_pulse_and_not_when_it_was_unreachable(tmp_path: Path) -> None:
    async def body() -> None:
        board = LockBoardSimulator(compartments=3, behaviour=DoorBehaviour.STAY_CLOSED)
        await board.start()
        driver = ModbusLockDriver(default_plc_config(3, "127.0.0.1", board.port, timeout_s=0.5))
        bank = Bank(tmp_path, locks=driver)
        try:
            (first, first_pin), (second, second_pin) = await bank.deposit(), await bank.deposit()
            opened = await bank.desk.enter(first_pin, "kiosk-a")
            assert (opened.compartment_id, opened.unlocked, opened.pulse) == (first, True, "sent")

            await board.stop()  # the board goes away: no pulse can be sent
            refused = await bank.desk.enter(second_pin, "kiosk-a")
            assert (refused.compartment_id, refused.unlocked) == (second, False)
            assert refused.pulse in ("not_sent", "unknown") and bank.state(second) == "alarm"
            alarm = bank.service.get(second).alarm_reason
            assert alarm == {"not_sent": ev.AlarmReason.UNLOCK_FAILED,
                             "unknown": ev.AlarmReason.UNLOCK_OUTCOME_UNKNOWN}[refused.pulse]
        finally:
            driver.close()
            bank.close()
            await board.stop()

    asyncio.run(body())
