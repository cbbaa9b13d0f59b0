"""The centre's sync desk reads every pinned key once, yet takes a bank enrolled since and refuses an unknown one.

In process, on a real PostgreSQL schema (the HTTP route around it: ``test_sync_refusals``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import key_id, public_pem
from controller.app.central.commands import BankCommands
from controller.app.central.envelope import OUTCOME, SIGNATURE_HEADER, seal
from controller.app.central.sync import SyncDesk
from fleet.commands import CommandQueue
from fleet.errors import UnknownBank
from fleet.store import CentralStore, Ingested
from tests.support.central import batch, chain

pytestmark = pytest.mark.postgres
ROWS = chain(4)


@pytest.fixture
def store(pg_url: str) -> Iterator[CentralStore]:
    opened = CentralStore.open(pg_url)
    try:
        yield opened
    finally:
        opened.close()


def enrolled(store: CentralStore, bank_id: str) -> Ed25519PrivateKey:
    signer = Ed25519PrivateKey.generate()
    store.enrol(bank_id, public_pem(signer.public_key()).decode(), key_id(signer.public_key()))
    return signer


def send(desk: SyncDesk, bank_id: str, signer: Ed25519PrivateKey) -> Ingested:
    body, headers = seal(batch(0, ROWS, [], signer), bank_id, signer)
    return desk.batch(bank_id, body, headers[SIGNATURE_HEADER])


def test_banks_enrolled_before_and_after_the_desk_read_the_keys_are_taken(store: CentralStore) -> None:
    desk = SyncDesk(store)
    first = enrolled(store, "bank-a")
    assert send(desk, "bank-a", first).stored == 4  # the desk reads every pinned key here
    later = enrolled(store, "bank-b")
    assert send(desk, "bank-b", later).stored == 4
    with pytest.raises(UnknownBank):
        send(desk, "bank-c", Ed25519PrivateKey.generate())



def test_an_unknown_command_outcome_is_a_fleet_alarm_with_its_detail_code(store: CentralStore) -> None:
    signer, queue = enrolled(store, "bank-a"), CommandQueue(store)
    queue.add("c1", "bank-a", "{}", "sig", "2099-01-01T00:00:00+00:00")
    desk = SyncDesk(store)
    report = {"format": OUTCOME, "id": "c1", "outcome": "unknown", "detail": "the bank stopped while it ran"}
    body, headers = seal(report, "bank-a", signer)
    assert BankCommands(desk, queue).outcome("bank-a", body, headers[SIGNATURE_HEADER])["recorded"] is True
    [alarm] = store.open_alarms()
    assert (alarm["kind"], alarm["detail_code"]) == ("command_unknown", "command_unknown.outcome")
    assert json.loads(alarm["detail_args"]) == {"command": "c1", "detail": "the bank stopped while it ran"}
    assert alarm["detail"] == "command c1: the bank stopped while it ran"
