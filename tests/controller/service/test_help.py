"""Help requests in the bank's own stream: decided, appended, published, folded back, audited."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from controller.app.audit.verify import verify_log
from controller.domain import events as ev
from controller.domain.errors import TransitionRejected
from controller.domain.help import HelpDesk
from controller.ports import FixedClock, StoredEvent
from controller.service import audit
from controller.service.compartments import CompartmentService
from controller.service.help import HelpDesks
from controller.service.views import log_status
from plc.fake import FakeLockDriver
from storage.event_store import SqlEventStore
from tests.controller.service.fakes import FakeVault


def desks_over(url: str) -> tuple[HelpDesks, list[StoredEvent]]:
    store = SqlEventStore.from_url(url, create=True)
    service = CompartmentService(store, FakeLockDriver(2), FakeVault(), FixedClock(), ["1", "2"])
    published: list[StoredEvent] = []
    service.subscribe(published.extend)
    ids = (f"h-{n}" for n in itertools.count(1))
    return HelpDesks(service, lambda: next(ids)), published


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'log.db'}"


async def test_a_request_and_its_answer_are_logged_published_and_folded_again(url: str) -> None:
    desks, published = desks_over(url)
    asked = await desks.request("kiosk", "pin")
    assert (asked.help_id, asked.state, asked.screen) == ("h-1", "requested", "pin")
    assert [r.help_id for r in desks.open_requests()] == ["h-1"]
    answered = await desks.answer("h-1", "alice")
    assert (answered.state, answered.answered_by) == ("answered", "alice")
    assert [type(s.event).__name__ for s in published] == ["HelpRequested", "HelpAnswered"]
    assert published[0].event.compartment_id == ev.BANK_STREAM

    again, _ = desks_over(url)  # a restart folds the desk from the log
    assert again.get("h-1") == answered and again.open_requests() == []
    report = verify_log(url, workers=1)
    assert report.ok and report.events == 2, report.to_json()


async def test_answering_twice_or_an_unknown_request_is_refused_and_nothing_is_logged(url: str) -> None:
    desks, published = desks_over(url)
    await desks.request("kiosk", "welcome")
    await desks.answer("h-1", "alice")
    with pytest.raises(TransitionRejected, match="already answered by alice"):
        await desks.answer("h-1", "bob")
    with pytest.raises(TransitionRejected, match="no such help request"):
        await desks.answer("h-9", "bob")
    assert len(published) == 2 and desks.desk.version == 2


async def test_the_bank_stream_changes_no_compartment(url: str) -> None:
    desks, published = desks_over(url)
    await desks.request("kiosk", "welcome")
    assert audit.fold(published) == {}
    assert [row["id"] for row in log_status(published, ["1", "2"])["compartments"]] == ["1", "2"]


def test_an_answer_without_its_request_fails_the_audit_replay() -> None:
    stray = ev.HelpAnswered(compartment_id=ev.BANK_STREAM, version=1, occurred_at=FixedClock().now(),
                            help_id="h-1", operator_id="alice")
    with pytest.raises(TransitionRejected):
        HelpDesk.replay([stray])
    door = ev.DoorOpened(compartment_id=ev.BANK_STREAM, version=1, occurred_at=FixedClock().now())
    with pytest.raises(TransitionRejected, match="not an event of the bank stream"):
        HelpDesk().apply(door)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


pytestmark = pytest.mark.anyio
