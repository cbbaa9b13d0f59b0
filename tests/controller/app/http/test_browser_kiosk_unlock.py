"""The kiosk says that a door did not open when the lock board refuses its pulse: real Chromium, Korean and English.

The bank is the daemon that ``lockers run --simulate`` runs (``Daemon``, same composition, same HTTP server), run
in this test's process so that the test holds its lock-board simulator: the board is made to refuse one door's
pulse (its pulse register answers ILLEGAL ADDRESS, as a board with another register map would: certainly not
sent) while every door still reads. Both ways the kiosk learns of it are driven: a PIN retrieval (the feed's
``unlock_failed`` and the PIN's answer) and a deposit (its answer's ``pulse``). Each time the kiosk must say
``kiosk.unlock_failed`` with the door's number, never that the door is open, and axe finds no WCAG violation.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from controller.app.config.location import bank_config
from controller.app.run.daemon import Daemon, RunOptions
from tests.controller.app.http.conftest import open_page
from tests.controller.app.http.test_browser import launch, message_is, screenshot, sync_api
from tests.controller.app.http.test_browser_kiosk import PORTRAITS
from tests.controller.app.http.test_browser_kiosk_axe import check
from tests.controller.app.http.test_console_catalogue import LANGUAGES, catalogue
from tests.support.bank import free_port, write_config
from tests.support.cli import BANK_VARIABLES
from tests.support.waiting import wait_until

T = TypeVar("T")
NOT_OPEN = {"ko": "문이 열리지 않았습니다", "en": "did not open"}  # what the words must say, whatever else they say


def serve_while(daemon: Daemon, url: str, drive: Callable[[], T]) -> T:
    """Run ``daemon`` on this thread's event loop; ``drive()`` (in a worker thread) once it serves; then stop it."""

    def serving(running: asyncio.Task[None]) -> bool:
        assert not running.done(), f"the bank stopped: {running.exception()!r}"
        try:
            return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    async def main() -> T:
        running = asyncio.create_task(daemon.run())
        try:
            await asyncio.to_thread(wait_until, lambda: serving(running), 90, "the bank did not come up", 0.3)
            return await asyncio.to_thread(drive)
        finally:
            daemon.stop_requested.set()  # as SIGTERM does
            await running

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return asyncio.run(main())
    finally:
        for sig, handler in handlers.items():  # the daemon installs its own
            signal.signal(sig, handler)


@contextmanager
def pulses_refused(daemon: Daemon, doors: list[str] | None = None) -> Iterator[None]:
    """The simulated board answers ILLEGAL ADDRESS to each of ``doors``' pulse (None: all); its doors still read."""
    assert daemon.stack is not None and daemon.stack.simulator is not None
    registers = daemon.stack.simulator.board.registers
    doors = doors or daemon.stack.views.compartment_ids()
    addresses = [daemon.stack.plc_config.board_of(int(door)).pulse_register(int(door)) for door in doors]
    # A dict's pop and update are atomic: the simulator's loop sees the register present or gone.
    kept = {address: registers.pop(address) for address in addresses}
    try:
        yield
    finally:
        registers.update(kept)


def says_unlock_failed(page: Any, lang: str, door: str) -> None:
    """The kiosk says ``kiosk.unlock_failed`` for ``door`` in ``lang``'s words, and no door as open.

    Read a second after the answer: by then the feed's message and the answer have both been heard, in
    whichever order they came, and nothing either says later may overwrite it.
    """
    message_is(page, "kiosk.unlock_failed")
    page.wait_for_timeout(1000)
    said = page.inner_text("[data-testid=message]")
    assert page.get_attribute("[data-testid=message]", "data-key") == "kiosk.unlock_failed", said
    assert said == catalogue(lang)["kiosk.unlock_failed"].format(door=door)
    assert NOT_OPEN[lang] in said and door in said  # the catalogue's words say so too
    assert page.is_hidden("#door")


