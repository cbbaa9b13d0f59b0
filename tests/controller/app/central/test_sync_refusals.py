"""A real centre refuses what it cannot trust or that breaks the chain, raises a fleet alarm, and stores nothing.

Batches are sealed here with a bank's real key (made by ``lockers keys fleet``) and posted to a real
``lockers central run`` on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.central.envelope import seal
from controller.app.central.keys import load_fleet_signer
from controller.app.config.loader import load_config
from fleet.details import DETAILS
from tests.support.bank import free_port
from tests.support.central import batch, chain, enrol, operator_token, start_centre, stop, write_central_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def post(url: str, bank_id: str, document: dict[str, object], signer: Ed25519PrivateKey) -> httpx.Response:
    body, headers = seal(document, bank_id, signer)
    return httpx.post(f"{url}/sync", content=body, headers=headers, timeout=30)


def test_replayed_forged_and_forked_batches_are_refused_and_raised(tmp_path: Path, pg_url: str) -> None:
    port = free_port()
    config = write_central_config(tmp_path / "centre", pg_url, port)
    bank_config = tmp_path / "bank" / "bank.toml"
    bank_config.parent.mkdir()
    bank_config.write_text(f'[bank]\ndata_dir = "{bank_config.parent}"\n')
    enrol(config, "bank-a", bank_config)
    signer = load_fleet_signer(load_config(bank_config))
    centre = start_centre(tmp_path / "centre", config, port, operator_token(config))
    try:
        rows = chain(8)
        first = seal(batch(0, rows[:4], [], signer), "bank-a", signer)
        sent = httpx.post(f"{centre.url}/sync", content=first[0], headers=first[1], timeout=30)
        assert sent.json() == {"acknowledged": 4, "stored": 4, "duplicates": 0}

        replayed = httpx.post(f"{centre.url}/sync", content=first[0], headers=first[1], timeout=30)
        assert (replayed.status_code, replayed.json()["reason"]) == (409, "replay")

        stranger = Ed25519PrivateKey.generate()
        forged = post(centre.url, "bank-a", batch(4, rows[4:], rows[:4], signer), stranger)
        assert (forged.status_code, forged.json()["reason"]) == (403, "bad_signature")
        foreign_checkpoint = post(centre.url, "bank-a", batch(4, rows[4:], rows[:4], stranger), signer)
        assert (foreign_checkpoint.status_code, foreign_checkpoint.json()["reason"]) == (403, "bad_signature")

        changed = [rows[4], replace(rows[5], payload_json=rows[5].payload_json.replace("op", "mallory")), *rows[6:]]
        assert post(centre.url, "bank-a", batch(4, changed, rows[:4], signer), signer).json()["reason"] == "hash"
        fork = chain(8, note="another history")
        assert post(centre.url, "bank-a", batch(4, fork[4:], fork[:4], signer), signer).json()["reason"] == "fork"
        assert post(centre.url, "bank-a", batch(6, rows[6:], rows[:6], signer), signer).json()["reason"] == "gap"
        lying = batch(4, rows[4:], rows[:3], signer)  # a checkpoint that miscounts the log
        assert post(centre.url, "bank-a", lying, signer).json()["reason"] == "checkpoint"

        with centre.client() as client:
            raised = [a for a in client.get("/fleet/alarms").json()["alarms"] if a["source"] == "fleet"]
            kinds = {a["kind"] for a in raised}
            assert kinds == {"replay", "bad_signature", "hash", "fork", "gap", "checkpoint"}
            # Each keeps a detail code and its arguments (the console words them) beside the English text.
            coded = {a["detail_code"]: a["detail_args"] for a in raised}
            assert coded["gap.after_held"] == {"after": 6, "held": 4}
            assert coded["hash.mismatch"] == {"position": 6} and coded["fork.off_head"] == {"position": 5, "held": 4}
            assert {"replay.nonce", "bad_signature.request", "checkpoint.mismatch"} <= set(coded)
            assert all(a["detail"] == DETAILS[a["detail_code"]].format(**a["detail_args"]) for a in raised)
            [bank] = client.get("/fleet/banks").json()["banks"]
            assert (bank["head_position"], bank["events"], bank["open_alarms"]) == (4, 4, 6)

        resent = post(centre.url, "bank-a", batch(2, rows[2:], rows[:2], signer), signer)
        assert resent.json() == {"acknowledged": 8, "stored": 4, "duplicates": 2}
        with centre.client() as client:
            timeline = client.get("/fleet/banks/bank-a/timeline", params={"after": 5, "limit": 2}).json()["events"]
            assert [(e["position"], e["type"], e["payload"]["operator_id"]) for e in timeline] == [
                (6, "AlarmCleared", "op"), (7, "AlarmRaised", "op")]
        unknown = post(centre.url, "bank-z", batch(0, rows, [], signer), signer)
        assert (unknown.status_code, unknown.json()["reason"]) == (403, "unknown_bank")
        assert (unknown.json()["detail_code"], unknown.json()["detail_args"]) == (
            "unknown_bank.not_enrolled", {"bank": "'bank-z'"})
    finally:
        stop(centre.process)
