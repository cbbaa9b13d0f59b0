"""Kills during a checkpoint and during a vault key rotation (``LOCKERS_CRASH_AT``), then the restart.

- ``mid_checkpoint``: ``lockers audit anchor`` dies with half a checkpoint line on disk. The log and the
  anchor file still verify (the torn line is named, the checkpoints before it stand); the next checkpoint
  ends the torn line and stands on a line of its own.
- ``rotation_next_key_written`` / ``rotation_switched``: ``lockers keys rotate`` dies before or after the
  vault switched to the new key. Either the old key or the new one is in force, never none: every template
  opens, the next rotation runs, and the log verifies.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from controller.service.crash_points import CRASH_ENV, MID_CHECKPOINT, ROTATION_NEXT_KEY_WRITTEN, ROTATION_SWITCHED
from storage.templates import SqliteTemplateStore, generate_master_key, parse_master_key
from storage.vault_keys import key_file_for, pending_file_for, read_key
from tests.support.cli import quiet_lockers

FACES = 3


def face(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return vector / np.linalg.norm(vector)


def bank(tmp_path: Path, master_key: str = "") -> Path:
    """A bank's configuration over a log of 60 simulated commands; its data directory is ``tmp_path/data``."""
    config = tmp_path / "lockers.toml"
    templates = f'\n[templates]\nmaster_key = "{master_key}"\n' if master_key else ""
    config.write_text(f'[bank]\ndata_dir = "{tmp_path / "data"}"\n{templates}')
    made = quiet_lockers("sim", "history", "--steps", "60", "--config", str(config))
    assert made.returncode == 0, made.stderr
    return config


def lockers_killed_at(point: str, *args: str) -> subprocess.CompletedProcess[str]:
    killed = quiet_lockers(*args, env={CRASH_ENV: point})
    assert killed.returncode == -signal.SIGKILL, f"not killed at {point}: {killed.returncode} {killed.stderr}"
    return killed


def verified(config: Path) -> dict[str, object]:
    result = quiet_lockers("audit", "verify", "--config", str(config), "--json")
    report: dict[str, object] = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True, report
    return report


def test_a_kill_mid_checkpoint_leaves_a_torn_line_that_verify_names_and_the_next_checkpoint_ends(
    tmp_path: Path,
) -> None:
    config = bank(tmp_path)
    anchors = tmp_path / "data" / "anchors.jsonl"
    assert quiet_lockers("keys", "signing", "--config", str(config)).returncode == 0
    first = quiet_lockers("audit", "anchor", "--config", str(config), "--json")
    assert first.returncode == 0, first.stderr
    assert quiet_lockers("sim", "history", "--steps", "20", "--seed", "1", "--config", str(config)).returncode == 0

    lockers_killed_at(MID_CHECKPOINT, "audit", "anchor", "--config", str(config))
    text = anchors.read_text()
    assert not text.endswith("\n") and len(text.splitlines()) == 2, text  # the second line is torn
    report = verified(config)
    named = ("path", "checkpoints", "torn_lines", "anchored_position", "anchored_at")
    assert {key: report["anchors"].get(key) for key in named} == {
        "path": str(anchors), "checkpoints": 1, "torn_lines": [2],
        "anchored_position": json.loads(first.stdout)["position"], "anchored_at": json.loads(first.stdout)["time"],
    }

    again = quiet_lockers("audit", "anchor", "--config", str(config), "--json")  # the restart's checkpoint
    assert again.returncode == 0, again.stderr
    assert anchors.read_text().endswith("\n") and len(anchors.read_text().splitlines()) == 3
    anchored = verified(config)["anchors"]
    assert isinstance(anchored, dict)
    assert anchored["anchored_position"] == json.loads(again.stdout)["position"] > json.loads(first.stdout)["position"]
    assert anchored["torn_lines"] == [2] and anchored["checkpoints"] == 2
    human = quiet_lockers("audit", "verify", "--config", str(config))
    assert human.returncode == 0 and "anchor file line 2 is a checkpoint cut short by a crash" in human.stdout


def test_a_forged_line_is_still_a_bad_signature_not_a_torn_one(tmp_path: Path) -> None:
    config = bank(tmp_path)
    assert quiet_lockers("keys", "signing", "--config", str(config)).returncode == 0
    assert quiet_lockers("audit", "anchor", "--config", str(config)).returncode == 0
    anchors = tmp_path / "data" / "anchors.jsonl"
    anchors.write_text(anchors.read_text() + '{"format": "lockers-checkpoint/1"} and more\n')
    result = quiet_lockers("audit", "verify", "--config", str(config), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 1 and [p["kind"] for p in report["problems"]] == ["bad_signature"]


@pytest.mark.parametrize("point", [ROTATION_NEXT_KEY_WRITTEN, ROTATION_SWITCHED])
def test_a_kill_mid_rotation_leaves_the_old_or_the_new_key_in_force(point: str, tmp_path: Path) -> None:
    encoded = generate_master_key()
    master = parse_master_key(encoded)
    config = bank(tmp_path, encoded)
    vault_path = tmp_path / "data" / "templates.db"
    vault = SqliteTemplateStore(vault_path, master)
    refs = [vault.put(face(seed), "m") for seed in range(FACES)]
    vault.close()
    key_file = key_file_for(vault_path)
    old_key = read_key(key_file, master)

    lockers_killed_at(point, "keys", "rotate", "--config", str(config))
    new_key = read_key(pending_file_for(key_file), master)
    assert new_key is not None and new_key != old_key and read_key(key_file, master) == old_key

    reopened = SqliteTemplateStore(vault_path, master)  # what the next start does
    try:
        in_force = old_key if point == ROTATION_NEXT_KEY_WRITTEN else new_key
        assert read_key(key_file, master) == in_force  # the key file holds the key the vault is sealed under
        for seed, ref in enumerate(refs):
            np.testing.assert_array_equal(reopened.get(ref), face(seed))
    finally:
        reopened.close()
    rotated = quiet_lockers("keys", "rotate", "--config", str(config), "--json")
    assert rotated.returncode == 0 and json.loads(rotated.stdout)["templates"] == FACES, rotated.stderr
    assert not pending_file_for(key_file).exists()
    verified(config)
