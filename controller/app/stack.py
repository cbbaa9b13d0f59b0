"""Builds the running parts of one bank from the configuration (part of the composition root).

``build_bank`` is the one composition root, used by ``lockers run``, ``lockers scenario run``,
``lockers sim history`` and the service benchmark: event store, template vault, lock driver (with
the in-process Modbus simulator in simulate mode), compartment service, and the bank's flows.
Recognition is attached by the caller (a live worker, a frame station, or none).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from controller.app.bootstrap import open_event_store
from controller.app.config.loader import Config, plc_config
from controller.app.config.location import check_bank_log, database_url
from controller.domain.compartment import Policy
from controller.domain.errors import ConfigError, LockerError, UnknownCompartment
from controller.ports import (
    Clock,
    Enroller,
    EventStore,
    LockDriver,
    PinVault,
    SensorObservation,
    SystemClock,
    TemplateGallery,
    TemplateVault,
)
from controller.service.bank import DepositTerms, LockerBank
from controller.service.bridge import BridgeSettings, RecognitionBridge
from controller.service.compartments import CompartmentService
from controller.service.help import HelpDesks
from controller.service.pins import PinDesk, PinSettings
from controller.service.scheduler import TimeoutScheduler
from controller.service.views import BankViews

if TYPE_CHECKING:
    from plc.driver import ModbusLockDriver
    from plc.poller import DoorPoller
    from plc.registers import PlcConfig
    from plc.simulator import LockBoardSimulator
    from storage.templates import SqliteTemplateStore


def new_id() -> str:
    """A random id for unlocks and correlation."""
    return uuid.uuid4().hex


def vault_path(config: Config) -> Path:
    """Where the template vault lives: ``[templates] path``, else ``templates.db`` in the data dir."""
    section = config.site.templates
    return Path(section.path) if section.path else config.data_dir / "templates.db"


def open_vault(config: Config, simulate: bool) -> SqliteTemplateStore:
    """The encrypted template store; simulate mode makes (and keeps) its own master key."""
    from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
    from storage.vault_keys import write_secret_file

    section = config.site.templates
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = vault_path(config)
    encoded = os.environ.get("LOCKERS_MASTER_KEY") or section.master_key
    if not encoded:
        if not simulate:
            raise ConfigError("set templates.master_key (or LOCKERS_MASTER_KEY): `lockers keys master` makes one")
        key_file = config.data_dir / "master.key"
        if not key_file.exists():
            write_secret_file(key_file, generate_master_key().encode())  # 0600 from its first byte
        encoded = key_file.read_text().strip()
    return SqliteTemplateStore(path, parse_master_key(str(encoded)))


class _Closable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closable)


@dataclass
class Stack:
    """The parts of one running bank; ``close`` releases what the root opened (relays: the caller).

    Callers drive the bank through ``bank`` and read it through ``views``; its compartment service is
    the bank's own.
    """

    config: Config
    store: EventStore
    vault: TemplateVault
    driver: LockDriver
    plc_config: PlcConfig
    views: BankViews
    bank: LockerBank
    simulator: LockBoardSimulator | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    pins: PinDesk | None = None
    help: HelpDesks | None = None

    def poller(
        self, emit: Callable[[SensorObservation], Awaitable[None]], debounce_polls: int | None = None
    ) -> DoorPoller:
        """A door poller whose baseline is the folded state, so any difference is reported."""
        from plc.poller import DoorPoller

        initial = {int(cid): self.views.door_open(cid) for cid in self.views.compartment_ids()}
        poller = DoorPoller(
            self.driver,  # type: ignore[arg-type]  # the poller needs the Modbus driver's board map
            emit,
            interval_s=self.plc_config.poll_interval_s,
            debounce_polls=debounce_polls or self.plc_config.debounce_polls,
            initial=initial,
        )
        # Boards found silent at boot count as faulted, so their first answer is reported as a recovery.
        silent = self.bank.unreachable
        poller.faulted.update(b.name for b in poller.reader.boards if any(str(k) in silent for k in b.compartments))
        return poller

    def adopt(self, part: _Closable) -> None:
        """Close ``part`` (something the caller opened for this bank, like its vault) with the bank."""
        self.closers.insert(0, part.close)

    def close(self) -> None:
        """Close the connections and files the composition root opened, newest first."""
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()


async def start_simulator(config: Config) -> LockBoardSimulator:
    """The Modbus lock-board simulator on a free loopback port ([simulator] behaviour: pop, stay-closed, jam)."""
    from plc.simulator import LockBoardSimulator

    simulator = LockBoardSimulator(compartments=config.compartments, behaviour=config.site.simulator.behaviour)
    await simulator.start()
    return simulator


@dataclass(frozen=True)
class Overrides:
    """What a caller supplies instead of the configuration's own parts (tests, scenarios, benchmarks, sims).

    ``simulator`` set means simulate mode (the lock board is that in-process simulator); ``enroller``
    is the camera that deposits enrol from (none: deposits need a scenario's enroller). ``store``,
    ``vault`` and ``locks`` given here are not closed by ``Stack.close``; ``wrap_locks`` decorates the
    lock driver the service uses (to record unlocks) without touching the service's internals.
    """

    db_url: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    simulator: LockBoardSimulator | None = None
    store: EventStore | None = None
    vault: TemplateVault | None = None
    locks: LockDriver | None = None
    plc: PlcConfig | None = None
    pulse_ms: int | None = None  # a command's own pulse length (`lockers plc unlock --pulse-ms`), not [policy]'s
    wrap_locks: Callable[[LockDriver], LockDriver] | None = None
    make_id: Callable[[], str] = new_id
    enroller: Enroller | None = None


def simulated_door(simulator: LockBoardSimulator, compartment: int, action: str) -> None:
    """Act on a simulated door as a person would: open, force, close, jam or unjam it."""
    from plc.sim_board import Control

    codes = {
        "open": Control.PULL,
        "force": Control.PULL,
        "close": Control.CLOSE,
        "jam": Control.JAM,
        "unjam": Control.NORMAL,
    }
    if not 1 <= compartment <= simulator.compartments:
        raise UnknownCompartment(str(compartment))
    simulator.board.control(compartment - 1, codes[action])


def build_bank(config: Config, gallery: TemplateGallery, overrides: Overrides | None = None) -> Stack:
    """The composition root: store, vault, lock driver, compartment service and bank from one configuration."""
    given = overrides or Overrides()
    closers: list[Callable[[], None]] = []
    plc_config = _plc_config(config, given)
    vault = given.vault or _opened(open_vault(config, simulate=given.simulator is not None), closers)
    store = given.store or _opened(open_event_store(database_url(config, given.db_url)), closers)
    if given.store is None:
        _check_log_belongs(config, given, vault, closers)
    driver = given.locks or _opened(_modbus_driver(plc_config), closers)
    locks = given.wrap_locks(driver) if given.wrap_locks else driver
    ids = [str(k) for k in plc_config.compartments]
    rules = config.site.policy
    policy = Policy(
        pulse_ms=given.pulse_ms or rules.pulse_ms,
        max_failed_verifications=rules.max_failed_verifications,
        max_presentation_attacks=rules.max_presentation_attacks,
        retrieval=rules.retrieval,
    )
    service = CompartmentService(store, locks, vault, given.clock, ids, policy)
    bank = _locker_bank(config, service, gallery, given.make_id, given.enroller)
    stack = Stack(config, store, vault, driver, plc_config, BankViews(service), bank, given.simulator, closers)
    if bank.terms.pins is not None:
        stack.pins = PinDesk(bank, bank.terms.pins, pin_settings(config))
    stack.help = HelpDesks(service, given.make_id)
    return stack


def _locker_bank(
    config: Config,
    service: CompartmentService,
    gallery: TemplateGallery,
    make_id: Callable[[], str],
    enroller: Enroller | None,
) -> LockerBank:
    """The bank's flows over the service: bridge, scheduler (rental period included), deposit terms."""
    rules = config.site.policy
    bridge = RecognitionBridge(BridgeSettings(), make_id)
    pins = service.vault if isinstance(service.vault, PinVault) else None  # a vault that keeps PIN hashes
    terms = DepositTerms(pins, rules.pin_digits, rules.consent_version)
    scheduler = TimeoutScheduler(config.timeouts, rules.rental_period_s)
    return LockerBank(service, gallery, scheduler, bridge, make_id, terms, enroller)


def pin_settings(config: Config) -> PinSettings:
    """The PIN desk's settings from ``[policy]``."""
    rules = config.site.policy
    return PinSettings(rules.pin_digits, rules.pin_kiosk_failures, rules.pin_cooldown_s, rules.pin_alarm_failures)


def _check_log_belongs(
    config: Config, given: Overrides, vault: TemplateVault, closers: list[Callable[[], None]]
) -> None:
    """One data location: refuse another bank's log, or a new log beside templates (closing what was opened)."""
    try:
        check_bank_log(database_url(config, given.db_url), config, vault)
    except LockerError:
        for closer in reversed(closers):
            closer()
        raise


def _opened(part: _C, closers: list[Callable[[], None]]) -> _C:
    """Remember to close ``part``: the root closes what it opened, never what it was given."""
    closers.append(part.close)
    return part


def _plc_config(config: Config, given: Overrides) -> PlcConfig:
    from plc.registers import default_plc_config

    if given.plc is not None:
        return given.plc
    if given.simulator is not None:
        return default_plc_config(config.compartments, given.simulator.host, given.simulator.port)
    if given.locks is not None:
        return default_plc_config(config.compartments, "127.0.0.1", 502)  # nominal: the given driver is used
    return plc_config(config)


def _modbus_driver(plc_config: PlcConfig) -> ModbusLockDriver:
    from plc.driver import ModbusLockDriver

    return ModbusLockDriver(plc_config)


def build_stack(
    config: Config,
    db_url: str | None,
    clock: Clock,
    gallery: TemplateGallery,
    *,
    simulator: LockBoardSimulator | None,
    vault: TemplateVault | None = None,
    make_id: Callable[[], str] = new_id,
) -> Stack:
    """``build_bank`` with its former positional signature (kept for callers outside the repository)."""
    overrides = Overrides(db_url=db_url, clock=clock, simulator=simulator, vault=vault, make_id=make_id)
    return build_bank(config, gallery, overrides)
