"""The vault key: it seals every template's data key, lives in a file beside the vault, wrapped by the master key.

Why a key between the master key and the templates: the master key comes from configuration (or
``LOCKERS_MASTER_KEY``), which the program cannot change, so a copy of the vault file taken before a
release would stay openable with it for ever. The vault key lives outside the vault file and ``rotate``
replaces it: the data keys in an old copy of the vault were sealed under a key that no longer exists.

File layout: ``MAGIC || nonce || AES-256-GCM(master, vault key)``. Key files are created with mode 0600
from the first byte (``os.open`` with ``O_EXCL``; never written wider and tightened afterwards) and
replace each other by an atomic rename, so a crash leaves either the old key or the new one, never neither.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.domain.errors import LockerError

MAGIC = b"LOCKERS-VAULT-KEY-1\n"
NONCE_BYTES = 12
_WRAP_LABEL = b"lockers-template-store/vault-key/v1"
_ID_LABEL = b"lockers-template-store/vault-key-id/v1"


class VaultKeyError(LockerError):
    """A vault key file is missing, damaged, or was wrapped with another master key."""


def key_file_for(vault_path: Path) -> Path:
    """Where the vault key of the vault at ``vault_path`` lives (``templates.db`` -> ``templates.db.key``)."""
    return vault_path.with_name(vault_path.name + ".key")


def pending_file_for(key_file: Path) -> Path:
    """Where a rotation writes the next key before the vault switches to it."""
    return key_file.with_name(key_file.name + ".next")


def write_secret_file(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only from the first byte, write ``data`` and make it durable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def key_id(vault_key: bytes) -> bytes:
    """A non-secret fingerprint of a vault key, kept in the vault to pair it with its key file."""
    return hmac.new(vault_key, _ID_LABEL, hashlib.sha256).digest()


def wrap(master_key: bytes, vault_key: bytes) -> bytes:
    """The key file's content for ``vault_key`` under ``master_key``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(master_key).encrypt(nonce, vault_key, _WRAP_LABEL)


def read_key(path: Path, master_key: bytes) -> bytes | None:
    """The vault key in ``path``; None when the file does not exist."""
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise VaultKeyError(f"cannot read the vault key {path}: {exc.strerror}") from exc
    if not blob.startswith(MAGIC):
        raise VaultKeyError(f"{path} is not a vault key file")
    nonce, sealed = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES], blob[len(MAGIC) + NONCE_BYTES :]
    try:
        return AESGCM(master_key).decrypt(nonce, sealed, _WRAP_LABEL)
    except InvalidTag as exc:
        raise VaultKeyError(f"{path} was wrapped with another master key, or is damaged") from exc


def install(pending: Path, key_file: Path) -> None:
    """Make the pending key the vault key (atomic rename over the old file, which is then gone)."""
    try:
        os.replace(pending, key_file)
    except FileNotFoundError:
        return  # another process opening the vault installed it first
    _fsync_dir(key_file.parent)


def _fsync_dir(folder: Path) -> None:
    # A rename or a new file is durable only once its directory entry is.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
