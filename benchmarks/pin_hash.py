"""How long does a one-time PIN cost? Issuing (one scrypt hash) and matching against N compartments.

    .venv/bin/python benchmarks/pin_hash.py [--json] [--trials 10] [--candidates 1 6 24]

Uses the real vault (``storage.templates.SqliteTemplateStore`` in a temporary folder) with its scrypt
parameters (``storage.pins``). Matching hashes the typed PIN once per compartment holding a PIN, every one
of them whatever matched, so its time grows linearly with the occupied compartments and tells nothing about
which (if any) matched: the report gives p50 and max for a right and a wrong PIN at each size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from storage.pins import SCRYPT_N, SCRYPT_P, SCRYPT_R
from storage.templates import SqliteTemplateStore


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def measure(vault: SqliteTemplateStore, candidates: int, trials: int) -> dict[str, float]:
    pins = [f"{n:08d}" for n in range(10_000_000, 10_000_000 + candidates)]
    refs = [vault.put_pin(pin) for pin in pins]
    right = [timed(vault.match_pin, pins[-1], refs) for _ in range(trials)]
    wrong = [timed(vault.match_pin, "99999999", refs) for _ in range(trials)]
    return {
        "candidates": candidates,
        "right_p50_ms": statistics.median(right) * 1000,
        "right_max_ms": max(right) * 1000,
        "wrong_p50_ms": statistics.median(wrong) * 1000,
        "wrong_max_ms": max(wrong) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--candidates", type=int, nargs="+", default=[1, 6, 24])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        vault = SqliteTemplateStore(Path(folder) / "templates.db", os.urandom(32))
        issue = [timed(vault.put_pin, "12345678") for _ in range(args.trials)]
        rows = [measure(vault, n, args.trials) for n in args.candidates]
        vault.close()
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "scrypt": {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "issue_p50_ms": statistics.median(issue) * 1000,
        "trials": args.trials,
        "match": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['machine']}; scrypt N={SCRYPT_N} r={SCRYPT_R} p={SCRYPT_P}; {args.trials} trials each")
    print(f"issue a PIN: p50 {report['issue_p50_ms']:.0f} ms")
    for row in rows:
        right = f"right p50 {row['right_p50_ms']:.0f} ms (max {row['right_max_ms']:.0f})"
        print(f"match among {row['candidates']:>3}: {right},"
              f" wrong p50 {row['wrong_p50_ms']:.0f} ms (max {row['wrong_max_ms']:.0f})")


if __name__ == "__main__":
    main()
