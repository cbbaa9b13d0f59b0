"""``lockers keys rotate`` as an operator runs it, and the daemon's rotation timer."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from controller.app.config.loader import load_config
from controller.app.run.key_rotation import rotate_periodically, rotation_interval_s
from controller.domain.errors import ConfigError
from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
from tests.support.bank import start_bank
from tests.support.cli import quiet_lockers
from tests.support.waiting import wait_until, wait_until_async


def face(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def test_rotate_with_a_configured_master_key_reseals_and_says_what_is_left_to_do(tmp_path: Path) -> None:
    encoded = generate_master_key()
    data_dir = tmp_path / "bank"
    data_dir.mkdir()
    config = tmp_path / "lockers.toml"
    config.write_text(f'[bank]\ndata_dir = "{data_dir}"\n\n[templates]\nmaster_key = "{encoded}"\n')
    vault = SqliteTemplateStore(data_dir / "templates.db", parse_master_key(encoded))
    refs = [vault.put(face(i), "m") for i in range(2)]
    key_before = vault.key_file.read_bytes()
    vault.close()

    result = quiet_lockers("keys", "rotate", "--config", str(config), "--json", cwd=tmp_path)  # from another folder
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["templates"] == 2 and report["vault"] == str(data_dir / "templates.db")
    assert report["master_key_source"] == "[templates] master_key"
    assert "keep key files out of backups" in report["operator_note"]
    assert (data_dir / "templates.db.key").read_bytes() != key_before
    reopened = SqliteTemplateStore(data_dir / "templates.db", parse_master_key(encoded))
    for seed, ref in enumerate(refs):
        np.testing.assert_array_equal(reopened.get(ref), face(seed))
    reopened.close()


def test_rotate_without_a_vault_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "lockers.toml"
    config.write_text(f'[bank]\ndata_dir = "{tmp_path / "empty"}"\n')
    result = quiet_lockers("keys", "rotate", "--config", str(config), cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"error: no template vault at {tmp_path / 'empty' / 'templates.db'}: nothing to rotate"]


@pytest.mark.parametrize(("hours", "expected"), [(None, 86_400.0), (0, None), (0.5, 1800.0)])
def test_rotation_period_is_daily_by_default_and_zero_turns_it_off(hours: float | None, expected: float | None) -> None:
    overrides = {} if hours is None else {"templates": {"rotate_every_h": hours}}
    assert rotation_interval_s(load_config(overrides=overrides)) == expected


@pytest.mark.parametrize("hours", [float("nan"), float("inf"), -1, "daily", True])
def test_bad_rotation_periods_are_refused(hours: object) -> None:
    with pytest.raises(ConfigError, match="templates.rotate_every_h"):
        rotation_interval_s(load_config(overrides={"templates": {"rotate_every_h": hours}}))


def test_the_timer_rotates_while_templates_stay_readable(tmp_path: Path) -> None:
    vault = SqliteTemplateStore(tmp_path / "templates.db", parse_master_key(generate_master_key()))
    ref = vault.put(face(9), "m")
    seen: set[bytes] = {vault.key_file.read_bytes()}

    def rotated_again_and_again() -> bool:
        seen.add(vault.key_file.read_bytes())
        np.testing.assert_array_equal(vault.get(ref), face(9))
        return len(seen) >= 3

    async def go() -> None:
        timer = asyncio.create_task(rotate_periodically(vault, 0.05))
        await wait_until_async(rotated_again_and_again, 60, "the timer did not rotate three times", interval=0.02)
        timer.cancel()

    asyncio.run(go())
    vault.close()
    assert len(seen) >= 3  # the key file was replaced again and again


def test_lockers_run_rotates_the_vault_key_on_its_timer(tmp_path: Path, assets: Path) -> None:
    bank = start_bank(tmp_path, "--simulate", extra="[templates]\nrotate_every_h = 0.0005\n")  # every 1.8 s
    try:
        key_file = tmp_path / "templates.db.key"
        first = key_file.read_bytes()
        wait_until(lambda: key_file.read_bytes() != first, 60, bank.log, interval=0.5)
        assert key_file.read_bytes() != first, bank.log()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # The log line follows the key file's replacement: wait for it, a busy machine may be between the two.
        wait_until(lambda: "vault key rotated" in bank.log(), 60, bank.log, interval=0.5)
    finally:
        bank.process.terminate()
        bank.process.wait(timeout=30)
