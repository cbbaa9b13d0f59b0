"""A bank is online while heard from within two heartbeat intervals; then offline, since when, and an alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.app.central.server import raise_offline_alarms
from controller.app.central.views import FleetViews, is_online
from fleet.store import CentralStore

pytestmark = pytest.mark.postgres


def test_two_missed_heartbeats_make_a_bank_offline_and_an_alarm(pg_url: str) -> None:
    store = CentralStore.open(pg_url)
    try:
        store.enrol("quiet", "PEM", "k")
        store.enrol("never-seen", "PEM2", "k2")
        store.heartbeat("quiet", {"status": "ok", "compartments": ["1", "2"]}, interval_s=5.0)
        bank = store.bank("quiet")
        assert bank.last_seen is not None
        seen = datetime.fromisoformat(bank.last_seen)
        assert is_online(bank, seen + timedelta(seconds=10))
        assert not is_online(bank, seen + timedelta(seconds=10.5))
        assert raise_offline_alarms(store, seen + timedelta(seconds=9)) == []
        assert raise_offline_alarms(store, seen + timedelta(seconds=11)) == ["quiet"]
        raise_offline_alarms(store, seen + timedelta(seconds=20))  # still one open alarm, not one per look
        assert [(a["bank_id"], a["kind"]) for a in store.open_alarms()] == [("quiet", "offline")]

        listed = {row["id"]: row for row in FleetViews(store).banks()["banks"]}
        assert listed["quiet"]["online"] is True  # heard from just now
        assert listed["never-seen"]["online"] is False and listed["never-seen"]["last_seen"] is None
        assert listed["quiet"]["open_alarms"] == 1
        assert FleetViews(store).compartments("quiet")["compartments"][1]["id"] == "2"  # known from heartbeats

        alarm_id = store.open_alarms()[0]["id"]
        assert store.clear_alarm(alarm_id, "fleetop") and not store.clear_alarm(alarm_id, "fleetop")
        assert store.open_alarms() == [] and datetime.now(UTC) > seen
    finally:
        store.close()
