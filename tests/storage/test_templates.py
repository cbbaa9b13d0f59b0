"""Template store: real SQLite files, real AES-GCM."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from controller.ports import TemplateVault
from storage.templates import (
    MasterKeyError,
    SqliteTemplateStore,
    TemplateCorrupt,
    TemplateError,
    TemplateNotFound,
    VaultUnavailable,
    generate_master_key,
    parse_master_key,
)
from tests.support.full_disk import FullDisk, small_tmpfs


@pytest.fixture
def key() -> bytes:
    return parse_master_key(generate_master_key())


@pytest.fixture
def store(tmp_path: Path, key: bytes) -> SqliteTemplateStore:
    return SqliteTemplateStore(tmp_path / "templates.db", key)


def vector(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def test_round_trip_and_metadata(store: SqliteTemplateStore) -> None:
    ref = store.put(vector(), "dlib-resnet@1+abc")
    np.testing.assert_array_equal(store.get(ref), vector())
    assert store.get(ref).dtype == np.float32
    info = store.info(ref)
    assert (info.model_version, info.dimensions) == ("dlib-resnet@1+abc", 128)
    assert store.refs() == [ref]


def test_refs_are_random_and_opaque(store: SqliteTemplateStore) -> None:
    refs = {store.put(vector(), "m") for _ in range(5)}
    assert len(refs) == 5
    assert all(len(ref) >= 24 for ref in refs)


def test_through_the_vault_port_destroy_shreds_one_template_and_ignores_unknown_refs(
    store: SqliteTemplateStore,
) -> None:
    vault: TemplateVault = store
    keep, gone = store.put(vector(1), "m"), store.put(vector(2), "m")
    vault.destroy("unknown")
    assert sorted(store.refs()) == sorted([keep, gone])
    vault.destroy(gone)
    assert store.refs() == [keep]
    with pytest.raises(TemplateNotFound):
        store.get(gone)
    np.testing.assert_array_equal(store.get(keep), vector(1))


def test_no_plaintext_on_disk(tmp_path: Path, key: bytes) -> None:
    store = SqliteTemplateStore(tmp_path / "t.db", key)
    store.put(vector(3), "m")
    store.close()
    assert vector(3).tobytes()[:16] not in (tmp_path / "t.db").read_bytes()


def test_destroy_is_durable_and_idempotent(tmp_path: Path, key: bytes) -> None:
    store = SqliteTemplateStore(tmp_path / "t.db", key)
    keep, gone = store.put(vector(1), "m"), store.put(vector(2), "m")
    with sqlite3.connect(tmp_path / "t.db") as db:
        sealed = db.execute("SELECT sealed_key FROM templates WHERE ref = ?", (gone,)).fetchone()[0]
    store.destroy(gone)
    store.destroy(gone)
    store.close()
    reopened = SqliteTemplateStore(tmp_path / "t.db", key)
    assert reopened.refs() == [keep]
    with pytest.raises(TemplateNotFound):
        reopened.get(gone)
    reopened.close()
    assert sealed not in (tmp_path / "t.db").read_bytes()


def test_wrong_master_key_is_refused(tmp_path: Path, key: bytes) -> None:
    SqliteTemplateStore(tmp_path / "t.db", key).close()
    with pytest.raises(MasterKeyError, match="different master key"):
        SqliteTemplateStore(tmp_path / "t.db", parse_master_key(generate_master_key()))


@pytest.mark.parametrize("column", ["ciphertext", "sealed_key", "nonce"])
def test_tampered_row_is_detected(tmp_path: Path, key: bytes, column: str) -> None:
    store = SqliteTemplateStore(tmp_path / "t.db", key)
    ref = store.put(vector(), "m")
    with sqlite3.connect(tmp_path / "t.db") as db:
        blob = bytearray(db.execute(f"SELECT {column} FROM templates").fetchone()[0])
        blob[0] ^= 0x01
        db.execute(f"UPDATE templates SET {column} = ?", (bytes(blob),))
    with pytest.raises(TemplateCorrupt, match="tampered"):
        store.get(ref)


def test_row_moved_under_another_ref_is_detected(tmp_path: Path, key: bytes) -> None:
    store = SqliteTemplateStore(tmp_path / "t.db", key)
    victim, attacker = store.put(vector(1), "m"), store.put(vector(2), "m")
    with sqlite3.connect(tmp_path / "t.db") as db:
        row = db.execute("SELECT sealed_key, key_nonce, nonce, ciphertext FROM templates WHERE ref = ?",
                         (attacker,)).fetchone()
        db.execute("UPDATE templates SET sealed_key = ?, key_nonce = ?, nonce = ?, ciphertext = ? "
                   "WHERE ref = ?", (*row, victim))
    with pytest.raises(TemplateCorrupt):
        store.get(victim)


@pytest.mark.parametrize("encoded", ["not base64!", "c2hvcnQ=", ""])
def test_malformed_master_key(encoded: str) -> None:
    with pytest.raises(MasterKeyError):
        parse_master_key(encoded)


@pytest.mark.parametrize("bad", [np.zeros((2, 2), np.float32), np.array([np.nan], np.float32),
                                 np.zeros(0, np.float32), np.zeros(4, np.int32)])
def test_bad_template_is_refused(store: SqliteTemplateStore, bad: np.ndarray) -> None:
    with pytest.raises(TemplateError):
        store.put(bad, "m")


def test_a_full_disk_is_a_vault_unavailable_and_a_destroy_succeeds_once_space_returns(
    tmp_path: Path, key: bytes
) -> None:
    with small_tmpfs(tmp_path / "disk", "4m") as disk:
        vault = SqliteTemplateStore(disk / "templates.db", key)
        try:
            refs = [vault.put(vector(seed), "m@1") for seed in range(3)]
            full = FullDisk(disk)
            time.sleep(0.5)
            try:
                with pytest.raises(VaultUnavailable, match="database or disk is full"):  # not "cannot rollback"
                    for seed in range(3, 400):  # until the vault needs a page the disk no longer has
                        vault.put(vector(seed), "m@1")
            finally:
                full.free()
            vault.destroy(refs[0])  # the connection is usable again: no transaction was left open
            assert refs[0] not in vault.refs() and refs[1] in vault.refs()
        finally:
            vault.close()
