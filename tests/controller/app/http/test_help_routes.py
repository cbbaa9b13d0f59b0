"""The help button's routes on a real ``lockers run --simulate``: asked by the kiosk, answered by an operator."""

from __future__ import annotations

import json

from tests.support.bank import OPERATOR_TOKEN, RunningBank
from tests.support.cli import lockers

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def test_the_kiosk_asks_for_help_and_an_operator_answers(bank: RunningBank) -> None:
    with bank.client() as client:
        asked = client.post("/kiosk/help", json={"screen": "pin"})
        assert asked.status_code == 202, asked.text
        help_id = asked.json()["help_id"]
        assert asked.json() == {"help_id": help_id, "state": "requested"}
        assert client.get(f"/kiosk/help/{help_id}").json() == {"help_id": help_id, "state": "requested"}
        (open_request,) = client.get("/operator/help", headers=AUTH).json()["requests"]
        assert (open_request["help_id"], open_request["screen"]) == (help_id, "pin")

        assert client.post(f"/operator/help/{help_id}/answer").status_code == 401
        answered = client.post(f"/operator/help/{help_id}/answer", headers=AUTH)
        assert answered.status_code == 200 and answered.json()["answered_by"] == "shared-token"
        assert client.get(f"/kiosk/help/{help_id}").json() == {"help_id": help_id, "state": "answered"}
        assert client.get("/operator/help", headers=AUTH).json()["requests"] == []
        assert client.post(f"/operator/help/{help_id}/answer", headers=AUTH).status_code == 409
        assert client.get("/kiosk/help/nobody").status_code == 404
        assert client.post("/kiosk/help", json={"screen": "<script>"}).status_code == 422

    # Both facts are in the hash-chained log, which an audit replays (the bank's stream folds into its desk).
    audited = lockers("audit", "verify", "--json", data_dir=bank.data_dir)
    assert audited.returncode == 0 and '"events": 2' in audited.stdout, audited.stdout + audited.stderr
    status = lockers("status", "--json", "--config", str(bank.data_dir / "lockers.toml"), data_dir=bank.data_dir)
    ids = [row["id"] for row in json.loads(status.stdout)["compartments"]]
    assert ids == ["1", "2", "3", "4"], status.stderr  # no compartment "bank"
