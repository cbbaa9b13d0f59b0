"""Builds the running parts of one bank from the configuration (part of the composition root).

Used by ``lockers run``, ``lockers scenario run`` and the service benchmark: event store, template
vault, lock driver (with the in-process Modbus simulator in simulate mode), compartment service,
and the bank's flows. Recognition is attached by the caller (a live worker or a frame station).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from controller.app.bootstrap import open_event_store
from controller.app.config import Config, plc_section
from controller.app.location import check_bank_log, database_url
from controller.domain.compartment import Policy
from controller.domain.errors import ConfigError, LockerError
from controller.ports import Clock, EventStore, TemplateGallery
from controller.service.bank import LockerBank
from controller.service.bridge import BridgeSettings, RecognitionBridge
from controller.service.compartments import CompartmentService
from controller.service.scheduler import TimeoutScheduler

if TYPE_CHECKING:
    from plc.driver import ModbusLockDriver
    from plc.poller import DoorPoller
    from plc.registers import PlcConfig
    from plc.simulator import LockBoardSimulator
    from storage.templates import SqliteTemplateStore


def new_id() -> str:
    """A random id for unlocks and correlation."""
    return uuid.uuid4().hex


def open_vault(config: Config, simulate: bool) -> SqliteTemplateStore:
    """The encrypted template store; simulate mode makes (and keeps) its own master key."""
    from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key

    section = config.site.templates
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = Path(section.path) if section.path else config.data_dir / "templates.db"
    encoded = os.environ.get("LOCKERS_MASTER_KEY") or section.master_key
    if not encoded:
        if not simulate:
            raise ConfigError("set templates.master_key (or LOCKERS_MASTER_KEY): `lockers keys master` makes one")
        key_file = config.data_dir / "master.key"
        if not key_file.exists():
            key_file.write_text(generate_master_key())
            key_file.chmod(0o600)
        encoded = key_file.read_text().strip()
    return SqliteTemplateStore(path, parse_master_key(str(encoded)))


@dataclass
class Stack:
    """The parts of one running bank; ``close`` releases them (relays are switched off by the caller)."""

    config: Config
    store: EventStore
    vault: SqliteTemplateStore
    driver: ModbusLockDriver
    plc_config: PlcConfig
    service: CompartmentService
    bank: LockerBank
    simulator: LockBoardSimulator | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def poller(self, emit: Callable[..., object], debounce_polls: int | None = None) -> DoorPoller:
        """A door poller whose baseline is the folded state, so any difference is reported."""
        from plc.poller import DoorPoller

        initial = {int(cid): k.door_open for cid, k in self.service.compartments.items()}
        return DoorPoller(
            self.driver,
            emit,  # type: ignore[arg-type]
            interval_s=self.plc_config.poll_interval_s,
            debounce_polls=debounce_polls or self.plc_config.debounce_polls,
            initial=initial,
        )

    def close(self) -> None:
        """Close connections and files."""
        self.driver.close()
        self.store.close()
        self.vault.close()


async def start_simulator(config: Config) -> LockBoardSimulator:
    """The Modbus lock-board simulator on a free loopback port ([simulator] behaviour: pop, stay-closed, jam)."""
    from plc.sim_board import DoorBehaviour
    from plc.simulator import LockBoardSimulator

    behaviour = DoorBehaviour(config.site.simulator.behaviour)  # validated by the configuration schema
    simulator = LockBoardSimulator(compartments=config.compartments, behaviour=behaviour)
    await simulator.start()
    return simulator


def build_stack(
    config: Config,
    db_url: str | None,
    clock: Clock,
    gallery: TemplateGallery,
    *,
    simulator: LockBoardSimulator | None,
    vault: SqliteTemplateStore | None = None,
    make_id: Callable[[], str] = new_id,
) -> Stack:
    """Compose store, vault, driver, service and bank; ``simulator`` set means simulate mode."""
    from plc.driver import ModbusLockDriver
    from plc.registers import default_plc_config, parse_plc_config

    if simulator is not None:
        plc_config = default_plc_config(config.compartments, simulator.host, simulator.port)
    else:
        plc_config = parse_plc_config(plc_section(config))
    vault = vault or open_vault(config, simulate=simulator is not None)
    url = database_url(config, db_url)
    store = open_event_store(url)
    try:
        check_bank_log(url, config, vault)
    except LockerError:
        store.close()
        raise
    driver = ModbusLockDriver(plc_config)
    ids = [str(k) for k in plc_config.compartments]
    policy = Policy(pulse_ms=config.pulse_ms, max_failed_verifications=config.max_failed_verifications)
    service = CompartmentService(store, driver, vault, clock, ids, policy)
    recognition = config.section("recognition")
    bridge = RecognitionBridge(BridgeSettings(frames_window=int(recognition.get("frames_window", 5))), make_id)
    bank = LockerBank(service, gallery, TimeoutScheduler(config.timeouts), bridge, make_id)
    return Stack(config, store, vault, driver, plc_config, service, bank, simulator)
