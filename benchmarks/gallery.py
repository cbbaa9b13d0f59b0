"""Time 1:N identification over N templates (default 100,000 x 128-d, float32).

Usage: .venv/bin/python benchmarks/gallery.py [--size N] [--dimensions D] [--repeats R] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and benchmarks/recognition.py shadows the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from recognition.gallery import Gallery  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--metric", default="euclidean")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    gallery = Gallery(args.dimensions, args.metric, capacity=args.size)
    for i, row in enumerate(rng.standard_normal((args.size, args.dimensions)).astype(np.float32)):
        gallery.add(f"c{i}", row)
    probes = rng.standard_normal((args.repeats, args.dimensions)).astype(np.float32)
    timings = []
    for probe in probes:
        start = time.perf_counter()
        gallery.search(probe)
        timings.append((time.perf_counter() - start) * 1000.0)
    result = {
        "size": args.size,
        "dimensions": args.dimensions,
        "metric": args.metric,
        "identify_ms_p50": round(float(np.percentile(timings, 50)), 3),
        "identify_ms_p95": round(float(np.percentile(timings, 95)), 3),
    }
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
