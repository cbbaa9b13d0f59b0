"""A real ``lockers run --simulate`` process with its HTTP API on a free loopback port."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

OPERATOR_TOKEN = "test-operator-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningBank:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log_path: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def write_config(directory: Path, extra: str = "") -> Path:
    token_hash = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    config = directory / "lockers.toml"
    config.write_text(
        f"""
[bank]
compartments = 4
data_dir = "{directory}"

[api]
operator_token_sha256 = "{token_hash}"

[recognition]
min_face_size = 40
min_face_px = 40
threshold = 0.5
frames_required = 2
frames_window = 4

[timeouts]
unlocked_door_not_opened_s = 60.0
{extra}
"""
    )
    return config


def start_bank(directory: Path, *args: str, extra: str = "") -> RunningBank:
    port = free_port()
    log_path = directory / "daemon.log"
    env = {**os.environ, "LOCKERS_DATA_DIR": str(directory)}
    command = [sys.executable, "-m", "controller", "--log-format", "json", "run", "--config",
               str(write_config(directory, extra)), "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=env)
    bank = RunningBank(process, f"http://127.0.0.1:{port}", directory, log_path)
    wait_until_serving(process, bank.url, bank.log, 90)
    return bank


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Callable[[], str], seconds: float) -> None:
    """Until ``lockers run`` answers ``/healthz``; its log in the error if it exits or never does (then killed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"lockers run exited early:\n{log()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"lockers run did not come up:\n{log()}")


def stop_bank(running: RunningBank) -> None:
    if running.process.poll() is None:
        running.process.terminate()
        running.process.wait(timeout=30)


@pytest.fixture
def bank(tmp_path: Path, assets: Path) -> Iterator[RunningBank]:
    """A fresh bank per test: no test sees another's compartments, and one may stop its bank."""
    running = start_bank(tmp_path, "--simulate")
    yield running
    stop_bank(running)
