"""Vault key rotation: shredding that outlives backups, crash safety, key files 0600 from the first byte."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from recognition.gallery import Gallery
from storage import templates as templates_module
from storage.templates import (
    SqliteTemplateStore,
    TemplateNotFound,
    VaultKeyMismatch,
    generate_master_key,
    parse_master_key,
)
from storage.vault_keys import key_file_for, pending_file_for, read_key, wrap, write_secret_file


def face(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def master() -> bytes:
    return parse_master_key(generate_master_key())


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    return tmp_path / "live" / "templates.db"


@pytest.fixture
def vault(vault_path: Path, master: bytes) -> Iterator[SqliteTemplateStore]:
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    yield store
    store.close()


def sealed_row(db_path: Path, ref: str) -> tuple[str, int, bytes, bytes, bytes, bytes]:
    with sqlite3.connect(db_path) as db:
        row = db.execute("SELECT model_version, dimensions, sealed_key, key_nonce, nonce, ciphertext "
                         "FROM templates WHERE ref = ?", (ref,)).fetchone()
    assert row is not None, f"{ref} is not in {db_path}"
    return row  # type: ignore[no-any-return]


def open_with(key: bytes, ref: str, row: tuple[str, int, bytes, bytes, bytes, bytes]) -> np.ndarray:
    """Decrypt a stored row by hand with ``key`` as the key sealing its data key (what an attacker would do)."""
    model_version, dimensions, sealed_key, key_nonce, nonce, ciphertext = row
    aad = f"{ref}\x00{model_version}\x00{dimensions}".encode()
    data_key = AESGCM(key).decrypt(key_nonce, sealed_key, aad)
    return np.frombuffer(AESGCM(data_key).decrypt(nonce, ciphertext, aad), dtype="<f4")


def test_a_released_template_cannot_be_opened_from_a_backup_after_rotation(
    vault: SqliteTemplateStore, vault_path: Path, master: bytes, tmp_path: Path
) -> None:
    released, kept, other = vault.put(face(1), "m"), vault.put(face(2), "m"), vault.put(face(3), "m")
    backup = tmp_path / "backup"
    backup.mkdir()
    shutil.copy2(vault_path, backup / vault_path.name)
    shutil.copy2(vault.key_file, backup / vault.key_file.name)
    backed_up = sealed_row(backup / vault_path.name, released)
    key_before = read_key(vault.key_file, master)
    assert key_before is not None
    np.testing.assert_array_equal(open_with(key_before, released, backed_up), face(1))  # the attack, before

    vault.destroy(released)  # the owner took the item: the compartment is released
    assert vault.rotate() == 2  # the two live templates re-sealed

    keys_now = [read_key(vault.key_file, master), master]
    assert keys_now[0] is not None and keys_now[0] != key_before
    for key in keys_now:
        with pytest.raises(InvalidTag):
            open_with(key, released, backed_up)  # type: ignore[arg-type]
    # The limit the README names: the backup's own key file, with the unchanged configured master key, still
    # opens it; hence "keep key files out of vault backups".
    old_key = read_key(backup / vault.key_file.name, master)
    assert old_key is not None
    np.testing.assert_array_equal(open_with(old_key, released, backed_up), face(1))
    # The backup copy opened as a vault beside today's key file is refused as a whole.
    shutil.copy2(vault.key_file, backup / vault.key_file.name)
    with pytest.raises(VaultKeyMismatch, match="does not belong to this vault"):
        SqliteTemplateStore(backup / vault_path.name, master)
    # Live templates still open and still match their owner.
    gallery = Gallery(128)
    gallery.add("C2", vault.get(kept), "subject-2")
    gallery.add("C3", vault.get(other), "subject-3")
    found = gallery.search(face(2)).best
    assert found is not None and (found.compartment_id, found.subject_id) == ("C2", "subject-2")
    assert found.distance < 1e-3
    with pytest.raises(TemplateNotFound):
        vault.get(released)
    # The old sealed key bytes are not left in the live file (secure_delete zeroes freed cells).
    assert sealed_row(vault_path, kept)[2] not in (backup / vault_path.name).read_bytes()
    assert backed_up[2] not in vault_path.read_bytes()


def test_rotation_keeps_every_live_template_across_reopening(vault_path: Path, master: bytes) -> None:
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    refs = {store.put(face(i), "m"): i for i in range(5)}
    for _ in range(3):
        assert store.rotate() == 5
    store.close()
    reopened = SqliteTemplateStore(vault_path, master)
    for ref, seed in refs.items():
        np.testing.assert_array_equal(reopened.get(ref), face(seed))
    reopened.close()


def test_a_rotation_that_stops_before_committing_changes_nothing(
    vault: SqliteTemplateStore, vault_path: Path, master: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = vault.put(face(3), "m")
    key_file_before = vault.key_file.read_bytes()

    def crash(*_args: object) -> int:
        raise KeyboardInterrupt  # the process is stopped mid re-seal

    monkeypatch.setattr(SqliteTemplateStore, "_reseal", crash)
    with pytest.raises(KeyboardInterrupt):
        vault.rotate()
    monkeypatch.undo()
    assert vault.key_file.read_bytes() == key_file_before
    assert not pending_file_for(vault.key_file).exists()
    np.testing.assert_array_equal(vault.get(ref), face(3))


def test_a_rotation_that_stops_after_committing_is_finished_when_the_vault_reopens(
    vault_path: Path, master: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    ref = store.put(face(4), "m")

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # stopped between the commit and the rename of the new key file

    monkeypatch.setattr(templates_module, "install", crash)
    with pytest.raises(KeyboardInterrupt):
        store.rotate()
    monkeypatch.undo()
    store._db.close()  # the process died: nothing else runs
    assert pending_file_for(store.key_file).exists()
    reopened = SqliteTemplateStore(vault_path, master)
    np.testing.assert_array_equal(reopened.get(ref), face(4))
    assert not pending_file_for(reopened.key_file).exists()
    reopened.close()


def test_a_stale_pending_key_from_an_earlier_crash_is_ignored(vault_path: Path, master: bytes) -> None:
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    ref = store.put(face(5), "m")
    store.close()
    write_secret_file(pending_file_for(key_file_for(vault_path)), wrap(master, os.urandom(32)))
    reopened = SqliteTemplateStore(vault_path, master)
    np.testing.assert_array_equal(reopened.get(ref), face(5))
    assert reopened.rotate() == 1  # and the next rotation replaces the stale file
    np.testing.assert_array_equal(reopened.get(ref), face(5))
    reopened.close()


def test_a_rotation_by_another_process_is_followed(vault: SqliteTemplateStore, vault_path: Path, master: bytes) -> None:
    ref = vault.put(face(6), "m")
    other = SqliteTemplateStore(vault_path, master)  # `lockers keys rotate` beside the running controller
    other.rotate()
    other.close()
    np.testing.assert_array_equal(vault.get(ref), face(6))
    second = vault.put(face(7), "m")
    np.testing.assert_array_equal(SqliteTemplateStore(vault_path, master).get(second), face(7))


def test_a_vault_sealed_by_the_master_key_itself_moves_onto_a_vault_key(vault_path: Path, master: bytes) -> None:
    vault_path.parent.mkdir()
    SqliteTemplateStore(vault_path, master).close()
    data_key, nonce, key_nonce = os.urandom(32), os.urandom(12), os.urandom(12)
    aad = b"old\x00m\x00128"
    with sqlite3.connect(vault_path) as db:  # a row as written before vault keys existed
        db.execute("DELETE FROM meta WHERE name = 'vault_key_id'")
        db.execute("INSERT INTO templates VALUES ('old', 'm', 128, '2026-01-01', ?, ?, ?, ?)",
                   (AESGCM(master).encrypt(key_nonce, data_key, aad), key_nonce, nonce,
                    AESGCM(data_key).encrypt(nonce, face(8).astype("<f4").tobytes(), aad)))
    key_file_for(vault_path).unlink()
    store = SqliteTemplateStore(vault_path, master)
    np.testing.assert_array_equal(store.get("old"), face(8))
    with pytest.raises(InvalidTag):
        open_with(master, "old", sealed_row(vault_path, "old"))
    store.close()


@pytest.fixture
def umask_zero() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_key_files_are_0600_from_the_first_byte(
    vault_path: Path, master: bytes, umask_zero: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With umask 0 a file created wide and tightened later would be world-readable in between: forbid chmod.
    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"chmod called on {args}: key files must be created 0600, not tightened later")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    assert stat.S_IMODE(store.key_file.stat().st_mode) == 0o600
    store.rotate()
    assert stat.S_IMODE(store.key_file.stat().st_mode) == 0o600
    store.close()
    secret = vault_path.parent / "master.key"
    write_secret_file(secret, b"x")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):  # never written over an existing file
        write_secret_file(secret, b"y")


@pytest.mark.parametrize("damage", ["garbage", "other master", "missing"])
def test_a_damaged_or_missing_vault_key_is_one_clear_error(vault_path: Path, master: bytes, damage: str) -> None:
    vault_path.parent.mkdir()
    store = SqliteTemplateStore(vault_path, master)
    store.put(face(10), "m")
    store.close()
    key_file = key_file_for(vault_path)
    key_file.unlink()
    if damage == "garbage":
        write_secret_file(key_file, b"not a key")
    elif damage == "other master":
        write_secret_file(key_file, wrap(os.urandom(32), os.urandom(32)))
    with pytest.raises(VaultKeyMismatch, match=str(key_file)):
        SqliteTemplateStore(vault_path, master)
