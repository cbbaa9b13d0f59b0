"""Frame -> decision and frame -> embedding latency, sustained fps, 1:N identification, memory growth; liveness cost.

The first model is the service's default (the fusion). Frame -> decision is what the service does per
frame: detect, gates, align, embed, search 100 occupied compartments, k-of-n agreement; reported as wall
time and as this process's CPU time (the machine may be shared: CPU time is what the frame cost).

Usage: .venv/bin/python benchmarks/recognition.py [--models fr-feature+mobilefacenet,dlib-resnet] [--frames 200]
       [--memory-frames 10000] [--threads 2] [--min-face-size 80] [--liveness-frames 200] [--json]

``--models ""`` times liveness alone. Liveness is timed per frame (the MiniFASNet pair on two crops, and
the aligned crops the attempt checks keep), as wall time and process CPU time (all threads); the attempt's
verdict (``verdict_ms_p50``: injection on pixel differences, flat motion, passive mean over the service's
window of 5 frames) runs once per accepted match and is timed apart. The frames carry sensor-like noise.

The frame is a 640x480 crop of ../shared/data/samples/face_recognition/examples/obama-480p.jpg (one face,
~107 px). facenet-* models whose weights are absent are timed with randomly initialised weights and
labelled so ("weights": "random-init"): the timings are the same, the embeddings meaningless.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name shadows the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.camera_frames import with_sensor_noise  # noqa: E402
from recognition.errors import WeightsMissing  # noqa: E402
from recognition.pipeline.face import MtcnnPipeline, build_pipeline, set_threads  # noqa: E402
from recognition.pipeline.images import load_image  # noqa: E402

ASSETS = Path(os.environ.get("LOCKERS_ASSETS", Path(__file__).resolve().parents[2] / "shared"))
FRAME = ASSETS / "data/samples/face_recognition/examples/obama-480p.jpg"


def frame_640x480() -> np.ndarray:
    image = load_image(FRAME)
    height, width = image.shape[:2]
    left = (width - 640) // 2
    return np.ascontiguousarray(image[(height - 480) // 2 : (height - 480) // 2 + 480, left : left + 640])


def pipeline_for(model: str, min_face_size: int) -> tuple[MtcnnPipeline, str]:
    try:
        return build_pipeline(model, min_face_size=min_face_size), "pretrained"
    except WeightsMissing:
        if not model.startswith("facenet"):
            raise
    import dataclasses

    from recognition.models.embedder import TorchEmbedder
    from recognition.models.facenet import FacenetNetwork

    pipeline = build_pipeline("dlib-resnet", min_face_size=min_face_size)
    card = dataclasses.replace(pipeline.card, name=model, input_size=160, embedding_size=512, weights_sha256="0" * 64)
    pipeline.embedder = TorchEmbedder(FacenetNetwork(), card, "facenet")
    return pipeline, "random-init"


def latency(pipeline: MtcnnPipeline, frame: np.ndarray, frames: int) -> dict[str, float]:
    totals, detects, embeds = [], [], []
    for _ in range(frames):
        start = time.perf_counter()
        analysis = pipeline.analyse(frame)
        totals.append((time.perf_counter() - start) * 1000)
        assert analysis.primary is not None and analysis.primary.embedding is not None, analysis.rejection
        detects.append(analysis.detect_ms)
        embeds.append(analysis.embed_ms)
    return {
        "frame_to_embedding_ms_p50": _p(totals, 50),
        "frame_to_embedding_ms_p95": _p(totals, 95),
        "detect_ms_p50": _p(detects, 50),
        "embed_ms_p50": _p(embeds, 50),
    }


def decision(pipeline: MtcnnPipeline, frame: np.ndarray, frames: int) -> dict[str, float]:
    """Frame -> decision: the service's per-frame work with the service's default rule."""
    from recognition.pipeline.agreement import FrameAgreement
    from recognition.settings import RecognitionSettings

    card = pipeline.card
    gallery = RecognitionSettings().gallery(card)
    rng = np.random.default_rng(1)
    for i, row in enumerate(rng.standard_normal((99, card.embedding_size)).astype(np.float32)):
        gallery.add(f"c{i}", row / np.linalg.norm(row))
    owner = pipeline.analyse(frame).primary
    assert owner is not None and owner.embedding is not None
    gallery.add("owner", owner.embedding)
    agreement = FrameAgreement(RecognitionSettings().agreement(card), card.model_version, card.default_threshold)
    walls, cpus, accepted = [], [], 0
    for index in range(frames):
        wall, cpu = time.perf_counter(), time.process_time()
        primary = pipeline.analyse(frame).primary
        assert primary is not None and primary.embedding is not None
        embedding = primary.embedding
        match = agreement.observe(gallery.search(embedding), index * 0.1, embedding)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        accepted += bool(match and match.accepted)
    return {
        "frame_to_decision_ms_p50": _p(walls, 50),
        "frame_to_decision_ms_p95": _p(walls, 95),
        "frame_to_decision_cpu_ms_p50": _p(cpus, 50),
        "decisions_accepted": accepted,
    }


def sustained(pipeline: MtcnnPipeline, frame: np.ndarray, frames: int) -> dict[str, float]:
    rss_before = rss_warm = _rss_mb()  # --memory-frames 0 times nothing and reports no growth
    start = time.perf_counter()
    for index in range(frames):
        pipeline.analyse(frame)
        if index == min(100, frames - 1):
            rss_warm = _rss_mb()
    elapsed = time.perf_counter() - start
    return {
        "fps_sustained": round(frames / max(elapsed, 1e-9), 2),
        "sustained_frames": frames,
        "rss_mb_start": round(rss_before, 1),
        "rss_mb_after_100": round(rss_warm, 1),
        "rss_mb_end": round(_rss_mb(), 1),
        "rss_growth_mb_after_warmup": round(_rss_mb() - rss_warm, 1),
    }


def liveness_cost(frame: np.ndarray, frames: int, min_face_size: int, window: int = 5) -> dict[str, Any]:
    """Per-frame liveness (MiniFASNet pair + attempt cue), and the attempt's verdict over ``window`` cues."""
    from recognition.liveness.cues import frame_cue
    from recognition.liveness.passive import load_passive
    from recognition.liveness.verdict import LivenessPolicy, judge
    from recognition.pipeline.detector import DetectorConfig, MtcnnDetector

    try:
        scorer = load_passive()
    except WeightsMissing as exc:
        return {"skipped": str(exc)}
    face = MtcnnDetector(DetectorConfig(min_face_size=min_face_size)).detect(frame)[0]
    rng = np.random.default_rng(0)
    walls, cpus, verdicts, cues = [], [], [], []
    for index in range(frames + 10):
        noisy = with_sensor_noise(frame, rng)  # the injection check compares real, not repeated, pixels
        wall, cpu = time.perf_counter(), time.process_time()
        cues = [*cues[-(window - 1) :], frame_cue(noisy, face, scorer.score(noisy, face))]
        cue_wall, cue_cpu = time.perf_counter(), time.process_time()
        verdict = judge(cues, LivenessPolicy(), scorer.card.model_version)  # injection, flat motion, passive
        if index >= 10:  # warm-up
            walls.append((cue_wall - wall) * 1000)
            cpus.append((cue_cpu - cpu) * 1000)
            verdicts.append((time.perf_counter() - cue_wall) * 1000)
    return {
        "model_version": scorer.card.model_version,
        "liveness_ms_p50": _p(walls, 50),
        "liveness_ms_p95": _p(walls, 95),
        "liveness_cpu_ms_p50": _p(cpus, 50),
        "verdict_ms_p50": _p(verdicts, 50),
        "verdict_window": window,
        "last_verdict": verdict.reason or "live",
        "frames": frames,
    }


