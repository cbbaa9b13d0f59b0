"""The kiosk feed: reason codes, boxes, progress and door numbers; never subject ids, distances or images."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import numpy as np

from controller.app.http.web.feed import KioskFeed, kiosk_message
from controller.domain import events as ev
from controller.domain.evidence import Evidence
from controller.ports import FaceMatch, StoredEvent
from recognition.fakes import analysis
from recognition.runtime.worker import FaceRejected

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def evidence(distance: float, subject_id: str = "subject-abc") -> Evidence:
    return Evidence(subject_id=subject_id, distance=distance, runner_up_distance=0.7, threshold=0.45,
                    margin=0.05, frames_agreeing=3, frames_considered=4, model_version="dlib")


def confirmed() -> ev.IdentityConfirmed:
    return ev.IdentityConfirmed(compartment_id="3", version=4, occurred_at=NOW, evidence=evidence(0.31),
                                unlock_id="u1", pulse_ms=500)


def collect(feed: KioskFeed, feed_inputs: Any) -> list[dict[str, Any]]:
    """Messages a client receives while ``feed_inputs(feed)`` runs."""

    async def run() -> list[dict[str, Any]]:
        feed.bind(asyncio.get_running_loop())
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        feed.clients.add(queue)
        feed_inputs(feed)
        await asyncio.sleep(0.05)
        return [queue.get_nowait() for _ in range(queue.qsize())]

    return asyncio.run(run())


def test_decisions_carry_door_numbers_and_reasons_only() -> None:
    rejected = ev.IdentityRejected(compartment_id="3", version=5, occurred_at=NOW, reason="only 1 of 5 agreed",
                                   evidence=evidence(0.6), failed_attempts=1)
    lockout = ev.AlarmRaised(compartment_id="3", version=6, occurred_at=NOW, reason="lockout", detail="3 failures")
    assert kiosk_message(confirmed()) == {"kind": "door", "purpose": "retrieval", "door": "3"}
    assert kiosk_message(rejected) == {"kind": "refused", "reason": "not_recognised"}
    assert kiosk_message(lockout) == {"kind": "refused", "reason": "locked_out"}
    opened = ev.DoorOpened(compartment_id="3", version=7, occurred_at=NOW)
    assert kiosk_message(opened) == {"kind": "opened", "door": "3"}
    assert kiosk_message(ev.UnlockPulseSent(compartment_id="3", version=8, occurred_at=NOW, unlock_id="u")) is None


def test_the_stream_never_carries_subject_ids_or_distances() -> None:
    stranger = FaceMatch(None, False, evidence(0.9, subject_id=""))
    owner = FaceMatch("3", False, evidence(0.3))

    def inputs(feed: KioskFeed) -> None:
        feed.on_committed([StoredEvent(9, confirmed(), "h9", "h8")])
        feed.on_observation(stranger)
        feed.on_observation(owner)
        feed.on_observation(FaceRejected("no_templates", 1, 0.0))
        feed.on_observation(FaceRejected("face_too_small", 2, 0.0))
        feed.on_observation(FaceRejected("spoof_suspected", 3, 0.0))

    messages = collect(KioskFeed(), inputs)
    fields = {key for message in messages for key in message}
    assert fields == {"kind", "at", "reason", "door", "purpose"}  # no subject, no distance, no evidence
    assert "subject-abc" not in json.dumps(messages)
    assert [m.get("reason") or m.get("door") for m in messages] == [
        "3", "not_recognised", "not_recognised", "face_too_small", "liveness_failed"
    ]


def test_face_boxes_are_fractions_of_the_frame_and_enrolment_counts_good_frames() -> None:
    good = analysis(np.ones(4, dtype=np.float32))

    def inputs(feed: KioskFeed) -> None:
        feed.enrolling(2)
        feed.on_analysis(good, (80, 160, 3))
        feed.on_analysis(analysis(None, "too_blurry"), (80, 160, 3))

    messages = collect(KioskFeed(), inputs)
    assert [m["kind"] for m in messages] == ["enrol", "enrol", "face", "face"]
    assert messages[1] == {**messages[1], "good": 1, "needed": 2}
    assert messages[2]["box"] == [0.05, 0.1, 0.25, 0.5] and messages[2]["reason"] == "face_ok"
    assert messages[3]["reason"] == "too_blurry"


def test_an_owner_whose_compartment_waits_for_an_operator_is_told_so() -> None:
    owner, other = FaceMatch("3", True, evidence(0.3)), FaceMatch("2", True, evidence(0.3))
    undecided = FaceMatch("3", False, evidence(0.3))

    def inputs(feed: KioskFeed) -> None:
        for match in (owner, other, undecided):
            feed.on_observation(match, lambda cid: cid == "3")
        feed.on_committed([StoredEvent(9, confirmed(), "h9", "h8")])  # a PIN opens like a face
        pin = ev.PinConfirmed(compartment_id="2", version=6, occurred_at=NOW, unlock_id="u", pulse_ms=500)
        feed.on_committed([StoredEvent(10, pin, "h10", "h9")])

    messages = collect(KioskFeed(), inputs)
    assert [(m["kind"], m.get("reason") or m.get("door")) for m in messages] == [
        ("refused", "contact_operator"), ("door", "3"), ("door", "2")
    ]
