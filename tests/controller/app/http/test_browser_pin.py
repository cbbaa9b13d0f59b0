"""The kiosk's one-time PIN in a real headless Chromium: shown once after the deposit, typed to retrieve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.controller.app.http.conftest import OPERATOR
from tests.controller.app.http.test_browser import browser, message_is, page, playwright, screenshot  # noqa: F401 - fixtures
from tests.support.bank import RunningBank


def test_the_pin_is_shown_once_and_opens_the_locker(web_bank: RunningBank, page: Any, tmp_path: Path) -> None:  # noqa: F811
    page.goto(web_bank.url + "/?lang=en")
    message_is(page, "kiosk.welcome")
    assert "erased earlier" in page.inner_text("[data-testid=consent]")
    assert not page.is_visible("[data-testid=pin-code]")
    page.select_option("[data-testid=sim-source]", "Colin_Powell")
    page.click("[data-testid=deposit]")
    message_is(page, "kiosk.deposit_open")
    pin = page.inner_text("[data-testid=pin-code]")
    assert len(pin) == 8 and pin.isdigit()
    screenshot(page, "kiosk-pin", tmp_path)
    page.select_option("[data-testid=sim-source]", "")  # the depositor walks away
    page.click("[data-testid=sim-close-door]")
    message_is(page, "kiosk.deposit_done")
    message_is(page, "kiosk.welcome")
    assert not page.is_visible("[data-testid=pin-code]")  # shown once: gone when the kiosk is idle

    page.fill("[data-testid=pin-input]", "00000000" if pin != "00000000" else "11111111")
    page.click("[data-testid=pin-open]")
    message_is(page, "kiosk.pin_refused")
    page.fill("[data-testid=pin-input]", pin)
    page.click("[data-testid=pin-open]")
    message_is(page, "kiosk.retrieval_open")
    door = page.inner_text("[data-testid=door-number]")
    page.click("[data-testid=sim-close-door]")
    message_is(page, "kiosk.retrieval_done")
    assert door == "1"


def test_the_operator_erases_a_face_on_the_owners_request(web_bank: RunningBank, page: Any) -> None:  # noqa: F811
    page.goto(web_bank.url + "/?lang=en")
    message_is(page, "kiosk.welcome")
    page.select_option("[data-testid=sim-source]", "Colin_Powell")
    page.click("[data-testid=deposit]")
    message_is(page, "kiosk.deposit_open")
    door = page.inner_text("[data-testid=door-number]")
    page.select_option("[data-testid=sim-source]", "")
    page.click("[data-testid=sim-close-door]")
    message_is(page, "kiosk.deposit_done")

    page.goto(web_bank.url + "/operator?lang=en")
    page.fill("[data-testid=login-user]", OPERATOR[0])
    page.fill("[data-testid=login-password]", OPERATOR[1])
    page.click("[data-testid=login-submit]")
    tile = f"[data-compartment='{door}'][data-state='occupied']"
    page.click(f"{tile} [data-testid=erase-face]")
    page.wait_for_selector(f"{tile} [data-testid=face-erased]")
    assert page.locator(f"{tile} [data-testid=erase-face]").count() == 0
    page.click(f"{tile} [data-testid=show-timeline]")
    erased = page.wait_for_selector("[data-testid=timeline] li[data-type=FaceErased]")
    assert "face erased" in erased.inner_text() and "requested by: operator" in erased.inner_text()
