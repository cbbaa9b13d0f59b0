"""The deposit lifecycle in the core: PIN unlocks, face-and-PIN, rental expiry, erasure; old rows still read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controller.domain import commands as c
from controller.domain import events as ev
from controller.domain.compartment import Compartment, Policy
from controller.domain.effects import DestroyTemplate, Unlock, effects_of
from controller.domain.errors import TransitionRejected
from controller.service.scheduler import Timeouts, TimeoutScheduler
from storage.serialization import EventSerializer
from tests.controller.domain.helpers import CID, Driven, confirm, deposit, door, sent, verify

T0 = datetime(2026, 1, 1, tzinfo=UTC).isoformat()


def with_pin(driven: Driven) -> Driven:
    start = c.StartDeposit(
        compartment_id=CID, subject_id="alice", template_ref="tpl-a", model_version="m@1", unlock_id="u-1",
        pin_ref="pin-a", consent_version="v1",
    )  # fmt: skip
    for command in (start, sent(), door(True), door(False)):
        driven.do(command)
    return driven


def pin(unlock_id: str = "u-2") -> c.ConfirmPin:
    return c.ConfirmPin(compartment_id=CID, unlock_id=unlock_id, kiosk="k1")


def test_a_pin_unlocks_for_retrieval_and_the_release_shreds_template_and_pin() -> None:
    d = with_pin(Driven())
    started = d.log[0]
    assert isinstance(started, ev.DepositStarted) and (started.pin_ref, started.consent_version) == ("pin-a", "v1")
    events = d.do(pin())
    assert [type(e).__name__ for e in events] == ["PinConfirmed"] and d.state == "open"
    assert effects_of(events) == [Unlock(CID, "u-2", 500)]
    d.do(sent("u-2"))
    d.do(door(True))
    released = d.do(door(False))
    assert d.state == "free" and d.compartment.pin_ref == ""
    assert effects_of(released) == [DestroyTemplate("tpl-a"), DestroyTemplate("pin-a")]
    assert Compartment.replay(CID, d.log).state == d.compartment.state


def test_a_pin_is_refused_where_there_is_none_or_the_site_opens_by_face_only() -> None:
    with pytest.raises(TransitionRejected, match="has no PIN"):
        occupied = Driven()
        for command in (deposit(), sent(), door(True), door(False)):
            occupied.do(command)
        occupied.do(pin())
    with pytest.raises(TransitionRejected, match="policy is face_only"):
        with_pin(Driven(Policy(retrieval="face_only"))).do(pin())
    with pytest.raises(TransitionRejected, match="only allowed in"):
        Driven().do(pin())


def test_face_and_pin_needs_the_pin_before_the_face_confirms() -> None:
    d = with_pin(Driven(Policy(retrieval="face_and_pin")))
    d.do(verify())
    with pytest.raises(TransitionRejected, match="PIN as well"):
        d.do(confirm())
    with pytest.raises(TransitionRejected, match="policy is face_and_pin"):
        d.do(pin())
    assert [type(e).__name__ for e in d.do(c.VerifyPin(compartment_id=CID))] == ["PinVerified"]
    assert [type(e).__name__ for e in d.do(confirm())] == ["IdentityConfirmed"] and d.state == "open"


def test_an_overstayed_deposit_raises_deposit_expired_once_and_only_for_its_own_deposit() -> None:
    d = with_pin(Driven())
    stale = c.ExpireRental(compartment_id=CID, deposit_version=d.compartment.deposit_version - 1)
    assert d.do(stale) == []
    events = d.do(c.ExpireRental(compartment_id=CID, deposit_version=d.compartment.deposit_version))
    assert [e.payload().get("reason") for e in events] == ["deposit_expired"] and d.state == "alarm"
    cleared = d.do(c.ClearAlarm(compartment_id=CID, operator_id="ops-1", note="removed the item", release=True))
    assert effects_of(cleared) == [DestroyTemplate("tpl-a"), DestroyTemplate("pin-a")] and d.state == "free"


def test_the_scheduler_arms_the_rental_from_the_deposit_and_again_after_a_restart() -> None:
    d = with_pin(Driven())
    scheduler = TimeoutScheduler(Timeouts(), rental_period_s=3600)
    scheduler.resume([d.compartment], d.clock.now())
    deposited = d.compartment.deposited_at
    assert deposited is not None and scheduler.next_deadline() == deposited.replace(hour=1)
    assert TimeoutScheduler(Timeouts()).next_deadline() is None


def test_erasure_keeps_the_item_and_is_recorded_with_its_proof() -> None:
    d = with_pin(Driven())
    with pytest.raises(TransitionRejected, match="cannot ask for erasure"):
        d.do(c.EraseFace(compartment_id=CID, requested_by="owner", proof="operator"))
    with pytest.raises(TransitionRejected, match="operator id"):
        d.do(c.EraseFace(compartment_id=CID, requested_by="operator", proof="operator"))
    events = d.do(c.EraseFace(compartment_id=CID, requested_by="owner", proof="face"))
    assert effects_of(events) == [DestroyTemplate("tpl-a")]
    assert d.state == "occupied" and d.compartment.face_erased and d.compartment.template_ref == "tpl-a"
    with pytest.raises(TransitionRejected, match="no face template"):
        d.do(c.EraseFace(compartment_id=CID, requested_by="operator", proof="operator", operator_id="ops-1"))
    assert [type(e).__name__ for e in d.do(pin())] == ["PinConfirmed"]
    assert Compartment.replay(CID, d.log).face_erased


def test_rows_written_before_pins_still_read() -> None:
    serializer = EventSerializer()
    v2 = '{"model_version":"m","pulse_ms":500,"subject_id":"s","template_ref":"t","unlock_id":"u"}'
    started = serializer.decode_fields(1, "1", 1, T0, "DepositStarted", 2, v2, "c")
    assert isinstance(started, ev.DepositStarted) and (started.pin_ref, started.consent_version) == ("", "")
    retrieved = serializer.decode_fields(2, "1", 9, T0, "ItemRetrieved", 1, '{"template_ref":"t"}', "c")
    assert isinstance(retrieved, ev.ItemRetrieved) and retrieved.pin_ref == ""
    v1 = '{"note":"","operator_id":"o","released_template_ref":"t","resume_state":"free"}'
    cleared = serializer.decode_fields(3, "1", 10, T0, "AlarmCleared", 1, v1, "c")
    assert isinstance(cleared, ev.AlarmCleared) and cleared.released_pin_ref == ""
    v1 = '{"released_template_ref":"t","unlock_id":"u"}'
    expired = serializer.decode_fields(4, "1", 3, T0, "UnlockExpired", 1, v1, "c")
    assert isinstance(expired, ev.UnlockExpired) and expired.released_pin_ref == ""
