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
from controller.app.config import Config
from controller.domain.compartment import Policy
from controller.domain.errors import ConfigError
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


def vault_path(config: Config) -> Path:
    """Where the template vault lives: ``[templates] path``, else ``templates.db`` in the data dir."""
    return Path(str(config.section("templates").get("path", config.data_dir / "templates.db")))


def open_vault(config: Config, simulate: bool) -> SqliteTemplateStore:
    """The encrypted template store; simulate mode makes (and keeps) its own master key."""
    from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
    from storage.vault_keys import write_secret_file

    section = config.section("templates")
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = vault_path(config)
    encoded = os.environ.get("LOCKERS_MASTER_KEY") or section.get("master_key")
    if not encoded:
        if not simulate:
            raise ConfigError("set templates.master_key (or LOCKERS_MASTER_KEY): `lockers keys generate` makes one")
        key_file = config.data_dir / "master.key"
        if not key_file.exists():
            write_secret_file(key_file, generate_master_key().encode())  # 0600 from its first byte
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

    section = config.section("simulator")
    try:
        behaviour = DoorBehaviour(section.get("behaviour", DoorBehaviour.POP.value))
    except ValueError:
        raise ConfigError(f"simulator.behaviour must be one of {[b.value for b in DoorBehaviour]}") from None
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
        plc_config = parse_plc_config(config.section("plc"))
    vault = vault or open_vault(config, simulate=simulator is not None)
    store = open_event_store(db_url or str(config.section("storage").get("url", "")) or None)
    driver = ModbusLockDriver(plc_config)
    ids = [str(k) for k in plc_config.compartments]
    policy = Policy(pulse_ms=config.pulse_ms, max_failed_verifications=config.max_failed_verifications)
    service = CompartmentService(store, driver, vault, clock, ids, policy)
    recognition = config.section("recognition")
    bridge = RecognitionBridge(BridgeSettings(frames_window=int(recognition.get("frames_window", 5))), make_id)
    bank = LockerBank(service, gallery, TimeoutScheduler(config.timeouts), bridge, make_id)
    return Stack(config, store, vault, driver, plc_config, service, bank, simulator)
