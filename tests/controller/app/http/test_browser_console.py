"""The operator console in a real headless Chromium: its words in Korean and English, local times, kept notes, axe.

axe-core (vendored, pinned: ``tests/support/axe.py``) checks the WCAG 2.2 A/AA rules on the login, the grid
and the alarm dialog in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.controller.app.http.conftest import OPERATOR, open_page
from tests.controller.app.http.test_browser import browser, playwright  # noqa: F401 - fixtures
from tests.support.axe import axe_violations
from tests.support.bank import RunningBank

ZONE = "America/New_York"  # neither UTC nor the machine's zone: the console must show the browser's time


@pytest.fixture
def console(browser: Any) -> Iterator[Any]:  # noqa: F811
    """A page in a browser set to ``ZONE`` (axe is injected past the page's CSP)."""
    with open_page(browser, timezone_id=ZONE, bypass_csp=True) as opened:
        yield opened


def log_in(page: Any, url: str, lang: str) -> None:
    page.goto(f"{url}/operator?lang={lang}")
    page.wait_for_selector("[data-testid=login-submit]")
    assert not axe_violations(page), f"login ({lang})"
    page.fill("[data-testid=login-user]", OPERATOR[0])
    page.fill("[data-testid=login-password]", OPERATOR[1])
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=grid] .tile")


def alarm_tile(web_bank: RunningBank, page: Any, compartment: int) -> str:
    """Force a door open (an alarm whose door stays open) and wait for its tile with evidence."""
    httpx.post(f"{web_bank.url}/simulate/doors/{compartment}", json={"action": "force"}, timeout=30)
    tile = f"[data-compartment='{compartment}'][data-state='alarm']"
    page.wait_for_selector(f"{tile} [data-testid=evidence]:not(:empty)")
    return tile


@pytest.mark.parametrize(("lang", "compartment"), [("ko", 2), ("en", 3)])
def test_login_grid_and_alarm_dialog_meet_wcag_in_both_languages(
    web_bank: RunningBank, console: Any, lang: str, compartment: int
) -> None:
    log_in(console, web_bank.url, lang)
    tile = alarm_tile(web_bank, console, compartment)
    assert console.get_attribute("nav.lang", "aria-label") == ("언어" if lang == "ko" else "Language")
    assert not axe_violations(console), f"grid ({lang})"
    console.click(f"{tile} [data-testid=clear-alarm]")
    console.wait_for_selector("[data-testid=clear-dialog][open]")
    assert not axe_violations(console), f"alarm dialog ({lang})"


def test_a_refused_clear_keeps_the_note_says_why_in_korean_and_the_timeline_speaks_korean(
    web_bank: RunningBank, console: Any
) -> None:
    log_in(console, web_bank.url, "ko")
    tile = alarm_tile(web_bank, console, 4)
    console.click(f"{tile} [data-testid=clear-alarm]")
    console.fill("[data-testid=note]", "경첩 확인함")
    console.click("[data-testid=confirm]")  # the door is still open: refused
    console.wait_for_selector("[data-testid=clear-dialog][open] [data-testid=clear-error]:not(:empty)")
    assert "4번 보관함의 문이 열려 있습니다" in console.inner_text("[data-testid=clear-error]")
    assert console.input_value("[data-testid=note]") == "경첩 확인함"  # kept for the second try
    assert console.get_attribute("[data-testid=error]", "data-code") == "door_open"
    assert not any("a" <= ch <= "z" for ch in console.inner_text("[data-testid=error]"))  # no English words

    httpx.post(f"{web_bank.url}/simulate/doors/4", json={"action": "close"}, timeout=30)
    console.click("[data-testid=confirm]")
    console.wait_for_selector("[data-compartment='4'][data-state='free']")
    console.click("[data-compartment='4'] [data-testid=show-timeline]")
    cleared = console.wait_for_selector("[data-testid=timeline] li[data-type=AlarmCleared]")
    assert "경보 해제 — 관리자: alice, 메모: 경첩 확인함" in cleared.inner_text()
    raised = console.wait_for_selector("[data-testid=timeline] li[data-type=AlarmRaised]")
    assert "경보 발생 — 사유: 강제로 열림" in raised.inner_text()
    stamp = console.get_attribute("[data-testid=timeline] li[data-type=AlarmCleared] time", "datetime")
    local = datetime.fromisoformat(stamp).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")
    assert console.inner_text("[data-testid=timeline] li[data-type=AlarmCleared] time") == local
    assert ZONE in console.inner_text("[data-testid=timeline-zone]")
