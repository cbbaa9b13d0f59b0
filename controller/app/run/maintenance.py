"""Maintenance beside a running controller: find the controller that holds this bank's log, if any.

A maintenance unlock must be recorded in the log; while a controller holds it, only that controller may
write, so ``lockers plc unlock`` refuses and names the operator endpoint that records the pulse. Without a
controller, ``recorded_pulse`` takes the writer's lease itself and records the pulse through the bank.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.app.config.loader import load_config
from controller.app.config.location import database_url
from controller.domain.errors import LockerError
from controller.ports import LockDriver

if TYPE_CHECKING:
    from controller.app.stack import Stack
    from plc.registers import PlcConfig


def running_controller(config_path: Path | None) -> str | None:
    """Who holds the log the configuration names (host, pid, since), or None when no controller runs."""
    from storage.engine import parse_url, sqlite_path
    from storage.lease import LeaseHeld, acquire_lease, read_holder

    config = load_config(config_path)
    url = database_url(config)
    path = sqlite_path(parse_url(url))
    if path is not None:
        holder = read_holder(path)
        return None if holder is None else f"host {holder.get('host')}, pid {holder.get('pid')}"
    try:
        acquire_lease(url).release()
    except LeaseHeld as exc:
        return str(exc)
    return None


def unlock_through_controller(config_path: Path | None, compartment: int) -> str:
    """The exact command that asks the running controller for a recorded maintenance unlock."""
    api = load_config(config_path).api
    return (
        "curl -X POST -H 'Authorization: Bearer <operator token>' -H 'content-type: application/json' "
        f"-d '{{\"operator_id\": \"<your id>\", \"note\": \"maintenance\"}}' "
        f"http://{api.host}:{api.port}/operator/compartments/{compartment}/unlock"
    )


class PulseOnlyVault:
    """The vault a recorded maintenance pulse composes with: it holds no templates and shreds none.

    A maintenance unlock never destroys a template (only a release does), so ``destroy`` is never called
    by this flow; were it ever called, it refuses loudly rather than pretend a template was shredded.
    """

    def destroy(self, template_ref: str) -> None:
        """Refuse: a maintenance pulse has no template to shred."""
        raise LockerError(f"a maintenance pulse cannot shred template {template_ref!r}: use the controller")


class _PulseWitness:
    """Wraps the lock driver to keep the error of the one pulse, which the service records and swallows."""

    def __init__(self) -> None:
        self.driver: LockDriver | None = None
        self.error: LockerError | None = None

    def wrap(self, driver: LockDriver) -> LockDriver:
        """Watch ``driver`` (``Overrides.wrap_locks``)."""
        self.driver = driver
        return self

    def _wrapped(self) -> LockDriver:
        assert self.driver is not None, "wrap() is called by the composition root first"
        return self.driver

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Send the pulse once through the wrapped driver; remember (and re-raise) its failure."""
        try:
            await self._wrapped().unlock(compartment, pulse_ms)
        except LockerError as exc:
            self.error = exc
            raise

    async def read_doors(self) -> dict[int, bool]:
        """The wrapped driver's door states."""
        return await self._wrapped().read_doors()

    async def all_relays_off(self) -> None:
        """De-energise every relay through the wrapped driver."""
        await self._wrapped().all_relays_off()


def recorded_pulse(config_path: Path | None, plc: PlcConfig, pulse: MaintenancePulse) -> str:
    """Without a controller: hold the log's lease, record ``MaintenanceUnlocked``, send one pulse, record it.

    Returns the log it was recorded in (its URL, password hidden).

    Raises ``LeaseHeld`` when a controller (or another pulse) holds the log, and the driver's error when the
    pulse was not sent or its outcome is unknown (after the log recorded that outcome).
    """
    from controller.app.stack import Overrides, build_bank
    from controller.service.simulation import NoGallery
    from storage.engine import parse_url
    from storage.lease import acquire_lease

    config = load_config(config_path)
    url = database_url(config)
    lease = acquire_lease(url)
    witness = _PulseWitness()
    try:
        given = Overrides(plc=plc, vault=PulseOnlyVault(), wrap_locks=witness.wrap, pulse_ms=pulse.pulse_ms)
        asyncio.run(_pulse_through_the_bank(build_bank(config, NoGallery(), given), pulse))
    finally:
        lease.release()
    if witness.error is not None:
        raise witness.error
    return parse_url(url).render_as_string(hide_password=True)


async def _pulse_through_the_bank(stack: Stack, pulse: MaintenancePulse) -> None:
    """The bank records and sends the pulse; the stack closes on the loop its driver connected on."""
    try:
        await stack.bank.maintenance_unlock(str(pulse.compartment), pulse.operator_id, pulse.note)
    finally:
        stack.close()


@dataclass(frozen=True)
class MaintenancePulse:
    """One operator's maintenance pulse: which compartment, how long, who and why."""

    compartment: int
    pulse_ms: int
    operator_id: str
    note: str = ""
