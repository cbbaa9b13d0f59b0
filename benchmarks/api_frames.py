"""Does the API stay responsive while large frames arrive? ``/healthz`` latency during concurrent PNG uploads.

    .venv/bin/python benchmarks/api_frames.py [--json] [--frames 8] [--width 1800] [--height 1350]

Starts a real ``lockers run --simulate`` (temporary data dir, free loopback port), makes ``--frames``
noise PNGs of ``--width`` x ``--height`` (noise does not compress: each is about width*height*3 bytes,
under the 10 MiB body limit at the defaults), posts them all at once to ``/simulate/frames`` from
as many threads while another thread asks ``/healthz`` every 20 ms, and reports the health-check
latencies seen during the uploads (every probe counts) and how long the uploads took. Frames are
decoded in a worker thread, one at a time, so the event loop keeps answering.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def noise_png(width: int, height: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOCKERS_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "controller", "--log-level", "WARNING", "run", "--simulate", "--port", str(port)]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("lockers run did not come up")


def measure(url: str, frames: list[bytes]) -> dict[str, float]:
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=60.0) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get(f"{url}/healthz")
                latencies.append((time.perf_counter() - started) * 1000.0)
                time.sleep(0.02)

    def upload(frame: bytes) -> int:
        return httpx.post(f"{url}/simulate/frames", content=frame, timeout=120.0).status_code

    prober = threading.Thread(target=probe)
    prober.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(len(frames)) as pool:
        codes = list(pool.map(upload, frames))
    uploads_s = time.perf_counter() - started
    done.set()
    prober.join()
    return {
        "uploads_s": round(uploads_s, 3),
        "accepted": float(codes.count(202)),
        "healthz_probes": float(len(latencies)),
        "healthz_ms_p50": round(statistics.median(latencies), 1),
        "healthz_ms_max": round(max(latencies), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=1800)
    parser.add_argument("--height", type=int, default=1350)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frames = [noise_png(args.width, args.height, seed) for seed in range(args.frames)]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lockers-bench-") as data_dir:
        process = start(Path(data_dir), port)
        try:
            result = measure(f"http://127.0.0.1:{port}", frames)
        finally:
            process.terminate()
            process.wait(timeout=30)
    result.update(
        frames=float(args.frames),
        frame_mb=round(statistics.mean(len(f) for f in frames) / 1e6, 2),
        machine=f"{platform.machine()} {os.cpu_count()} cpus",
    )
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k:>16}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
