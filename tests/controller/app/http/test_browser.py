"""The kiosk and the console in a real headless Chromium (Debian's), driven by Playwright, on a real bank.

Screenshots of each screen are written to ``LOCKERS_SCREENSHOTS`` when set (``docs/`` holds the
committed ones), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controller.app.http.conftest import OPERATOR, open_page
from tests.support.bank import OPERATOR_TOKEN, RunningBank

CHROMIUM = Path(os.environ.get("LOCKERS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
FLOW_TIMEOUT_MS = 60_000
AWAY_MS = 5_500  # the bank's depositor grace (controller/service/grace.py) is 5 s

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (as .ci/run does)")
    with sync_api.sync_playwright() as running:
        yield running


def launch(playwright: Any, *flags: str) -> Any:
    """Debian's Chromium, headless, with ``flags`` added to ``CHROMIUM_FLAGS``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_FLAGS, *flags])


@pytest.fixture(scope="module")
def browser(playwright: Any) -> Iterator[Any]:
    launched = launch(playwright)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser) as opened:
        yield opened


def screenshot(page: Any, name: str, tmp_path: Path) -> None:
    """Save the screen as ``name``.png (kept in ``LOCKERS_SCREENSHOTS`` when set); sample faces are masked."""
    path = tmp_path / f"{name}.png"
    # The shared sample photos stay out of the repository, also as pixels in a screenshot.
    page.screenshot(path=str(path), mask=[page.locator("#sample"), page.locator("#video")], mask_color="#5f6b7a")
    assert path.stat().st_size > 10_000
    keep = os.environ.get("LOCKERS_SCREENSHOTS")
    if keep:
        shutil.copy(path, Path(keep) / path.name)


def message_is(page: Any, key: str) -> None:
    """Wait until the kiosk shows the catalogue message ``key`` (selectors only: the CSP forbids eval)."""
    page.wait_for_selector(f"[data-testid=message][data-key='{key}']", timeout=FLOW_TIMEOUT_MS)


def test_deposit_and_retrieval_on_the_kiosk_in_simulate_mode(web_bank: RunningBank, page: Any, tmp_path: Path) -> None:
    page.goto(web_bank.url + "/")
    message_is(page, "kiosk.welcome")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.inner_text("[data-testid=deposit]") == "보관하기"
    screenshot(page, "kiosk-welcome", tmp_path)

    page.select_option("[data-testid=sim-source]", "Colin_Powell")
    page.click("[data-testid=deposit]")
    message_is(page, "kiosk.deposit_open")
    door = page.inner_text("[data-testid=door-number]")
    assert door == "1" and f"{door}번 보관함이 열렸습니다" in page.inner_text("[data-testid=message]")
    screenshot(page, "kiosk-deposit-open", tmp_path)

    page.select_option("[data-testid=sim-source]", "")  # the depositor walks away
    page.click("[data-testid=sim-close-door]")
    message_is(page, "kiosk.deposit_done")
    page.click("[data-testid=pin-kept]")  # the one-time PIN stays until the depositor says they have it
    message_is(page, "kiosk.welcome")
    page.wait_for_timeout(AWAY_MS)  # gone longer than the depositor's grace: a face just deposited opens nothing

    page.select_option("[data-testid=sim-source]", "Colin_Powell")  # and comes back
    message_is(page, "kiosk.retrieval_open")
    assert page.inner_text("[data-testid=door-number]") == door
    assert "다시 오셨군요" in page.inner_text("[data-testid=message]")
    screenshot(page, "kiosk-retrieval-open", tmp_path)
    page.select_option("[data-testid=sim-source]", "")
    page.click("[data-testid=sim-close-door]")
    message_is(page, "kiosk.retrieval_done")
    states = httpx.get(f"{web_bank.url}/compartments", headers=AUTH).json()["compartments"]
    assert states[0]["state"] == "free" and states[0]["occupied_by"] is None


