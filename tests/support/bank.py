"""A real ``lockers run --simulate`` process with its HTTP API on a free loopback port."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.cli import LOCKERS, lockers_env
from tests.support.waiting import wait_until_serving

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


def write_config(directory: Path, extra: str = "", api: str = "") -> Path:
    token_hash = hashlib.sha256(OPERATOR_TOKEN.encode()).hexdigest()
    config = directory / "lockers.toml"
    config.write_text(
        f"""
[bank]
compartments = 4
data_dir = "{directory}"

[api]
operator_token_sha256 = "{token_hash}"
{api}

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


def start_bank(directory: Path, *args: str, extra: str = "", api: str = "") -> RunningBank:
    port = free_port()
    log_path = directory / "daemon.log"
    command = [*LOCKERS, "--log-format", "json", "run", "--config", str(write_config(directory, extra, api)),
               "--port", str(port), *args]
    process = subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
                               env=lockers_env(directory))
    bank = RunningBank(process, f"http://127.0.0.1:{port}", directory, log_path)
    wait_until_serving(process, bank.url, bank.log, 90)
    return bank


def stop_bank(running: RunningBank) -> None:
    if running.process.poll() is None:
        running.process.terminate()
        running.process.wait(timeout=30)
