"""A kiosk is a credential, not an address: whom wrong PINs and failed logins count against."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.requests import Request

from controller.app.config.loader import load_config
from controller.app.http.access import Access, AccessSettings
from controller.app.http.clients import client_address, parse_networks
from controller.app.http.operators import OperatorDirectory, token_digest
from controller.app.http.throttle import LoginThrottle
from controller.domain.errors import ConfigError
from tests.support.bank import RunningBank

KIOSK_TOKEN = "kiosk-secret-token"


def request(peer: str, *forwarded: str, headers: dict[str, str] | None = None) -> Request:
    raw = [(b"x-forwarded-for", hop.encode()) for hop in forwarded]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "path": "/retrieve/pin", "headers": raw, "client": (peer, 1)})


def access_for(tmp_path: Path, *proxies: str) -> Access:
    settings = AccessSettings(kiosk_token_sha256=token_digest(KIOSK_TOKEN), trusted_proxies=parse_networks(proxies))
    return Access(OperatorDirectory(tmp_path / "operators.db"), settings)


def test_forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_address(request("127.0.0.1", "10.9.9.9"), ()) == "127.0.0.1"
    proxies = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address(request("192.0.2.5", "10.9.9.9"), proxies) == "192.0.2.5"  # not a proxy: header unread
    # Only the right-most hop no trusted proxy added counts: what the client wrote to its left is ignored.
    assert client_address(request("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1"), proxies) == "198.51.100.7"
    assert client_address(request("127.0.0.1", "6.6.6.6", "198.51.100.7"), proxies) == "198.51.100.7"
    assert client_address(request("127.0.0.1", "not-an-ip"), proxies) == "not-an-ip"
    assert client_address(request("127.0.0.1"), proxies) == "127.0.0.1"


def test_wrong_pins_count_against_the_kiosk_credential_wherever_it_comes_from(tmp_path: Path) -> None:
    access = access_for(tmp_path, "127.0.0.0/8")
    bearer = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    keys = {access.pin_key(request(peer, hop, headers=bearer)) for peer in ("127.0.0.1", "192.0.2.1")
            for hop in ("1.1.1.1", "2.2.2.2")}
    cookie = {"Cookie": f"lockers_kiosk={KIOSK_TOKEN}"}
    keys.add(access.pin_key(request("127.0.0.1", "3.3.3.3", headers=cookie)))
    assert keys == {"kiosk:kiosk"}
    # Without a credential (--simulate) the address is the fallback, read through the trusted proxy only.
    assert access.pin_key(request("127.0.0.1", "1.1.1.1")) == "address:1.1.1.1"
    assert access_for(tmp_path).pin_key(request("127.0.0.1", "1.1.1.1")) == "address:127.0.0.1"


def wrong_pins(bank: RunningBank, tries: int, forwarded: list[str]) -> list[int]:
    with bank.client() as client:
        return [client.post("/retrieve/pin", json={"pin": "1" * 8},
                            headers={"X-Forwarded-For": forwarded[n % len(forwarded)]}).status_code
                for n in range(tries)]


def test_rotating_x_forwarded_for_gets_no_more_guesses_than_a_fixed_one(bank: RunningBank) -> None:
    # A real `lockers run` over loopback: the server itself must not rewrite the peer from the header.
    rotating = wrong_pins(bank, 8, [f"203.0.113.{n}" for n in range(8)])
    assert rotating == [403] * 3 + [429] * 5  # [policy] pin_kiosk_failures = 3, then the cool-down
    assert wrong_pins(bank, 3, ["203.0.113.200"]) == [429] * 3  # the same kiosk, still cooling down


def test_failed_logins_slow_the_client_not_the_name() -> None:
    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(5):
        assert throttle.wait_s("6.6.6.6", "admin") == 0
        throttle.failed("6.6.6.6", "admin")
    assert throttle.wait_s("6.6.6.6", "admin") == pytest.approx(1.0)  # then 1 s, 2 s, 4 s ...
    assert throttle.wait_s("192.0.2.1", "admin") == 0  # the real admin, elsewhere, is not locked out
    waits = []
    for _ in range(15):
        now[0] += throttle.wait_s("6.6.6.6", "admin")
        throttle.failed("6.6.6.6", "admin")
        waits.append(throttle.wait_s("6.6.6.6", "admin"))
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0] and max(waits) == 300.0  # doubling, capped at five minutes


def test_a_name_spray_from_one_client_backs_off_too() -> None:
    throttle = LoginThrottle(clock=lambda: 0.0)
    for n in range(20):
        assert throttle.wait_s("6.6.6.6", f"user{n}") == 0
        throttle.failed("6.6.6.6", f"user{n}")
    assert throttle.wait_s("6.6.6.6", "someone-new") == 1.0
    assert throttle.wait_s("192.0.2.1", "someone-new") == 0


def test_a_throttled_login_says_when_and_a_right_password_elsewhere_still_works(tmp_path: Path) -> None:
    access = access_for(tmp_path)
    access.directory.add("admin", "admin-password-1")
    for _ in range(6):
        with pytest.raises(Exception) as refused:  # noqa: PT011 - HTTPException, 401 then 429
            access.login("admin", "wrong-password", "6.6.6.6")
    assert refused.value.status_code == 429 and refused.value.headers["Retry-After"] == "1"  # type: ignore[attr-defined]
    session_id, session = access.login("admin", "admin-password-1", "192.0.2.1")
    assert session_id and session.principal.name == "admin"



def test_disabling_an_account_ends_its_open_sessions(tmp_path: Path) -> None:
    access = access_for(tmp_path)
    access.directory.add("admin", "admin-password-1")
    session_id, _ = access.login("admin", "admin-password-1", "192.0.2.1")
    cookie = {"Cookie": f"lockers_session={session_id}"}
    assert access.session(request("192.0.2.1", headers=cookie)) is not None
    access.directory.set_disabled("admin", True)
    assert access.session(request("192.0.2.1", headers=cookie)) is None and not access.sessions


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text('[api]\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n')
    assert load_config(config).api.trusted_proxies == ["10.0.0.0/8", "::1"]
    config.write_text('[api]\ntrusted_proxies = ["nginx.local"]\n')
    with pytest.raises(ConfigError, match="trusted_proxies"):
        load_config(config)
