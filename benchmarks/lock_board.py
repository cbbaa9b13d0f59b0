"""Lock-board latency on loopback TCP against the simulator running in its own process.

    .venv/bin/python benchmarks/lock_board.py [--json] [--unlocks 1000] [--polls 1000]

Prints ``unlock_rtt_ms_p50/p99`` (one board-timed unlock pulse, request to acknowledgement) and
``poll_48_ms_p50`` (one bulk read of every door of a 48-compartment board).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script from a checkout without an install: the repository, not this folder, provides the packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.insert(0, str(REPO))

from plc.driver import ModbusLockDriver  # noqa: E402
from plc.registers import default_plc_config  # noqa: E402

COMPARTMENTS = 48
SIM_COMMAND = "import sys; from controller.app.cli.main import main; sys.argv[0] = 'lockers'; main()"


def start_simulator() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SIM_COMMAND,
            "plc-sim",
            "--port",
            "0",
            "--compartments",
            str(COMPARTMENTS),
            "--behaviour",
            "stay-closed",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    if "simulator" not in banner:
        process.kill()
        raise SystemExit(f"simulator did not start: {banner!r}")
    return process, int(banner.split(":")[2].split()[0])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(port: int, unlocks: int, polls: int) -> dict[str, float]:
    config = default_plc_config(COMPARTMENTS, "127.0.0.1", port, timeout_s=1.0)
    async with ModbusLockDriver(config) as driver:
        await driver.read_doors()  # connect and warm up
        unlock_ms = []
        for i in range(unlocks):
            started = time.perf_counter()
            await driver.unlock(i % COMPARTMENTS + 1, 100)
            unlock_ms.append((time.perf_counter() - started) * 1000)
        poll_ms = []
        for _ in range(polls):
            started = time.perf_counter()
            await driver.read_doors()
            poll_ms.append((time.perf_counter() - started) * 1000)
    return {
        "unlock_rtt_ms_p50": round(statistics.median(unlock_ms), 3),
        "unlock_rtt_ms_p99": round(percentile(unlock_ms, 0.99), 3),
        "poll_48_ms_p50": round(statistics.median(poll_ms), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--unlocks", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=1000)
    args = parser.parse_args()
    process, port = start_simulator()
    try:
        result = asyncio.run(measure(port, args.unlocks, args.polls))
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<20} {value:8.3f}")


if __name__ == "__main__":
    main()
