"""The centre's sync desk reads every pinned key once, yet takes a bank enrolled since and refuses an unknown one.

In process, on a real PostgreSQL schema (the HTTP route around it: ``test_sync_refusals``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import key_id, public_pem
from controller.app.central.envelope import SIGNATURE_HEADER, seal
from controller.app.central.sync import SyncDesk
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