def identify_100k(dimensions: int, metric: str, repeats: int = 200) -> float | None:
    try:
        from recognition.gallery import Gallery
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    gallery = Gallery(dimensions, metric, capacity=100_000)
    for i, row in enumerate(rng.standard_normal((100_000, dimensions)).astype(np.float32)):
        gallery.add(f"c{i}", row)
    timings = []
    for probe in rng.standard_normal((repeats, dimensions)).astype(np.float32):
        start = time.perf_counter()
        gallery.search(probe)
        timings.append((time.perf_counter() - start) * 1000)
    return _p(timings, 50)


def _p(values: list[float], q: int) -> float:
    return round(float(np.percentile(values, q)), 2)


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(model: str, args: argparse.Namespace, frame: np.ndarray) -> dict[str, Any]:
    pipeline, weights = pipeline_for(model, args.min_face_size)
    for _ in range(10):
        pipeline.analyse(frame)
    result: dict[str, Any] = {"weights": weights, "model_version": pipeline.card.model_version}
    result.update(decision(pipeline, frame, args.frames))
    result.update(latency(pipeline, frame, args.frames))
    result["identify_100k_ms_p50"] = identify_100k(pipeline.card.embedding_size, pipeline.card.metric)
    result.update(sustained(pipeline, frame, args.memory_frames))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="fr-feature+mobilefacenet,dlib-resnet")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--memory-frames", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--min-face-size", type=int, default=80)
    parser.add_argument("--liveness-frames", type=int, default=200, help="0: skip the liveness timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    set_threads(args.threads)
    frame = frame_640x480()
    results = {model: run(model, args, frame) for model in args.models.split(",") if model}
    if args.liveness_frames:
        results["liveness"] = liveness_cost(frame, args.liveness_frames, args.min_face_size)
    results["_settings"] = {"threads": args.threads, "min_face_size": args.min_face_size, "frame": "640x480"}
    print(json.dumps(results, indent=2) if args.json else results)


if __name__ == "__main__":
    main()
