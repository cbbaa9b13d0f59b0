"""A running ``lockers run --simulate`` on a non-loopback address: what it warns of and what it refuses.

- simulate mode on an address other machines can reach says so in its log (its /simulate routes open doors);
- ``GET /events`` with a position no database integer holds is a bad request (422), not a server error;
- ``lockers sim history`` on that bank's configuration is refused while the controller holds the log's lease.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.app.cli.exits import exit_code_for
from controller.app.run.daemon import is_loopback
from storage.lease import LeaseHeld
from tests.support.bank import OPERATOR_TOKEN, RunningBank, start_bank, stop_bank
from tests.support.cli import lockers

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture(scope="module")
def public_bank(tmp_path_factory: pytest.TempPathFactory, assets: Path) -> Iterator[RunningBank]:
    running = start_bank(tmp_path_factory.mktemp("public"), "--simulate", "--host", "0.0.0.0")
    yield running
    stop_bank(running)


def test_simulate_mode_on_a_public_address_warns(public_bank: RunningBank) -> None:
    assert "simulate mode on a non-loopback address" in public_bank.log()


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                               ("0.0.0.0", False), ("192.168.1.20", False), ("kiosk.lan", False)])
def test_only_this_machines_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("query", ["?after=99999999999999999999", "?after=-1"])
def test_an_impossible_position_is_a_bad_request(public_bank: RunningBank, query: str) -> None:
    with public_bank.client() as client:
        assert client.get(f"/events{query}", headers=AUTH).status_code == 422
        too_far = {**AUTH, "Last-Event-ID": "99999999999999999999"}
        assert client.get("/events", headers=too_far).status_code == 422
        assert client.get("/healthz").status_code == 200
    assert "OverflowError" not in public_bank.log()


def test_sim_history_waits_for_no_controller(public_bank: RunningBank) -> None:
    config = public_bank.data_dir / "lockers.toml"
    refused = lockers("sim", "history", "--steps", "3", "--config", str(config), data_dir=public_bank.data_dir)
    assert refused.returncode == exit_code_for(LeaseHeld("held")), refused.stderr
    assert "held by another controller" in refused.stderr
