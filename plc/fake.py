"""``FakeLockDriver``: an in-memory lock board for core tests; passes the same contract tests as Modbus."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from controller.domain.errors import BoardUnreachable, LockDriverError, UnlockNotSent, UnlockOutcomeUnknown
from plc.registers import BoardMap


@dataclass(frozen=True, slots=True)
class DriverCall:
    """One call made to the fake, in order."""

    name: str
    compartment: int | None = None
    pulse_ms: int | None = None


class FakeLockDriver:
    """Records calls, simulates doors (a pulse pops the door open) and raises scripted failures.

    ``offline`` makes every request fail as if the board were unplugged (nothing sent); ``silent`` as if
    it stopped answering (an unlock's outcome is unknown).
    """

    def __init__(self, compartments: int = 16, *, pop_doors: bool = True) -> None:
        self.board = BoardMap(name="fake", device_id=1, first_compartment=1, count=compartments)
        self.pop_doors = pop_doors
        self.doors: dict[int, bool] = dict.fromkeys(self.board.compartments, False)
        # Relay outputs: a pulse is instantaneous here, so only a test leaves one on (as a crash would).
        self.relays: dict[int, bool] = dict.fromkeys(self.board.compartments, False)
        self.calls: list[DriverCall] = []
        self.pulses: list[int] = []
        self.unlock_failures: deque[LockDriverError] = deque()
        self.offline = False
        self.silent = False

    @property
    def boards(self) -> tuple[BoardMap, ...]:
        """The one simulated board."""
        return (self.board,)

    def fail_next_unlock(self, error: LockDriverError) -> None:
        """Make the next ``unlock`` raise ``error`` (queued: call again for the unlock after)."""
        self.unlock_failures.append(error)

    def open_door(self, compartment: int) -> None:
        """A person pulls the door open (forced when it was never unlocked)."""
        self.doors[compartment] = True

    def close_door(self, compartment: int) -> None:
        """A person shuts the door."""
        self.doors[compartment] = False

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Record the pulse; pop the door unless a failure is scripted."""
        self.calls.append(DriverCall("unlock", compartment, pulse_ms))
        if compartment not in self.board.compartments or pulse_ms <= 0:
            raise UnlockNotSent(f"compartment {compartment}, pulse {pulse_ms} ms: not in the register map")
        if self.unlock_failures:
            raise self.unlock_failures.popleft()
        if self.offline:
            raise UnlockNotSent(f"unlock of compartment {compartment} was not sent: board offline")
        self.pulses.append(compartment)
        if self.silent:
            raise UnlockOutcomeUnknown(f"unlock of compartment {compartment}: no reply")
        if self.pop_doors:
            self.doors[compartment] = True

    async def read_doors(self) -> dict[int, bool]:
        """Every door (True = open)."""
        self.calls.append(DriverCall("read_doors"))
        return await self.read_board(self.board)

    async def read_board(self, board: BoardMap) -> dict[int, bool]:
        """The doors of the one board."""
        if self.offline or self.silent:
            raise BoardUnreachable(f"{board.name} does not answer")
        return dict(self.doors)

    async def all_relays_off(self) -> None:
        """Record the call and de-energise every relay."""
        self.calls.append(DriverCall("all_relays_off"))
        if self.offline or self.silent:
            raise BoardUnreachable("switching the relays off failed: board does not answer")
        self.relays = dict.fromkeys(self.relays, False)
