"""The fleet console in a real headless Chromium: a real centre on PostgreSQL and two real banks syncing to it.

An operator logs in at the centre, sees both banks online, clears a compartment's alarm on one of them (a
``clear_alarm`` command the bank pulls and runs: the alarm leaves the console when the bank's own
``AlarmCleared`` comes back in its log), reads the bank's timeline in words and local time; then sees the
other bank go offline (its alarm's detail in Korean), and a clear refused (someone cleared it meanwhile) keeps the
typed note while the list of cleared alarms names who cleared it and their note. axe-core finds
no WCAG 2.2 A/AA violation on the login, the fleet and the clear dialog, in English and in Korean.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.controller.app.central.test_fleet_sync import setup_fleet
from tests.controller.app.http.test_browser import browser, playwright, screenshot  # noqa: F401 - fixtures
from tests.controller.app.http.test_browser_console import ZONE, console  # noqa: F401 - fixture
from tests.support.axe import axe_violations
from tests.support.bank import RunningBank, start_bank, stop_bank
from tests.support.central import ACT, OPERATOR, PASSWORD, RunningCentre, bank_rows, fleet_section, start_centre, stop
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
BANKS = ("bank-a", "bank-b")
SLOW_MS = 60_000  # a command waits for the bank's next pull, its outcome and the sync of its events


def log_in(page: Any, url: str, lang: str) -> None:
    page.goto(f"{url}/?lang={lang}")
    page.wait_for_selector("[data-testid=login-submit]")
    assert not axe_violations(page), f"login ({lang})"
    page.fill("[data-testid=login-user]", OPERATOR)
    page.fill("[data-testid=login-password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=bank-row]")


def open_alarm(centre: RunningCentre, bank_id: str, compartment_id: str) -> bool:
    with centre.client() as fleet:
        alarms = fleet.get("/fleet/alarms").json()["alarms"]
    return any(a["bank_id"] == bank_id and a.get("compartment_id") == compartment_id for a in alarms)


def test_log_in_see_two_banks_clear_an_alarm_on_one_in_english_and_korean(
    tmp_path: Path, pg_url: str, console: Any  # noqa: F811
) -> None:
    config, port, token = setup_fleet(tmp_path, pg_url, list(BANKS))
    centre = start_centre(tmp_path / "centre", config, port, token)
    pinned = f'central_public_key = "{tmp_path / "centre" / "central.key.pub"}"\n'  # banks run the centre's commands
    banks: dict[str, RunningBank] = {}
    try:
        for name in BANKS:
            banks[name] = start_bank(tmp_path / name, "--simulate", extra=fleet_section(name, port) + pinned)
        with httpx.Client(base_url=banks["bank-a"].url, headers=ACT, timeout=30) as bank_a:
            taken = bank_a.post("/operator/compartments/2/out-of-service", json={"note": "hinge loose"})
            assert taken.status_code == 200, taken.text
        wait_until(lambda: open_alarm(centre, "bank-a", "2"), 30, "bank-a's alarm never reached the centre")
        clear_on_bank_a(console, centre, tmp_path)
        refused_clear_keeps_the_note_in_korean(console, centre, banks, tmp_path)
    finally:
        for running in banks.values():
            stop_bank(running)
        stop(centre.process)


def clear_on_bank_a(page: Any, centre: RunningCentre, tmp_path: Path) -> None:
    """English: both banks online, bank-a's compartment 2 in alarm with evidence, cleared with a note."""
    log_in(page, centre.url, "en")
    for name in BANKS:
        page.wait_for_selector(f"[data-testid=bank-row][data-bank={name}][data-online=true]")
    alarm = "[data-testid=alarm][data-alarm='bank-a/2']"
    evidence = page.wait_for_selector(f"{alarm} [data-testid=evidence]:not(:empty)")
    assert "hinge loose" in evidence.inner_text() and "out of service" in page.inner_text(alarm)
    assert not axe_violations(page), "fleet (en)"
    screenshot(page, "fleet-console-en", tmp_path)
    page.click(f"{alarm} [data-testid=clear-alarm]")
    page.wait_for_selector("[data-testid=clear-dialog][open]")
    assert not axe_violations(page), "clear dialog (en)"
    page.fill("[data-testid=note]", "hinge tightened")
    page.click("[data-testid=confirm]")
    page.wait_for_selector(alarm, state="detached", timeout=SLOW_MS)  # gone once the bank's AlarmCleared synced
    assert page.inner_text("[data-testid=notice]") == "Alarm cleared."

    [cleared] = [json.loads(r.payload_json) for r in bank_rows(tmp_path / "bank-a") if r.event_type == "AlarmCleared"]
    assert (cleared["operator_id"], cleared["note"]) == ("central:fleetop", "hinge tightened")  # run by the bank
    page.click("[data-testid=bank-row][data-bank=bank-a] [data-testid=show-bank]")
    page.wait_for_selector("[data-testid=compartments] [data-compartment='2'][data-state=free]")
    entry = page.wait_for_selector("[data-testid=timeline] li[data-type=AlarmCleared]")
    assert "alarm cleared" in entry.inner_text() and "hinge tightened" in entry.inner_text()
    stamp = entry.query_selector("time").get_attribute("datetime")
    local = datetime.fromisoformat(stamp).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")
    assert entry.query_selector("time").inner_text() == local  # the browser's zone, not UTC
    screenshot(page, "fleet-bank-en", tmp_path)


def refused_clear_keeps_the_note_in_korean(
    page: Any, centre: RunningCentre, banks: dict[str, RunningBank], tmp_path: Path
) -> None:
    """Korean: bank-b goes offline (since when, an alarm); a clear someone else made first is refused, note kept."""
    stop_bank(banks["bank-b"])
    page.click("[data-testid=logout]")
    log_in(page, centre.url, "ko")
    page.wait_for_selector("[data-testid=bank-row][data-bank=bank-b][data-online=false]", timeout=SLOW_MS)
    assert "부터 연결 끊김" in page.inner_text("[data-testid=bank-row][data-bank=bank-b]")
    offline = page.wait_for_selector("[data-testid=alarm][data-bank=bank-b][data-kind=offline]", timeout=SLOW_MS)
    assert "연결 끊김" in offline.inner_text()
    evidence = offline.wait_for_selector("[data-testid=evidence]:not(:empty)").inner_text()
    assert "이후 신호가 없습니다" in evidence and "heartbeat" not in evidence  # its detail code, in Korean
    alarm_id = int(str(offline.get_attribute("data-alarm")).removeprefix("fleet:"))
    assert not axe_violations(page), "fleet (ko)"
    screenshot(page, "fleet-console-ko", tmp_path)
    offline.query_selector("[data-testid=clear-alarm]").click()
    page.fill("[data-testid=note]", "전원 확인함")
    with centre.client() as fleet:  # another operator clears it first
        assert fleet.post(f"/fleet/alarms/{alarm_id}/clear", json={"note": "by phone"}).status_code == 200
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=clear-dialog][open] [data-testid=clear-error]:not(:empty)")
    assert "찾을 수 없습니다" in page.inner_text("[data-testid=clear-error]")
    assert page.input_value("[data-testid=note]") == "전원 확인함"  # kept for the next try
    assert not axe_violations(page), "clear dialog (ko)"
    page.click("[data-testid=clear-dialog] button[value=cancel]")
    cleared = page.wait_for_selector(f"[data-testid=cleared-alarm][data-alarm='fleet:{alarm_id}']")
    assert f"{OPERATOR} 님이 해제: by phone" in cleared.inner_text()  # who cleared it first, and their note
