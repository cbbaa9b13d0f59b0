"""Who may call what, on a real ``lockers run --simulate`` over loopback: refusals, sessions, roles, limits."""

from __future__ import annotations

import re

import pytest

from controller.app.http.web.pages import STATIC
from tests.controller.app.http.conftest import AUDITOR, OPERATOR, log_in
from tests.support.bank import RunningBank
from tests.support.cli import quiet_lockers

ANONYMOUS_REFUSED = [
    ("GET", "/compartments"),
    ("GET", "/events"),
    ("GET", "/metrics"),
    ("GET", "/operator/export"),
    ("GET", "/operator/compartments/1/timeline"),
    ("POST", "/operator/alarms/1/clear"),
    ("POST", "/operator/compartments/1/out-of-service"),
    ("POST", "/operator/compartments/1/in-service"),
    ("POST", "/operator/logout"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_REFUSED)
def test_anonymous_calls_are_refused(web_bank: RunningBank, method: str, path: str) -> None:
    with web_bank.client() as client:
        response = client.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 401, response.text
        assert "operator_id" not in response.text and "subject" not in response.text


def test_a_session_acts_as_the_logged_in_operator_and_needs_its_csrf_token(web_bank: RunningBank) -> None:
    with web_bank.client() as client:
        session = log_in(client, *OPERATOR)
        path = "/operator/compartments/2/out-of-service"
        body = {"operator_id": "mallory", "note": "cleaning"}
        assert client.post(path, json=body, headers=session.headers(csrf=False)).status_code == 403
        assert client.post(path, json=body, headers=session.headers()).json()["state"] == "alarm"
        back = client.post("/operator/compartments/2/in-service", json={}, headers=session.headers())
        assert back.json()["state"] == "free"
        events = client.get("/operator/compartments/2/timeline", headers=session.headers()).json()["events"]
    assert [e["type"] for e in events] == ["AlarmRaised", "AlarmCleared"]
    assert {e["payload"]["operator_id"] for e in events} == {"alice"}  # never "mallory" from the body


def test_wrong_passwords_are_refused_then_the_name_is_locked_for_a_while(web_bank: RunningBank) -> None:
    with web_bank.client() as client:
        codes = [client.post("/operator/login", json={"name": "eve", "password": f"guess-{n}"}).status_code
                 for n in range(6)]
        assert codes == [401] * 5 + [429]
        assert client.post("/operator/login", json={"name": "alice", "password": "wrong"}).status_code == 401


def test_an_auditor_reads_but_cannot_act(web_bank: RunningBank) -> None:
    with web_bank.client() as client:
        session = log_in(client, *AUDITOR)
        assert client.get("/compartments", headers=session.headers()).status_code == 200
        assert client.get("/metrics", headers=session.headers()).status_code == 200
        refused = client.post("/operator/compartments/3/out-of-service", json={}, headers=session.headers())
        assert refused.status_code == 403 and "auditor" in refused.json()["detail"]


def test_logout_ends_the_session(web_bank: RunningBank) -> None:
    with web_bank.client() as client:
        session = log_in(client, *OPERATOR)
        assert client.get("/operator/session", headers=session.headers()).json()["name"] == "alice"
        assert client.post("/operator/logout", headers=session.headers()).status_code == 200
        assert client.get("/compartments", headers=session.headers()).status_code == 401


def test_a_per_operator_token_acts_as_its_operator(web_bank: RunningBank) -> None:
    token = quiet_lockers("operators", "token", "alice", data_dir=web_bank.data_dir).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    with web_bank.client() as client:
        assert client.post("/operator/compartments/3/out-of-service", json={}, headers=auth).status_code == 200
        assert client.post("/operator/compartments/3/in-service", json={}, headers=auth).status_code == 200
        events = client.get("/operator/compartments/3/timeline", headers=auth).json()["events"]
        export = client.get("/operator/export", headers=auth)
    assert events[-1]["payload"]["operator_id"] == "alice"
    assert export.headers["content-type"].startswith("application/x-ndjson")
    assert '"event_type": "AlarmCleared"' in export.text
    with web_bank.client() as client:
        assert client.get("/compartments", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_bodies_over_the_limit_are_refused_declared_or_streamed(web_bank: RunningBank) -> None:
    too_big = b"\xff" * (10 * 1024 * 1024 + 1)

    def chunks() -> object:
        for start in range(0, len(too_big), 1 << 20):
            yield too_big[start : start + (1 << 20)]

    with web_bank.client() as client:
        declared = client.post("/simulate/frames", content=too_big)
        streamed = client.post("/simulate/frames", content=chunks())  # type: ignore[arg-type]
        assert declared.status_code == 413 and streamed.status_code == 413
        assert "larger than 10485760 bytes" in streamed.json()["detail"]
        assert client.get("/healthz").json()["status"] == "ok"


def test_pages_are_korean_by_default_with_a_content_security_policy(web_bank: RunningBank) -> None:
    with web_bank.client() as client:
        kiosk = client.get("/")
        english = client.get("/operator?lang=en")
        assert '<html lang="ko"' in kiosk.text and '<html lang="en"' in english.text
        assert "script-src 'self'" in kiosk.headers["content-security-policy"]
        assert client.get("/docs").status_code == 404  # the stock page loads a CDN: off unless api.docs
        assert client.get("/assets/../api.py").status_code == 404


def test_assets_load_nothing_from_elsewhere() -> None:
    for path in STATIC.rglob("*"):
        # What a browser reads and follows; the font's binary and its licence text load nothing.
        if path.is_file() and path.suffix in {".html", ".js", ".css", ".json"}:
            assert not re.search(r"https?://|//cdn", path.read_text(encoding="utf-8")), path
