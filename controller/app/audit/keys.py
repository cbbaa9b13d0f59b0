"""The ``[audit]`` settings and the Ed25519 key pairs: the one that signs checkpoints, a fleet bank's.

The private key is written with mode 0600 from its first byte (``os.open`` with that mode, never a chmod
afterwards) and never overwritten. ``audit verify`` trusts the public key only when its fingerprint (SHA-256
over its raw bytes) is the one pinned in ``[audit] anchor_key_fingerprint``; unpinned, it trusts the file.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.app.config.loader import Config
from controller.domain.errors import ConfigError
from controller.service.anchors import Checkpoint

if TYPE_CHECKING:
    from controller.app.audit.anchor_file import Acknowledgement


HEAD_FILE = "anchor-head.json"
"""The last checkpoint written, kept beside the log (the data directory) while the anchors live elsewhere."""


@dataclass(frozen=True)
class AuditSettings:
    """``[audit]``: where checkpoints go, how often, who signs them and who witnesses them."""

    anchor_path: Path
    signing_key_path: Path
    public_key_path: Path
    checkpoint_every_events: int = 1000
    checkpoint_every_s: float = 60.0
    witness_url: str = ""
    witness_timeout_s: float = 5.0
    key_fingerprint: str = ""  # the pinned public key's fingerprint; "" for unpinned
    head_path: Path = Path("anchor-head.json")

    @classmethod
    def from_config(cls, config: Config) -> AuditSettings:
        """``[audit]`` as the schema validated it; paths default into the data directory."""
        section = config.site.audit
        signing = Path(section.signing_key_path or config.data_dir / "audit-signing.key")
        return cls(
            anchor_path=Path(section.anchor_path or config.data_dir / "anchors.jsonl"),
            signing_key_path=signing,
            public_key_path=Path(section.public_key_path or f"{signing}.pub"),
            checkpoint_every_events=section.checkpoint_every_events,
            checkpoint_every_s=section.checkpoint_every_s,
            witness_url=section.witness_url,
            witness_timeout_s=section.witness_timeout_s,
            key_fingerprint=section.anchor_key_fingerprint,
            head_path=config.data_dir / HEAD_FILE,
        )

    def has_key_files(self) -> bool:
        """Whether either half of the key pair exists."""
        return self.signing_key_path.exists() or self.public_key_path.exists()


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """A public key's fingerprint, as ``[audit] anchor_key_fingerprint`` pins it: SHA-256 over its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of its ``fingerprint``."""
    return fingerprint(public_key)[:16]


def pin_line(digest: str) -> str:
    """The configuration line that pins a key."""
    return f'anchor_key_fingerprint = "{digest}"'


def make_signing_key(settings: AuditSettings) -> str:
    """Write a new key pair where ``settings`` say; refuse to replace one. Returns the key id."""
    return make_anchor_keys(settings)[:16]


def make_anchor_keys(settings: AuditSettings) -> str:
    """Write the checkpoint-signing key pair where ``settings`` say; refuse to replace one. Its fingerprint."""
    return make_key_pair(settings.signing_key_path, settings.public_key_path, "checkpoints it signed")


def make_key_pair(private_path: Path, public_path: Path, signed: str = "what it signed") -> str:
    """Write a new Ed25519 key pair (private key 0600 from its first byte); refuse to replace one. Its fingerprint.

    ``signed`` names what would stop verifying if a key were replaced (in the refusal).
    """
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for path in (private_path, public_path):
        if path.exists():
            raise ConfigError(f"{path} already exists: {signed} would no longer verify (not replaced)")
    _write_new(private_path, pem, 0o600)
    _write_new(public_path, public_pem(private.public_key()), 0o644)
    return fingerprint(private.public_key())


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), as key files and the centre's enrolment keep it."""
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def load_signer(settings: AuditSettings) -> Ed25519PrivateKey:
    """The private key; a clear error when it is missing or not an Ed25519 PEM key."""
    return load_private_key(settings.signing_key_path)


def load_verifier(settings: AuditSettings) -> Ed25519PublicKey:
    """The public key that checkpoints must verify against."""
    return load_public_key(settings.public_key_path)


def load_private_key(path: Path, kind: str = "audit", command: str = "lockers keys signing") -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; a clear error naming ``command`` when it is missing."""
    key = _load(path, private=True, kind=kind, command=command)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def load_public_key(path: Path, kind: str = "audit", command: str = "lockers keys signing") -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file."""
    key = _load(path, private=False, kind=kind, command=command)
    assert isinstance(key, Ed25519PublicKey)
    return key


def parse_public_key(pem: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes (``where`` names their source in the error)."""
    return _parse(pem, where, private=False, kind="public key")  # type: ignore[no-any-return]


def _load(path: Path, *, private: bool, kind: str, command: str) -> Any:
    what = f"{kind} {'signing key' if private else 'public key'}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no {what} at {path}: run `{command}`") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None
    return _parse(data, str(path), private=private, kind=what.removeprefix(f"{kind} "))


def _parse(data: bytes, where: str, *, private: bool, kind: str) -> Any:
    try:
        key = serialization.load_pem_private_key(data, None) if private else serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where} is not a PEM {kind}: {exc}") from None
    wanted = Ed25519PrivateKey if private else Ed25519PublicKey
    if not isinstance(key, wanted):
        raise ConfigError(f"{where} is not an Ed25519 {kind}")
    return key


class Signed(Protocol):
    """A signed line of the anchor file: a checkpoint or an acknowledgement."""

    @property
    def key_id(self) -> str:
        """The signer's key id."""
        ...

    @property
    def signature(self) -> str:
        """Base64 Ed25519 over ``body``."""
        ...

    def body(self) -> bytes:
        """The exact bytes that are signed."""
        ...


S = TypeVar("S", Checkpoint, "Acknowledgement")


def sign_bytes(data: bytes, signer: Ed25519PrivateKey) -> str:
    """Base64 Ed25519 signature of ``data``."""
    return base64.b64encode(signer.sign(data)).decode()


def verifies(data: bytes, signature: str, verifier: Ed25519PublicKey) -> bool:
    """Whether ``signature`` (base64) is ``verifier``'s holder's signature of ``data``."""
    try:
        verifier.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign(checkpoint: S, signer: Ed25519PrivateKey) -> S:
    """The checkpoint (or acknowledgement) with its key id and signature."""
    named = replace(checkpoint, key_id=key_id(signer.public_key()))
    return replace(named, signature=sign_bytes(named.body(), signer))


def is_authentic(checkpoint: Signed, verifier: Ed25519PublicKey) -> bool:
    """Whether ``checkpoint`` was signed by the holder of ``verifier``'s private key, unchanged since."""
    return verifies(checkpoint.body(), checkpoint.signature, verifier) and checkpoint.key_id == key_id(verifier)
