"""Scenario steps of the deposit lifecycle: entering a deposit's one-time PIN, erasing a face on request.

``- pin: {from_deposit: N}`` enters the PIN the N-th deposit of the scenario was given (``code:``
enters a given one); ``- erase: ...`` erases a face template by the owner's PIN, the owner's face
(``show:``) or an operator. A refused PIN is what happened, not a failed step: ``expect`` says
what it should have opened.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from controller.domain.errors import LockerError
from controller.service.pins import PinCoolingDown, PinDesk, PinNeedsOperator, PinNotOffered, PinRefused

if TYPE_CHECKING:
    from controller.app.scenario.file import Scenario, Step
    from controller.app.stack import Stack
    from controller.ports import FixedClock
    from recognition.runtime.station import FaceStation

SCENARIO_KIOSK = "scenario"


class LifecycleSteps:
    """The ``pin`` and ``erase`` steps of ``ScenarioRun`` (which supplies the running stack)."""

    scenario: Scenario
    clock: FixedClock
    issued_pins: list[str]

    @property
    def stack(self) -> Stack:
        """The running stack (``ScenarioRun``'s)."""
        raise NotImplementedError  # pragma: no cover

    @property
    def station(self) -> FaceStation:
        """The recognition station (``ScenarioRun``'s)."""
        raise NotImplementedError  # pragma: no cover

    def _desk(self) -> PinDesk:
        if self.stack.pins is None:
            raise LockerError("this bank's vault keeps no PINs")
        return self.stack.pins

    def _code(self, arg: dict[str, Any]) -> str:
        if "code" in arg:
            return str(arg["code"])
        pin: str = self.issued_pins[int(arg["from_deposit"]) - 1]
        if not pin:
            raise LockerError(f"deposit {arg['from_deposit']} was given no PIN")
        return pin

    async def _step_pin(self, step: Step) -> str:
        try:
            entry = await self._desk().enter(self._code(step.arg), str(step.arg.get("kiosk", SCENARIO_KIOSK)))
        except (PinRefused, PinCoolingDown, PinNotOffered, PinNeedsOperator) as exc:
            return f"PIN refused: {exc}"
        verb = "unlocked" if entry.unlocked else "vouched for the face of"
        return f"PIN {verb} compartment {entry.compartment_id}"

    async def _step_erase(self, step: Step) -> str:
        arg = step.arg
        if "operator" in arg:
            await self.stack.bank.erase_face(str(arg["compartment"]), arg["operator"])
            return f"operator {arg['operator']} erased the face of compartment {arg['compartment']}"
        if "show" in arg:
            return await self._erase_by_face(step)
        try:
            cid = await self._desk().erase(self._code(arg), SCENARIO_KIOSK)
        except (PinRefused, PinCoolingDown, PinNeedsOperator) as exc:
            return f"erasure refused: {exc}"
        return f"the owner erased the face of compartment {cid} (by PIN)"

    async def _erase_by_face(self, step: Step) -> str:
        from recognition.pipeline.images import load_image

        for name in step.arg["show"]:
            image = load_image(self.scenario.image(name, step))
            self.clock.advance(0.1)
            match = await asyncio.to_thread(self.station.match, image, self.clock.now().timestamp())
            if match is not None and await self.stack.bank.erase_by_face(match):
                return f"the owner erased the face of compartment {match.compartment_id} (by face)"
        return "erasure refused: no owner recognised"
