"""Ports: what the core needs from the outside world, as Protocols.

Each port has a real adapter and a fake that pass the same contract tests:

========== ====================================== ==========================================
port       real adapter                           fake
========== ====================================== ==========================================
EventStore ``storage.event_store.SqlEventStore``  ``storage.memory.InMemoryEventStore``
LockDriver ``plc.driver.ModbusLockDriver``        ``plc.fake.FakeLockDriver``
Identifier ``recognition.runtime.worker``                 ``recognition.fakes.ScriptedIdentifier``
Clock      ``SystemClock``                        ``FixedClock``
========== ====================================== ==========================================
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NewType, Protocol, TypeVar, runtime_checkable

from controller.domain.chain import RawRecord as RawRecord  # the row ``read_raw`` yields, re-exported
from controller.domain.events import Event
from controller.domain.evidence import EnrolmentLiveness, Evidence

CompartmentId = NewType("CompartmentId", str)
SubjectId = NewType("SubjectId", str)


class Clock(Protocol):
    """Source of UTC wall time; injected so that decisions are reproducible."""

    def now(self) -> datetime:
        """The current UTC time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that moves only when told to: for tests and simulated scenarios."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        """The simulated current time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move the simulated time forward."""
        self.current += timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the log holds it: its global position and its link in the hash chain."""

    position: int
    event: Event
    event_hash: str
    previous_hash: str


class EventStore(Protocol):
    """Append-only, hash-chained event log with optimistic concurrency per compartment."""

    def append(self, compartment_id: str, expected_version: int, events: Sequence[Event]) -> list[StoredEvent]:
        """Append atomically; raise ``ConcurrencyError`` when the stream is not at ``expected_version``."""
        ...

    def read_stream(self, compartment_id: str) -> list[Event]:
        """Every event of one compartment, in version order."""
        ...

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Every event after global position ``after``, in position order."""
        ...

    def read_raw(self, after: int = 0) -> Iterator[RawRecord]:
        """Every row as stored, undecoded, in position order (for audits)."""
        ...

    def stream_ids(self) -> list[str]:
        """The ids of every compartment that has events."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LockDriver(Protocol):
    """A lock board: one relay and one door sensor per compartment (compartments are 1-based ints).

    ``unlock`` raises ``UnlockNotSent`` when no pulse reached the board and ``UnlockOutcomeUnknown``
    when it may have; it never retries a write. ``read_doors`` raises ``BoardUnreachable``.
    """

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        """Send one unlock pulse."""
        ...

    async def read_doors(self) -> dict[int, bool]:
        """Every compartment's door: True when open."""
        ...

    async def all_relays_off(self) -> None:
        """De-energise every relay (at boot and at shutdown)."""
        ...


class TemplateVault(Protocol):
    """Where biometric templates live, outside the log; the core only ever destroys them."""

    def destroy(self, template_ref: str) -> None:
        """Crypto-shred a template (its key and ciphertext); unknown refs are ignored."""
        ...


@runtime_checkable
class PinVault(Protocol):
    """Where deposits' one-time PINs are kept as salted memory-hard hashes (shredded by ``destroy``)."""

    def put_pin(self, pin: str) -> str:
        """Hash and store a PIN; return the reference the log may record."""
        ...

    def match_pin(self, pin: str, refs: Sequence[str]) -> str | None:
        """The reference among ``refs`` whose PIN this is (every candidate compared, in constant time)."""
        ...


EmbeddingT = TypeVar("EmbeddingT")


class TemplateStore(TemplateVault, Protocol[EmbeddingT]):
    """The whole vault as recognition and the shell use it: put, get and destroy templates.

    Generic in the embedding type so that the core needs no array library; recognition binds it
    (``recognition.runtime.station.TemplateVault = TemplateStore[Embedding]``) and mypy checks the adapters.
    """

    def put(self, embedding: EmbeddingT, model_version: str) -> str:
        """Encrypt and store a template; return its reference."""
        ...

    def get(self, ref: str) -> EmbeddingT:
        """Decrypt a template; an unknown or destroyed reference is an error."""
        ...


@dataclass(frozen=True, slots=True)
class DoorChanged:
    """Observation from sensor polling: a debounced door change."""

    compartment: int
    is_open: bool


@dataclass(frozen=True, slots=True)
class BoardFaulted:
    """Observation from sensor polling: a board stopped answering."""

    board: str
    compartments: tuple[int, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class BoardRecovered:
    """Observation from sensor polling: a faulted board answers again."""

    board: str
    compartments: tuple[int, ...]


SensorObservation = DoorChanged | BoardFaulted | BoardRecovered


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """Observation from the recognition worker: the best match among occupied compartments.

    ``compartment_id`` is None when no template is close enough (an unknown face). Recognition owns the
    decision, made once: ``accepted`` when threshold, margin, k-of-n agreement and liveness all hold;
    ``rejected`` when the attempt has failed (its frame window filled without agreement, or the liveness
    checks judged an attack); neither while the attempt is still open. Never both.
    """

    compartment_id: str | None
    accepted: bool
    evidence: Evidence
    rejected: bool = False


class Enrolled(Protocol):
    """A depositor's template, stored in the vault: where it is and which model made it."""

    @property
    def template_ref(self) -> str:
        """The vault reference of the encrypted template."""
        ...

    @property
    def model_version(self) -> str:
        """The model that computed the template."""
        ...

    @property
    def liveness(self) -> EnrolmentLiveness:
        """The liveness verdict of the enrolment frames."""
        ...


class Enroller(Protocol):
    """Enrols the depositor in front of the camera: their template into the vault, and where it went.

    A deposit flows route -> bank -> enroller -> vault -> events; raises ``RecognitionError`` (no usable
    face in time, another enrolment in progress) with nothing stored.
    """

    async def enrol(self) -> Enrolled:
        """Capture the depositor's face, store the template, and say where it is."""
        ...


class TemplateGallery(Protocol):
    """The identification side of recognition: which compartments' templates a face is compared with."""

    def add(self, compartment_id: str, subject_id: str, template_ref: str) -> None:
        """Compare future faces with this compartment's template (loaded from the vault)."""
        ...

    def remove(self, compartment_id: str) -> None:
        """Stop comparing faces with this compartment's template."""
        ...
