"""The HTTP API of a real ``lockers run --simulate`` process, over loopback."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from controller.service.bridge import BridgeSettings
from tests.support.bank import OPERATOR_TOKEN, RunningBank, start_bank, stop_bank
from tests.support.cli import lockers
from tests.support.waiting import wait_until

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def powell(assets: Path, number: int) -> bytes:
    return (assets / f"data/lfw-dev/images/Colin_Powell/Colin_Powell_{number:04d}.jpg").read_bytes()


def compartment(client: httpx.Client, cid: str) -> dict[str, object]:
    rows = client.get("/compartments", headers=AUTH).json()["compartments"]
    return next(row for row in rows if row["id"] == cid)


def test_health_and_openapi(bank: RunningBank) -> None:
    with bank.client() as client:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["recognition"] == "ok"
        assert {name: part["status"] for name, part in health["components"].items()} == {
            "camera": "ok",
            "board": "ok",
            "storage": "ok",
            "recognition": "ok",
        }
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/compartments", "/deposit", "/events", "/operator/alarms/{compartment_id}/clear"} <= set(paths)
        assert len(client.get("/compartments", headers=AUTH).json()["compartments"]) == 4


def test_operator_actions_need_the_token(bank: RunningBank) -> None:
    with bank.client() as client:
        body = {"operator_id": "ops-1"}
        assert client.post("/operator/alarms/4/clear", json=body).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert client.post("/operator/alarms/4/clear", json=body, headers=wrong).status_code == 401
        assert client.post("/operator/alarms/4/clear", json={"note": "x" * 501}, headers=AUTH).status_code == 422


def test_forced_door_is_streamed_live_and_cleared_by_an_operator(bank: RunningBank) -> None:
    received: list[dict[str, object]] = []

    def listen() -> None:
        with httpx.stream("GET", f"{bank.url}/events", headers=AUTH, timeout=30.0) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    if received[-1]["type"] == "AlarmCleared":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    with bank.client() as client:
        assert client.post("/simulate/doors/4", json={"action": "force"}).status_code == 200
        wait_until(lambda: compartment(client, "4")["state"] == "alarm", 20)
        assert compartment(client, "4")["alarm"] == "forced_open"
        clear = {"operator_id": "ops-7", "note": "checked the hinge"}
        refused = client.post("/operator/alarms/4/clear", json=clear, headers=AUTH)
        assert refused.status_code == 409 and "close the door" in refused.json()["detail"]
        client.post("/simulate/doors/4", json={"action": "close"})
        wait_until(lambda: compartment(client, "4")["door"] == "closed", 20)
        cleared = client.post("/operator/alarms/4/clear", json=clear, headers=AUTH)
        assert cleared.status_code == 200 and cleared.json()["state"] == "free"
    listener.join(timeout=20)
    kinds = [(event["compartment_id"], event["type"]) for event in received]
    assert ("4", "AlarmRaised") in kinds and ("4", "AlarmCleared") in kinds
    cleared_event = next(event for event in received if event["type"] == "AlarmCleared")
    # The shared token is recorded as itself: a name typed into the body is only an unverified claim in the note.
    assert cleared_event["payload"]["operator_id"] == "shared-token"  # type: ignore[index]
    assert "claimed with the shared token: ops-7" in cleared_event["payload"]["note"]  # type: ignore[index]


def stream_ids(bank: RunningBank, count: int, query: str = "", headers: dict[str, str] | None = None,
               then: Callable[[], object] | None = None) -> list[int]:
    """The SSE ids (log positions) of the first ``count`` events of ``/events{query}``; ``then`` runs once open."""
    ids: list[int] = []
    opened = threading.Event()

    def listen() -> None:
        url, sent = f"{bank.url}/events{query}", {**AUTH, **(headers or {})}
        with httpx.stream("GET", url, headers=sent, timeout=30) as stream:
            opened.set()
            for line in stream.iter_lines():
                if line.startswith("id: "):
                    ids.append(int(line[4:]))
                    if len(ids) == count:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(20)
    if then is not None:
        then()
    listener.join(timeout=20)
    assert len(ids) == count, ids
    return ids


def test_events_resume_after_last_event_id_and_a_console_can_skip_the_replay(bank: RunningBank) -> None:
    with bank.client() as client:
        for action in ("force", "close"):
            assert client.post("/simulate/doors/3", json={"action": action}).status_code == 200
        wait_until(lambda: compartment(client, "3")["door"] == "closed", 20)
        replayed = stream_ids(bank, 2)
        assert replayed == sorted(replayed) and replayed[0] >= 1
        resumed = stream_ids(bank, 1, headers={"Last-Event-ID": str(replayed[0])})
        assert resumed == [replayed[1]]  # what a reconnecting browser missed, not the log from the start
        clear = {"note": "hinge checked"}
        live = stream_ids(bank, 1, "?replay=false",
                          then=lambda: client.post("/operator/alarms/3/clear", json=clear, headers=AUTH))
    everything = stream_ids(bank, 1, f"?after={live[0] - 1}")
    assert everything == live and live[0] > replayed[-1]  # the first event after opening is the new one


def push_frames(client: httpx.Client, frames: list[bytes], until: Callable[[], bool]) -> None:
    for frame in frames:
        assert client.post("/simulate/frames", content=frame).status_code == 202
        time.sleep(0.4)
        if until():
            return


def test_deposit_then_retrieval_by_face(bank: RunningBank, assets: Path) -> None:
    with bank.client() as client, ThreadPoolExecutor(1) as pool:
        deposit = pool.submit(client.post, "/deposit")
        push_frames(client, [powell(assets, n) for n in (1, 2, 3, 4, 5, 6)], deposit.done)
        response = deposit.result(timeout=30)
        assert response.status_code == 201, response.text
        cid = response.json()["compartment_id"]
        assert cid == "1"
        wait_until(lambda: compartment(client, cid)["door"] == "open", 20)  # the simulator pops the door
        client.post(f"/simulate/doors/{cid}", json={"action": "close"})
        wait_until(lambda: compartment(client, cid)["state"] == "occupied", 20)
        time.sleep(BridgeSettings().depositor_away_s)  # the depositor walks away before coming back

        push_frames(
            client, [powell(assets, n) for n in range(10, 24)], lambda: compartment(client, cid)["state"] == "open"
        )
        assert compartment(client, cid)["state"] == "open"
        metrics = client.get("/metrics", headers=AUTH).text
        assert 'lockers_decisions_total{decision="confirmed"} 1.0' in metrics
        assert 'lockers_unlocks_total{outcome="sent"} 2.0' in metrics
        assert "lockers_recognition_frame_seconds_count" in metrics


def test_garbage_frame_is_refused_with_a_clear_error(bank: RunningBank) -> None:
    with bank.client() as client:
        response = client.post("/simulate/frames", content=b"not an image")
        assert response.status_code == 422
        assert "not an image" in response.json()["detail"]


def test_sigterm_shuts_down_cleanly_and_leaves_a_verifiable_log(bank: RunningBank) -> None:
    bank.process.send_signal(signal.SIGTERM)
    assert bank.process.wait(timeout=30) == 0
    assert "bank stopped cleanly" in bank.log()
    verify = lockers("audit", "verify", "--json", "--db", f"sqlite:///{bank.data_dir / 'lockers.db'}")
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["ok"] is True


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = lockers("run", "--simulate", "--port", str(port), data_dir=tmp_path, timeout=60)
    assert result.returncode == 2
    assert f"cannot serve the HTTP API on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_compartments_are_404_and_refusals_409_in_plain_words(bank: RunningBank) -> None:
    with bank.client() as client:
        body = {"operator_id": "ops-1"}
        unknown = client.post("/operator/alarms/99/clear", json=body, headers=AUTH)
        assert unknown.status_code == 404 and "no compartment '99'" in unknown.json()["detail"]
        assert client.post("/simulate/doors/99", json={"action": "open"}).status_code == 404
        refused = client.post("/operator/alarms/2/clear", json=body, headers=AUTH)
        assert refused.status_code == 409
        detail = refused.json()["detail"]
        assert detail == "compartment 2 is free, so it cannot clear alarm now: only allowed in alarm"


def test_an_unopenable_camera_makes_the_bank_degraded(tmp_path: Path) -> None:
    running = start_bank(tmp_path, "--simulate", "--camera", "http://127.0.0.1:9/no-camera-here")
    try:
        with running.client() as client:
            wait_until(lambda: client.get("/healthz").json()["status"] == "degraded", 40)
            health = client.get("/healthz").json()
        camera = health["components"]["camera"]
        assert camera["status"] == "failed" and "http://127.0.0.1:9/no-camera-here" in camera["detail"]
        assert health["components"]["storage"]["status"] == "ok"
    finally:
        stop_bank(running)