def test_a_stranger_is_told_what_to_do(web_bank: RunningBank, page: Any, tmp_path: Path) -> None:
    page.goto(web_bank.url + "/?lang=en")
    message_is(page, "kiosk.welcome")
    page.select_option("[data-testid=sim-source]", "Roh_Moo-hyun")  # nobody's face: no locker to open
    # One check of key and text together: the next frame may already say something else (two faces).
    stranger = "[data-key='reason.not_recognised']:has-text('could not recognise you')"
    page.wait_for_selector(stranger, timeout=FLOW_TIMEOUT_MS)
    screenshot(page, "kiosk-not-recognised-en", tmp_path)


def test_the_language_switch(web_bank: RunningBank, page: Any) -> None:
    page.goto(web_bank.url + "/")
    message_is(page, "kiosk.welcome")
    page.click("[data-testid=lang-en]")
    message_is(page, "kiosk.welcome")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("[data-testid=deposit]") == "Deposit"
    page.click("[data-testid=lang-ko]")
    message_is(page, "kiosk.welcome")
    assert page.get_attribute("html", "lang") == "ko" and page.inner_text("[data-testid=deposit]") == "보관하기"


def test_operator_login_and_clearing_an_alarm_with_a_click(web_bank: RunningBank, page: Any, tmp_path: Path) -> None:
    httpx.post(f"{web_bank.url}/simulate/doors/4", json={"action": "force"})
    page.goto(web_bank.url + "/operator")
    page.fill("[data-testid=login-user]", OPERATOR[0])
    page.fill("[data-testid=login-password]", "not-the-password")
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=login-error]:has-text('틀렸습니다')")
    screenshot(page, "operator-login", tmp_path)
    page.fill("[data-testid=login-password]", OPERATOR[1])
    page.click("[data-testid=login-submit]")
    tile = "[data-compartment='4'][data-state='alarm']"
    page.wait_for_selector(f"{tile} [data-testid=evidence]:has-text('근거')")
    assert "강제로 열림" in page.inner_text(tile)
    httpx.post(f"{web_bank.url}/simulate/doors/4", json={"action": "close"})
    page.wait_for_selector(f"{tile}:has-text('문 닫힘')")  # the live stream refreshed the grid
    screenshot(page, "operator-alarm", tmp_path)

    page.click(f"{tile} [data-testid=clear-alarm]")
    page.fill("[data-testid=note]", "hinge checked, nothing inside")
    screenshot(page, "operator-clear-dialog", tmp_path)
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-compartment='4'][data-state='free']")
    page.click("[data-compartment='4'] [data-testid=show-timeline]")
    cleared = page.wait_for_selector("[data-testid=timeline] li[data-type=AlarmCleared]")
    assert "경보 해제" in cleared.inner_text() and "관리자: alice, 메모: hinge checked" in cleared.inner_text()
    screenshot(page, "operator-timeline", tmp_path)


def test_anonymous_browsers_are_refused(web_bank: RunningBank, page: Any) -> None:
    for path in ("/compartments", "/events", "/metrics", "/operator/export"):
        assert page.goto(web_bank.url + path).status == 401
    page.goto(web_bank.url + "/operator")
    page.wait_for_selector("[data-testid=login-submit]")
    assert page.is_hidden("[data-testid=grid]")


def test_the_webcam_feeds_the_kiosk_and_a_faceless_deposit_is_refused(web_bank: RunningBank, playwright: Any) -> None:
    fake_camera = launch(playwright, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
    with closing(fake_camera) as browser, open_page(browser, permissions=["camera"]) as page:
        page.goto(web_bank.url + "/?lang=en")
        message_is(page, "kiosk.welcome")
        page.select_option("[data-testid=sim-source]", "webcam")
        page.click("[data-testid=deposit]")
        message_is(page, "reason.no_face")  # Chromium's fake camera shows a test pattern, not a face
        assert "cannot see a face" in page.inner_text("[data-testid=message]")
        message_is(page, "kiosk.enrol_failed")  # the enrolment gives up after 15 s: told what to do next
        assert page.is_enabled("[data-testid=deposit]")
