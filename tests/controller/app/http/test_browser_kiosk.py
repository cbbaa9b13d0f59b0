"""The kiosk for everyone, in a real Chromium on a real bank: reach, fonts, keyboard, 200% text, time, voice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.controller.app.http.conftest import open_page
from tests.controller.app.http.test_browser import AUTH, browser, message_is, playwright  # noqa: F401 - fixtures
from tests.support.bank import RunningBank

PORTRAITS = [(1080, 1920), (768, 1366)]
REACH = 1 - 500 / 708  # a 32" 9:16 panel (708 mm tall, bottom at 70 cm): 120 cm is 500 mm up the panel
CONTROLS = "button, a[href], select, input, [tabindex]:not([tabindex='-1'])"
# Every control outside the simulator panel (a developer's tool, not the kiosk's): its box and name.
BOXES = f"""() => [...document.querySelectorAll("{CONTROLS}")]
  .filter((el) => el.offsetParent !== null && !el.closest("#simulator"))
  .map((el) => {{ const r = el.getBoundingClientRect();
    return {{id: el.dataset.testid || el.id || el.textContent, top: r.top + scrollY,
             width: r.width, height: r.height}}; }})"""


@pytest.fixture
def kiosk(browser: Any, web_bank: RunningBank) -> Iterator[Any]:  # noqa: F811
    """A portrait kiosk page (1080x1920); every request it makes is logged in ``page.requests``."""
    with open_page(browser, *PORTRAITS[0], bypass_csp=True) as page:
        yield page


def goto(page: Any, bank: RunningBank, query: str = "") -> None:
    page.goto(f"{bank.url}/{query}")
    page.wait_for_selector("body[data-ready=true]")
    message_is(page, "kiosk.welcome")


def tab_to(page: Any, testid: str) -> None:
    """Press Tab until the control ``testid`` has the focus (as a keyboard user would)."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.locator(f"[data-testid={testid}]:focus").count():
            return
    raise AssertionError(f"{testid} never took the focus by Tab")


def focused(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement.dataset.testid || document.activeElement.id || "
                             "document.activeElement.tagName"))


@pytest.mark.parametrize("size", PORTRAITS, ids=["1080x1920", "768x1366"])
def test_every_control_is_low_large_and_named_on_a_portrait_kiosk(
    browser: Any, web_bank: RunningBank, size: tuple[int, int]  # noqa: F811
) -> None:
    with open_page(browser, *size, bypass_csp=True) as page:
        goto(page, web_bank)
        boxes = page.evaluate(BOXES)
        assert len(boxes) >= 20  # deposit, PIN field and its 13 keys and open button, the tools, the languages
        high = [b["id"] for b in boxes if b["top"] < REACH * size[1]]
        small = [b["id"] for b in boxes if b["width"] < 44 or b["height"] < 44]
        assert not high and not small, (high, small)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size[0]  # no sideways scrolling
        assert page.get_attribute("[data-testid=lang-ko] >> xpath=..", "aria-label") == "언어 선택"
        assert page.evaluate("() => getComputedStyle(document.getElementById('message')).wordBreak") == "keep-all"
        page.click("[data-testid=lang-en]")
        message_is(page, "kiosk.welcome")
        assert page.get_attribute("[data-testid=lang-ko] >> xpath=..", "aria-label") == "Language"


def test_the_page_loads_nothing_from_elsewhere_and_draws_korean_in_its_own_font(
    kiosk: Any, web_bank: RunningBank
) -> None:
    goto(kiosk, web_bank)
    kiosk.evaluate("() => document.fonts.ready")
    faces = kiosk.evaluate("() => [...document.fonts].filter((f) => f.status === 'loaded').map((f) => f.family)")
    assert '"Lockers Kiosk Sans"' in faces or "Lockers Kiosk Sans" in faces, faces
    assert kiosk.evaluate("() => document.fonts.check('32px \"Lockers Kiosk Sans\"', '보관하기')")
    assert any(url.endswith(".woff2") for url in kiosk.requests)
    foreign = [url for url in kiosk.requests if not url.startswith(web_bank.url + "/")]
    assert not foreign, foreign