def welcome(page: Any, url: str, lang: str) -> None:
    """The kiosk's page in ``lang``, ready; what it says stays a minute (while the test reads and checks it)."""
    page.goto(f"{url}/?lang={lang}&hold_s=60")
    page.wait_for_selector("body[data-ready=true]")


Drive = Callable[[Any, Daemon, str], None]
"""What a test does on the kiosk's page (``page``) of a serving bank (``daemon`` at ``url``)."""


def on_kiosk(tmp_path: Path, lang: str, drive: Drive) -> dict[str, list[str]]:
    """``drive`` on a portrait kiosk page in ``lang`` of a fresh simulate-mode bank; axe's findings per screen."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    daemon = Daemon(bank_config(write_config(tmp_path)), RunOptions(simulate=True, port=port))
    found: dict[str, list[str]] = {}

    def in_chromium() -> None:
        with sync_api.sync_playwright() as playwright, closing(launch(playwright)) as browser, \
                open_page(browser, *PORTRAITS[0], bypass_csp=True) as page:
            welcome(page, url, lang)
            drive(page, daemon, url)
            check(page, "unlock failed", found)
            screenshot(page, f"kiosk-unlock-failed-{lang}", tmp_path)

    serve_while(daemon, url, in_chromium)
    assert daemon.failure is None
    return found


def deposit(page: Any, url: str) -> tuple[str, str]:
    """Colin Powell's deposit, his door closed behind the item, the PIN kept: its door and PIN."""
    page.select_option("[data-testid=sim-source]", "Colin_Powell")
    page.click("[data-testid=deposit]")
    message_is(page, "kiosk.deposit_open")
    door, pin = page.inner_text("[data-testid=door-number]"), page.inner_text("[data-testid=pin-code]")
    page.select_option("[data-testid=sim-source]", "")  # he leaves: no face retrieval follows
    httpx.post(f"{url}/simulate/doors/{door}", json={"action": "close"}, timeout=30)
    message_is(page, "kiosk.deposit_done")
    page.click("[data-testid=pin-kept]")
    return door, pin


@pytest.fixture(autouse=True)
def own_bank(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own bank (``LOCKERS_DATA_DIR``, ``LOCKERS_MASTER_KEY``) stays out of the in-process one."""
    for name in BANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_pin_whose_pulse_the_board_refuses_is_said_not_to_open(lang: str, tmp_path: Path, assets: Path) -> None:
    def refused_pin(page: Any, daemon: Daemon, url: str) -> None:
        door, pin = deposit(page, url)
        with pulses_refused(daemon, [door]):
            page.fill("[data-testid=pin-input]", pin)
            with page.expect_response(f"{url}/retrieve/pin") as answer:
                page.click("[data-testid=pin-open]")
            assert answer.value.json()["pulse"] == "not_sent"
            says_unlock_failed(page, lang, door)

    found = on_kiosk(tmp_path, lang, refused_pin)
    assert len(found) == 2 and not any(found.values()), found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_deposit_whose_pulse_the_board_refuses_is_said_not_to_open(lang: str, tmp_path: Path, assets: Path) -> None:
    def refused_deposit(page: Any, daemon: Daemon, url: str) -> None:
        with pulses_refused(daemon):  # whichever compartment the deposit is given
            page.select_option("[data-testid=sim-source]", "Colin_Powell")
            with page.expect_response(f"{url}/deposit") as answer:
                page.click("[data-testid=deposit]")
            receipt = answer.value.json()
            assert receipt.get("pulse") == "not_sent", receipt
            page.select_option("[data-testid=sim-source]", "")
            says_unlock_failed(page, lang, receipt["compartment_id"])
            assert page.inner_text("[data-testid=pin-code]") == receipt["pin"]  # the person's way back

    found = on_kiosk(tmp_path, lang, refused_deposit)
    assert len(found) == 2 and not any(found.values()), found
