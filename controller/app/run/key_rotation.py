"""Vault key rotation: ``lockers keys rotate`` and the daemon's daily timer.

A rotation re-seals the live templates under a new vault key and destroys the old one, so a copy of the
vault taken before a release cannot be opened afterwards. The timer bounds how long such a copy stays
useful (``[templates] rotate_every_h``, 24 by default, 0 turns it off). The master key that wraps the
vault key file is not changed: when it comes from configuration or ``LOCKERS_MASTER_KEY`` the program
cannot change it, and the report says what that leaves to the operator.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from controller.app.config.loader import Config
from controller.app.stack import open_vault, vault_path
from controller.domain.errors import LockerError
from controller.service.crash_points import ROTATION_NEXT_KEY_WRITTEN, ROTATION_SWITCHED, crash_point

if TYPE_CHECKING:
    from storage.templates import SqliteTemplateStore

log = structlog.get_logger("lockers.keys")

# The vault's rotation steps (storage.templates) and the crash points that kill a rotation there.
_CRASH_POINTS = {"next_key_written": ROTATION_NEXT_KEY_WRITTEN, "switched": ROTATION_SWITCHED}


def rotation_step(step: str) -> None:
    """What a rotation does as it passes ``step``: die there when a crash test names its point."""
    crash_point(_CRASH_POINTS[step])


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one rotation did, and what it leaves to the operator."""

    vault: Path
    key_file: Path
    templates: int
    master_key_source: str
    operator_note: str

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {"vault": str(self.vault), "key_file": str(self.key_file), "templates": self.templates,
                "master_key_source": self.master_key_source, "operator_note": self.operator_note}


def rotation_interval_s(config: Config) -> float | None:
    """Seconds between scheduled rotations (``[templates] rotate_every_h``); None when turned off (0)."""
    hours = config.site.templates.rotate_every_h
    return hours * 3600.0 if hours > 0 else None


def master_key_source(config: Config) -> str:
    """Where the vault's master key comes from, as an operator would look for it."""
    if os.environ.get("LOCKERS_MASTER_KEY"):
        return "LOCKERS_MASTER_KEY"
    if config.site.templates.master_key:
        return "[templates] master_key"
    return f"key file {config.data_dir / 'master.key'}"


def operator_note(source: str, key_file: Path) -> str:
    """What the operator must still do after a rotation (one line)."""
    where = "the key file beside it" if source.startswith("key file") else source
    return (f"copies of the vault made before now can no longer be opened; a copy of {key_file} made before "
            f"now still can, together with the master key from {where} (unchanged): keep key files out of "
            "backups, or change the master key, which re-seals nothing but the vault key file")


def rotate_vault_keys(config: Config) -> RotationReport:
    """Rotate the vault key of the bank configured in ``config`` (the vault must exist)."""
    path = vault_path(config)
    if not path.is_file():
        raise LockerError(f"no template vault at {path}: nothing to rotate")
    source = master_key_source(config)
    vault = open_vault(config, simulate=source.startswith("key file"))
    try:
        count = vault.rotate(rotation_step)
    finally:
        vault.close()
    return RotationReport(path, vault.key_file, count, source, operator_note(source, vault.key_file))


async def rotate_periodically(vault: SqliteTemplateStore, every_s: float) -> None:
    """Rotate ``vault``'s key every ``every_s`` seconds until cancelled; a failed rotation keeps the old key."""
    while True:
        await asyncio.sleep(every_s)
        try:
            count = await asyncio.to_thread(vault.rotate, rotation_step)
        except (LockerError, OSError) as exc:
            # The old key stays valid and the bank keeps running; the next period tries again.
            log.error("vault key rotation failed", error=str(exc))
        else:
            log.info("vault key rotated", templates=count, key_file=str(vault.key_file))


def vault_key_timer(config: Config, vault: SqliteTemplateStore) -> list[asyncio.Task[None]]:
    """The daemon's rotation task (none when ``rotate_every_h = 0``)."""
    every_s = rotation_interval_s(config)
    if every_s is None:
        return []
    return [asyncio.create_task(rotate_periodically(vault, every_s), name="vault-key-rotation")]