def test_a_deposit_and_its_retrieval_by_keyboard_only(kiosk: Any, web_bank: RunningBank) -> None:
    goto(kiosk, web_bank, "?lang=en")
    kiosk.select_option("[data-testid=sim-source]", "Colin_Powell")  # the camera sees the depositor
    tab_to(kiosk, "deposit")
    kiosk.keyboard.press("Enter")
    assert focused(kiosk) == "message"  # never dropped to the page body while the button is disabled
    message_is(kiosk, "kiosk.deposit_open")
    door = kiosk.inner_text("[data-testid=door-number]")
    pin = kiosk.inner_text("[data-testid=pin-code]")
    kiosk.select_option("[data-testid=sim-source]", "")
    httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})  # the depositor shuts the door
    message_is(kiosk, "kiosk.deposit_done")
    assert focused(kiosk) == "pin-kept"  # the next thing to do: say the PIN is written down
    kiosk.keyboard.press("Enter")
    message_is(kiosk, "kiosk.welcome")
    assert focused(kiosk) == "deposit"

    tab_to(kiosk, "pin-input")
    kiosk.keyboard.type(pin)
    kiosk.keyboard.press("Enter")
    message_is(kiosk, "kiosk.retrieval_open")
    assert kiosk.inner_text("[data-testid=door-number]") == door
    httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})
    message_is(kiosk, "kiosk.retrieval_done")
    states = httpx.get(f"{web_bank.url}/compartments", headers=AUTH).json()["compartments"]
    assert all(row["state"] == "free" for row in states)


def test_a_deposit_and_its_retrieval_at_200_percent_text_with_the_keypad(kiosk: Any, web_bank: RunningBank) -> None:
    goto(kiosk, web_bank)
    kiosk.click("[data-testid=larger-text]")
    assert kiosk.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "32px"
    assert kiosk.get_attribute("[data-testid=larger-text]", "aria-pressed") == "true"
    assert kiosk.evaluate("() => document.documentElement.scrollWidth") <= 1080
    kiosk.select_option("[data-testid=sim-source]", "Colin_Powell")
    kiosk.click("[data-testid=deposit]")
    message_is(kiosk, "kiosk.deposit_open")
    door, pin = kiosk.inner_text("[data-testid=door-number]"), kiosk.inner_text("[data-testid=pin-code]")
    kiosk.select_option("[data-testid=sim-source]", "")
    httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})
    message_is(kiosk, "kiosk.deposit_done")
    kiosk.click("[data-testid=pin-kept]")
    for digit in pin:
        kiosk.click(f"[data-testid=key-{digit}]")
    kiosk.click("[data-testid=key-back]")
    kiosk.click(f"[data-testid=key-{pin[-1]}]")
    assert kiosk.input_value("[data-testid=pin-input]") == pin
    kiosk.click("[data-testid=pin-open]")
    message_is(kiosk, "kiosk.retrieval_open")
    httpx.post(f"{web_bank.url}/simulate/doors/{door}", json={"action": "close"})
    message_is(kiosk, "kiosk.retrieval_done")
    assert kiosk.get_attribute("[data-testid=larger-text]", "aria-pressed") == "true"  # lasts the whole session


def test_the_idle_warning_offers_more_time_and_the_reset_forgets_the_person(kiosk: Any, web_bank: RunningBank) -> None:
    goto(kiosk, web_bank, "?lang=en&idle_s=2&warn_s=1.2")  # shortened for the test only
    kiosk.click("[data-testid=larger-text]")
    for _ in range(8):  # typing a PIN slowly: the field never expires while keys come
        kiosk.click("[data-testid=key-1]")
        kiosk.wait_for_timeout(500)
    assert kiosk.is_hidden("[data-testid=timeout]")
    for _ in range(10):
        kiosk.wait_for_selector("[data-testid=more-time]", state="visible")
        assert "seconds" in kiosk.inner_text("[data-testid=timeout]")
        assert focused(kiosk) == "more-time"
        kiosk.keyboard.press("Enter")
        assert kiosk.is_hidden("[data-testid=timeout]")
    assert kiosk.input_value("[data-testid=pin-input]") == "11111111"
    kiosk.wait_for_selector("[data-testid=timeout]", state="visible")
    kiosk.wait_for_selector("[data-testid=timeout]", state="hidden")  # no answer: the session ends
    assert kiosk.input_value("[data-testid=pin-input]") == ""
    assert kiosk.get_attribute("[data-testid=larger-text]", "aria-pressed") == "false"
    assert kiosk.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "16px"


def test_voice_guidance_speaks_in_flow_order_and_says_when_no_voice_is_installed(
    kiosk: Any, web_bank: RunningBank
) -> None:
    goto(kiosk, web_bank, "?lang=en")
    kiosk.select_option("[data-testid=voice-speed]", "0.75")
    kiosk.click("[data-testid=voice]")
    assert kiosk.get_attribute("[data-testid=voice]", "aria-pressed") == "true"
    voices = kiosk.evaluate("() => speechSynthesis.getVoices().filter((v) => v.lang.startsWith('en')).length")
    assert kiosk.is_visible("[data-testid=voice-missing]") == (voices == 0)
    kiosk.click("[data-testid=deposit]")  # the simulator sends no frame: a dead camera, refused in 15 s
    message_is(kiosk, "kiosk.unavailable")
    spoken = kiosk.locator("[data-testid=spoken] li").all_inner_texts()
    assert spoken[:2] == ["To store something, press 'Deposit'. To collect it, look at the camera.",
                          "Look straight at the camera. We are registering your face."]
    assert spoken[-1].startswith("The lockers cannot take a deposit right now")
