"""Does a threshold calibrated on one population hold on East Asian faces, raw or cohort (AS-)normalised?

    .venv/bin/python benchmarks/models_table.py      # first: fills the embedding cache (/tmp/lockers-model-cache)
    .venv/bin/python benchmarks/cohort_transfer.py [--model fr-feature+mobilefacenet] [--far 1e-3] [--json]

Identity-disjoint split of lfw-dev's non-East-Asian identities (pairsDevTest images) into a cohort half and
a calibration half; the threshold is set at ``--far`` on the calibration half's impostor pairs and applied,
unchanged, to every pair of the East Asian people (``people_east_asian.txt``). Two cohorts are compared: a
generic one (the non-East-Asian cohort half) and a site's (that plus half of the East Asian identities, the
other half then evaluated alone). Reports FAR and TAR there, with the number of pairs behind each.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CACHE = Path("/tmp/lockers-model-cache")
Floats = npt.NDArray[np.float32]
People = dict[str, Floats]  # identity -> (n, D) unit descriptors


def load(model: str, label: str, cache: Path = CACHE) -> People:
    """One set's cached descriptors per identity; a fusion concatenates its parts as FusedEmbedder does."""
    parts = [pickle.loads((cache / f"emb-{name}-{label}.pkl").read_bytes()) for name in model.split("+")]
    people: dict[str, list[Floats]] = {}
    for key in parts[0]:
        rows = [p[key] for p in parts]
        if any(r is None for r in rows):
            continue
        vector = np.concatenate([r / np.linalg.norm(r) for r in rows]) / np.sqrt(len(rows))
        people.setdefault(Path(key).parent.name, []).append(vector.astype(np.float32))
    return {name: np.stack(rows) for name, rows in people.items()}


def pairs(people: People) -> tuple[Floats, npt.NDArray[np.bool_], Floats, list[int]]:
    """Every pair of images: distances, same-person flags; also the stacked rows and their owners."""
    names = sorted(people)
    rows = np.concatenate([people[n] for n in names])
    owner = [i for i, n in enumerate(names) for _ in range(len(people[n]))]
    upper = np.triu_indices(len(rows), 1)
    distances = np.linalg.norm(rows[upper[0]] - rows[upper[1]], axis=1)
    same = np.array(owner)[upper[0]] == np.array(owner)[upper[1]]
    return distances.astype(np.float32), same, rows, owner


def as_norm(rows: Floats, distances: Floats, cohort: Floats, k: int) -> Floats:
    """Symmetric AS-norm of every pair's distance against the cohort's k nearest identities."""
    squared = (rows**2).sum(1)[:, None] + (cohort**2).sum(1)[None, :] - 2 * rows @ cohort.T
    to_cohort = np.sqrt(np.maximum(squared, 0))
    nearest = np.sort(to_cohort, axis=1)[:, :k]
    mean, std = nearest.mean(1), nearest.std(1) + 1e-6
    i, j = np.triu_indices(len(rows), 1)
    return np.asarray(0.5 * ((distances - mean[i]) / std[i] + (distances - mean[j]) / std[j]), dtype=np.float32)


def threshold_at(impostor: Floats, far: float) -> float:
    """The largest score that accepts at most ``far`` of the impostor pairs."""
    ordered = np.sort(impostor)
    return float(ordered[max(0, int(np.floor(far * len(ordered))) - 1)])


def measure(calibration: People, evaluated: People, cohort: Floats | None, far: float, k: int) -> dict[str, Any]:
    """Threshold at ``far`` on ``calibration``, applied to ``evaluated``: FAR and TAR there, with counts."""
    scored = []
    for people in (calibration, evaluated):
        distances, same, rows, _ = pairs(people)
        scores = distances if cohort is None else as_norm(rows, distances, cohort, k)
        scored.append((scores, same))
    (cal_scores, cal_same), (scores, same) = scored
    threshold = threshold_at(cal_scores[~cal_same], far)
    return {
        "threshold": round(threshold, 4),
        "calibration_impostor_pairs": int((~cal_same).sum()),
        "far": round(float((scores[~same] <= threshold).mean()), 5),
        "false_accepts": int((scores[~same] <= threshold).sum()),
        "impostor_pairs": int((~same).sum()),
        "tar": round(float((scores[same] <= threshold).mean()), 4),
        "genuine_pairs": int(same.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fr-feature+mobilefacenet")
    parser.add_argument("--far", type=float, default=1e-3)
    parser.add_argument("--k", type=int, default=20, help="cohort neighbours (AS-norm)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cache", type=Path, default=CACHE, help="models_table.py's embedding cache")
    args = parser.parse_args()
    lfw, east = load(args.model, "LFW", args.cache), load(args.model, "East", args.cache)
    others = sorted(set(lfw) - set(east))
    random.Random(args.seed).shuffle(others)
    cohort_names, calibration_names = others[: len(others) // 2], others[len(others) // 2:]
    calibration = {n: lfw[n] for n in calibration_names if len(lfw[n]) > 0}
    generic = np.stack([lfw[n].mean(0) for n in cohort_names])
    east_names = sorted(east)
    random.Random(args.seed).shuffle(east_names)
    site_half, evaluated_half = east_names[: len(east_names) // 2], east_names[len(east_names) // 2:]
    site = np.concatenate([generic, np.stack([east[n].mean(0) for n in site_half])])
    half = {n: east[n] for n in evaluated_half}
    report = {
        "model": args.model,
        "target_far": args.far,
        "cohort_identities": {"generic": len(generic), "site": len(site)},
        "raw, all East Asian": measure(calibration, east, None, args.far, args.k),
        "AS-norm generic cohort, all East Asian": measure(calibration, east, generic, args.far, args.k),
        "raw, East Asian half": measure(calibration, half, None, args.far, args.k),
        "AS-norm site cohort, East Asian half": measure(calibration, half, site, args.far, args.k),
    }
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
