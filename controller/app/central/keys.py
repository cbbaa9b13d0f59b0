"""A fleet bank's Ed25519 key pair (it signs every batch and heartbeat), and the centre's (it signs commands).

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
CENTRE_KEY_FILE = "central.key"  # the centre's own pair: it signs the commands it sends
MAKE_COMMAND = "lockers keys fleet"


def fleet_key_paths(config: Config) -> tuple[Path, Path]:
    """(private key, public key) of the bank's fleet identity in its data directory."""
    private = config.data_dir / PRIVATE_KEY_FILE
    return private, Path(f"{private}.pub")


def make_fleet_keys(config: Config) -> tuple[str, Path, Path]:
    """Make the bank's fleet key pair (refuses to replace one): (key id, private path, public path)."""
    private, public = fleet_key_paths(config)
    return make_key_pair(private, public, "batches the centre holds from this bank")[:16], private, public


def load_fleet_signer(config: Config) -> Ed25519PrivateKey:
    """The bank's fleet signing key; a clear error naming ``lockers keys fleet`` when it is missing."""
    return load_private_key(fleet_key_paths(config)[0], kind="fleet", command=MAKE_COMMAND)


def centre_signer(config: Config) -> tuple[Ed25519PrivateKey, Path]:
    """The centre's command-signing key in its data directory, made on first use; and its public key's path."""
    private = config.data_dir / CENTRE_KEY_FILE
    public = Path(f"{private}.pub")
    if not private.exists():
        make_key_pair(private, public, "commands it signed")
    return load_private_key(private, kind="centre", command="lockers central run"), public
