"""A fleet bank's Ed25519 key pair, in its data directory: it signs every batch and heartbeat it sends.

The centre pins the public key when an operator enrols the bank (``lockers central banks add``). The pair is
made with the audit's key code (``controller.app.audit.keys``): private key 0600 from its first byte, never
replaced.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import load_private_key, make_key_pair
from controller.app.config.loader import Config

PRIVATE_KEY_FILE = "fleet.key"
MAKE_COMMAND = "lockers keys fleet"


def fleet_key_paths(config: Config) -> tuple[Path, Path]:
    """(private key, public key) of the bank's fleet identity in its data directory."""
    private = config.data_dir / PRIVATE_KEY_FILE
    return private, Path(f"{private}.pub")


def make_fleet_keys(config: Config) -> tuple[str, Path, Path]:
    """Make the bank's fleet key pair (refuses to replace one): (key id, private path, public path)."""
    private, public = fleet_key_paths(config)
    return make_key_pair(private, public, "batches the centre holds from this bank"), private, public


def load_fleet_signer(config: Config) -> Ed25519PrivateKey:
    """The bank's fleet signing key; a clear error naming ``lockers keys fleet`` when it is missing."""
    return load_private_key(fleet_key_paths(config)[0], kind="fleet", command=MAKE_COMMAND)
