"""Events to store and an independent check of the hash chain (the audit module is not used here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from controller.domain.chain import GENESIS_HASH, content_hash
from controller.domain.events import (
    AlarmCleared,
    AlarmRaised,
    BoardFaultResolved,
    DepositStarted,
    DoorClosed,
    DoorOpened,
    Event,
    FaceErased,
    FaceSeenTooLate,
    HelpAnswered,
    HelpRequested,
    IdentityConfirmed,
    IdentityRejected,
    ItemDeposited,
    ItemRetrieved,
    MaintenanceUnlocked,
    PinConfirmed,
    PinVerified,
    UnlockPulseSent,
    VerificationStarted,
)
from controller.domain.evidence import Evidence
from controller.ports import RawRecord

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def flow(cid: str, start: int, count: int) -> list[Event]:
    """``count`` events of varied types for compartment ``cid``, versions ``start + 1`` onwards."""
    builders = [
        lambda v, t: DepositStarted(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            subject_id=f"s-{v}",
            template_ref=f"t-{v}",
            model_version="facenet-vggface2",
            unlock_id=f"u-{v}",
            pulse_ms=500,
            correlation_id=f"c-{v}",
        ),
        lambda v, t: UnlockPulseSent(compartment_id=cid, version=v, occurred_at=t, unlock_id=f"u-{v}"),
        lambda v, t: DoorOpened(compartment_id=cid, version=v, occurred_at=t),
        lambda v, t: DoorClosed(compartment_id=cid, version=v, occurred_at=t),
        lambda v, t: ItemDeposited(compartment_id=cid, version=v, occurred_at=t),
        lambda v, t: VerificationStarted(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            evidence=Evidence(subject_id="s-1", distance=0.41, threshold=0.6, model_version="m1"),
        ),
        lambda v, t: IdentityConfirmed(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            evidence=Evidence(
                subject_id="s-1",
                distance=0.3125,
                threshold=0.6,
                margin=0.1,
                frames_agreeing=3,
                frames_considered=5,
                model_version="m1",
            ),
            unlock_id=f"u-{v}",
            pulse_ms=500,
        ),
        lambda v, t: IdentityRejected(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            reason="no match — ünïcode",
            evidence=Evidence(distance=None, threshold=0.6, model_version="m1"),
            failed_attempts=2,
        ),
        lambda v, t: AlarmRaised(compartment_id=cid, version=v, occurred_at=t, reason="forced_open", detail="d"),
        lambda v, t: AlarmCleared(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            operator_id="op-7",
            note="ok",
            resume_state="free",
            released_template_ref="",
        ),
        lambda v, t: ItemRetrieved(compartment_id=cid, version=v, occurred_at=t, template_ref=f"t-{v}"),
        lambda v, t: MaintenanceUnlocked(
            compartment_id=cid, version=v, occurred_at=t, operator_id="op-2", unlock_id=f"m-{v}", pulse_ms=400, note=""
        ),
        lambda v, t: BoardFaultResolved(
            compartment_id=cid, version=v, occurred_at=t, detail="board answers", resume_state="occupied"
        ),
        lambda v, t: PinConfirmed(compartment_id=cid, version=v, occurred_at=t, unlock_id=f"p-{v}", pulse_ms=500,
                                  kiosk="10.0.0.7"),
        lambda v, t: PinVerified(compartment_id=cid, version=v, occurred_at=t, kiosk="10.0.0.7"),
        lambda v, t: FaceErased(compartment_id=cid, version=v, occurred_at=t, template_ref=f"t-{v}",
                                requested_by="operator", proof="operator", operator_id="op-3"),
        lambda v, t: FaceSeenTooLate(
            compartment_id=cid,
            version=v,
            occurred_at=t,
            recorded_at=t + timedelta(seconds=46),  # a face held back by a full disk: seen, expired, acted on never
            evidence=Evidence(subject_id="s-1", distance=0.3, threshold=0.6, model_version="m1"),
            ttl_s=5.0,
        ),
        lambda v, t: HelpRequested(compartment_id=cid, version=v, occurred_at=t, help_id=f"h-{v}", kiosk="kiosk-1",
                                   screen="welcome"),
        lambda v, t: HelpAnswered(compartment_id=cid, version=v, occurred_at=t, help_id=f"h-{v - 1}",
                                  operator_id="op-4"),
    ]
    return [
        builders[(start + i) % len(builders)](start + i + 1, T0 + timedelta(seconds=start + i, microseconds=i))
        for i in range(count)
    ]


def first_bad_position(records: Iterable[RawRecord]) -> int | None:
    """Recompute the chain over ``records``; the first position whose link or hash is wrong, else None."""
    previous = GENESIS_HASH
    for record in records:
        if record.previous_hash != previous or record.event_hash != content_hash(previous, record):
            return record.position
        previous = record.event_hash
    return None
