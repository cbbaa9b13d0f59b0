"""Old payloads are lifted by the upcasters declared beside their event class, and by nothing else."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from controller.domain.chain import canonical_json
from controller.domain.events import EVENT_TYPES, DepositStarted, Event, ItemRetrieved
from controller.domain.evidence import EnrolmentLiveness
from storage.serialization import EventSerializer
from tests.support.events import T0

UPCASTER = re.compile(r"upcast_v(\d+)_v(\d+)")

NO_EVIDENCE = {"subject_id": "", "runner_up_distance": None, "margin": 0.0, "frames_agreeing": 0,
               "frames_considered": 0}  # fmt: skip
NO_LIVENESS = {"liveness": "", "liveness_score": None, "liveness_method": "", "liveness_model": ""}

# (event type, first schema version, a payload as stored then, the payload it reads back as today)
OLD_ROWS: list[tuple[str, int, dict[str, Any], dict[str, Any]]] = [
    ("VerificationStarted", 1, {"distance": 0.41, "model_version": "m1", "threshold": 0.6},
     {"distance": 0.41, "model_version": "m1", "threshold": 0.6, **NO_EVIDENCE, **NO_LIVENESS}),
    ("IdentityRejected", 1, {"distance": None, "failed_attempts": 2, "model_version": "m1", "reason": "r",
                             "threshold": 0.6},
     {"distance": None, "failed_attempts": 2, "model_version": "m1", "reason": "r", "threshold": 0.6, **NO_EVIDENCE,
      **NO_LIVENESS}),
    ("IdentityConfirmed", 1, {"distance": 0.3, "model_version": "m1", "threshold": 0.6, "unlock_id": "u",
                              "pulse_ms": 500, **NO_EVIDENCE, "subject_id": "s"},
     {"distance": 0.3, "model_version": "m1", "threshold": 0.6, "unlock_id": "u", "pulse_ms": 500, **NO_EVIDENCE,
      "subject_id": "s", **NO_LIVENESS}),
    ("DepositStarted", 1, {"model_version": "m", "pulse_ms": 500, "subject_id": "s", "template_ref": "t",
                           "unlock_id": "u"},
     {"model_version": "m", "pulse_ms": 500, "subject_id": "s", "template_ref": "t", "unlock_id": "u", **NO_LIVENESS,
      "pin_ref": "", "consent_version": ""}),
    ("ItemRetrieved", 1, {"template_ref": "t"}, {"template_ref": "t", "pin_ref": ""}),
    ("UnlockExpired", 1, {"released_template_ref": "t", "unlock_id": "u"},
     {"released_template_ref": "t", "unlock_id": "u", "released_pin_ref": ""}),
    ("AlarmCleared", 1, {"note": "", "operator_id": "o", "released_template_ref": "t", "resume_state": "free"},
     {"note": "", "operator_id": "o", "released_template_ref": "t", "resume_state": "free", "released_pin_ref": ""}),
]  # fmt: skip


@pytest.mark.parametrize("cls", EVENT_TYPES.values(), ids=EVENT_TYPES)
def test_each_schema_version_step_has_one_static_upcaster_beside_its_class(cls: type[Event]) -> None:
    declared = sorted((int(m[1]), int(m[2])) for name in dir(cls) if (m := UPCASTER.fullmatch(name)))
    assert declared == [(step, step + 1) for step in range(1, cls.schema_version)]
    for step, _ in declared:
        assert isinstance(inspect.getattr_static(cls, f"upcast_v{step}_v{step + 1}"), staticmethod)


@pytest.mark.parametrize(("event_type", "version", "stored", "today"), OLD_ROWS, ids=[r[0] for r in OLD_ROWS])
def test_old_rows_read_back_through_their_class_upcasters(
    event_type: str, version: int, stored: dict[str, Any], today: dict[str, Any]
) -> None:
    cls = EVENT_TYPES[event_type]
    by_hand = dict(stored)
    for step in range(version, cls.schema_version):
        by_hand = getattr(cls, f"upcast_v{step}_v{step + 1}")(by_hand)
    assert by_hand == today
    decoded = EventSerializer().decode_fields(1, "1", 1, T0.isoformat(), event_type, version, json.dumps(stored), "c")
    assert type(decoded) is cls and decoded.payload() == today


def test_storage_asks_the_event_class_for_its_upcaster() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Retrieved(ItemRetrieved):
        @staticmethod
        def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
            return {**payload, "pin_ref": "from-the-class"}

    serializer = EventSerializer({"ItemRetrieved": Retrieved})
    decoded = serializer.decode_fields(1, "1", 1, T0.isoformat(), "ItemRetrieved", 1, '{"template_ref":"t"}', "c")
    assert isinstance(decoded, Retrieved) and decoded.pin_ref == "from-the-class"


def test_enrolment_liveness_keeps_its_flat_payload() -> None:
    """``DepositStarted`` rows stay flat: the enrolment's liveness fields beside the event's own."""
    live = EnrolmentLiveness(liveness="live", liveness_score=0.93, liveness_method="passive", liveness_model="mf")
    started = DepositStarted(compartment_id="1", version=1, occurred_at=T0, subject_id="s", template_ref="t",
                             model_version="m", unlock_id="u", pulse_ms=500, enrolment_liveness=live, pin_ref="p",
                             consent_version="c1")  # fmt: skip
    assert EventSerializer().encode(started).payload_json == canonical_json(
        {"consent_version": "c1", "liveness": "live", "liveness_method": "passive", "liveness_model": "mf",
         "liveness_score": 0.93, "model_version": "m", "pin_ref": "p", "pulse_ms": 500, "subject_id": "s",
         "template_ref": "t", "unlock_id": "u"}
    )  # fmt: skip
