"""axe-core on every kiosk screen, in Korean and English, in both themes; and help asked and answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controller.app.http.conftest import OPERATOR, open_page
from tests.controller.app.http.test_browser import browser, message_is, playwright, screenshot  # noqa: F401
from tests.controller.app.http.test_browser_kiosk import PORTRAITS, goto
from tests.support.axe import axe_violations
from tests.support.bank import RunningBank


def check(page: Any, screen: str, found: dict[str, list[str]]) -> None:
    """axe on the screen as it is, then in the larger-text/high-contrast theme, then back."""
    found[screen] = axe_violations(page)
    page.click("[data-testid=larger-text]")
    found[f"{screen} (large)"] = axe_violations(page)
    page.click("[data-testid=larger-text]")


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_no_wcag_violation_on_any_kiosk_screen(
    browser: Any, web_bank: RunningBank, lang: str, tmp_path: Path  # noqa: F811
) -> None:
    found: dict[str, list[str]] = {}
    with open_page(browser, *PORTRAITS[0], bypass_csp=True) as page:
        goto(page, web_bank, f"?lang={lang}")
        check(page, "welcome", found)
        screenshot(page, f"kiosk-portrait-{lang}", tmp_path)
        page.click("[data-testid=larger-text]")
        screenshot(page, f"kiosk-portrait-{lang}-large", tmp_path)
        page.click("[data-testid=larger-text]")

        for digit in "123":
            page.click(f"[data-testid=key-{digit}]")
        check(page, "pin entry", found)
        page.fill("[data-testid=pin-input]", "99999999")
        page.click("[data-testid=pin-open]")
        message_is(page, "kiosk.pin_refused")
        check(page, "refused", found)

        page.click("[data-testid=deposit]")  # the simulator sends no frame (a dead camera): refused after 15 s
        message_is(page, "kiosk.look_at_camera")
        check(page, "deposit in progress", found)
        message_is(page, "kiosk.unavailable")

        page.select_option("[data-testid=sim-source]", "Colin_Powell")
        page.click("[data-testid=deposit]")
        message_is(page, "kiosk.deposit_open")
        check(page, "door open", found)
        door, pin = page.inner_text("[data-testid=door-number]"), page.inner_text("[data-testid=pin-code]")
        page.select_option("[data-testid=sim-source]", "")
        httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})
        message_is(page, "kiosk.deposit_done")
        check(page, "PIN shown", found)
        page.click("[data-testid=pin-kept]")
        page.fill("[data-testid=pin-input]", pin)  # free the locker again for the next language
        page.click("[data-testid=pin-open]")
        message_is(page, "kiosk.retrieval_open")
        httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})
        message_is(page, "kiosk.retrieval_done")

        page.click("[data-testid=help]")
        page.wait_for_selector("[data-testid=help-status][data-key='kiosk.help_requested']")
        check(page, "help requested", found)

        for theme in ("", " (large)"):  # any touch answers the warning: the theme is chosen before it comes
            goto(page, web_bank, f"?lang={lang}&idle_s=31&warn_s=30")  # the warning comes 1 s after a touch
            if theme:
                page.click("[data-testid=larger-text]")
            page.click("[data-testid=key-5]")
            page.wait_for_selector("[data-testid=more-time]", state="visible")
            found[f"timeout warning{theme}"] = axe_violations(page)
            assert page.is_visible("[data-testid=more-time]")
        screenshot(page, f"kiosk-timeout-{lang}-large", tmp_path)
    assert len(found) == 16 and not any(found.values()), {k: v for k, v in found.items() if v}


def test_help_asked_at_the_kiosk_is_answered_in_the_console(
    browser: Any, web_bank: RunningBank, tmp_path: Path  # noqa: F811
) -> None:
    with open_page(browser, *PORTRAITS[0], bypass_csp=True) as kiosk, open_page(browser) as console:
        console.goto(f"{web_bank.url}/operator?lang=en")
        console.fill("[data-testid=login-user]", OPERATOR[0])
        console.fill("[data-testid=login-password]", OPERATOR[1])
        console.click("[data-testid=login-submit]")
        console.wait_for_selector("[data-testid=grid] [data-compartment='1']")

        goto(kiosk, web_bank, "?lang=en")
        kiosk.click("[data-testid=key-7]")
        kiosk.click("[data-testid=help]")
        kiosk.wait_for_selector("[data-testid=help-status]:has-text('Staff have been called')")
        request = "[data-testid=help-requests] li:has-text('pin-entry')"
        console.wait_for_selector(request)  # shown by the live stream, no reload
        screenshot(console, "operator-help", tmp_path)
        console.click(f"{request} [data-testid=help-answer]")
        console.wait_for_selector(request, state="detached")
        kiosk.wait_for_selector("[data-testid=help-status][data-key='kiosk.help_answered']")
        assert "answered your call" in kiosk.inner_text("[data-testid=help-status]")
