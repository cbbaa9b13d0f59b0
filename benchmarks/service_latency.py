"""Face shown -> unlock pulse: the latency phase of ``benchmarks/service.py`` (see its docstring).

A trial shows one owner to the real pipeline at camera rate and stops at the board's acknowledgement of the
unlock pulse. What the camera gives depends on the owner (``trial_frames``): a recorded owner's consecutive
frames of the clip's later stretch, from a random start; an owner known by photographs only, one of their
photographs as a camera films a still person: the same picture with fresh sensor noise in every frame.
Trials alternate between the two kinds, so each figure is reported over all trials and per kind. An owner
is shown only once back from away (the depositor's grace: someone who has just deposited is not a returning
owner).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from camera_frames import with_sensor_noise
from service_bank import COMPARTMENTS, Bank, Faces, Person, config_for, open_bank, settle_failed, stats

from controller.app.cli.run import make_station
from controller.app.stack import open_vault, start_simulator
from controller.domain import events as ev
from controller.ports import SystemClock
from recognition.runtime.station import FaceStation
from recognition.types import Image

TRIAL_FRAMES = 20  # at most 2 s at 10 fps: an owner who is not let in by then has been refused (or timed out)
RECORDED = "recording"
STILL = "still_photo_with_sensor_noise"


def trial_frames(owner: Person, rng: random.Random) -> list[Image]:
    """What the camera gives during one trial of ``owner`` (made before the clock starts)."""
    if owner.recording:
        start = rng.randrange(max(1, len(owner.probes) - TRIAL_FRAMES // 2))
        return owner.probes[start : start + TRIAL_FRAMES]
    photo = rng.choice(owner.probes)
    noise = np.random.default_rng(rng.getrandbits(32))
    return [with_sensor_noise(photo, noise) for _ in range(TRIAL_FRAMES)]


@dataclass
class Samples:
    """The figures of the trials of one kind of owner."""

    paced_ms: list[float] = field(default_factory=list)
    processing_ms: list[float] = field(default_factory=list)
    processing_cpu_ms: list[float] = field(default_factory=list)
    last_frame_ms: list[float] = field(default_factory=list)
    commands_ms: list[float] = field(default_factory=list)
    frame_match_ms: list[float] = field(default_factory=list)
    frames_used: Counter[int] = field(default_factory=Counter)
    trials: int = 0
    not_unlocked: int = 0
    wrong: int = 0

    def report(self) -> dict[str, Any]:
        return {
            **stats("face_to_unlock_ms", self.paced_ms),
            **stats("face_to_unlock_processing_ms", self.processing_ms),
            **stats("face_to_unlock_processing_cpu_ms", self.processing_cpu_ms),
            **stats("last_frame_analyse_ms", self.last_frame_ms),
            **stats("unlock_commands_ms", self.commands_ms),
            **stats("frame_match_ms", self.frame_match_ms),
            "latency_trials": self.trials,
            "latency_unlocked": len(self.paced_ms),
            "latency_not_unlocked": self.not_unlocked,
            "latency_wrong_doors": self.wrong,
            "latency_frames_to_unlock": dict(sorted(self.frames_used.items())),
        }


async def show_paced(bank: Bank, station: FaceStation, frames: list[Image], fps: float, into: list[Samples]) -> None:
    """Show ``frames`` arriving at ``fps`` until the board acknowledges an unlock; record the figures."""
    bank.locks.unlocked.clear()
    bank.locks.acknowledged_at = None
    station.attempts.reset()  # a trial is a new person in front of the camera: no votes or cues carried over
    first_arrival = time.perf_counter()
    busy_ms = busy_cpu_ms = 0.0
    for i, image in enumerate(frames):
        wait = first_arrival + i / fps - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        started, started_cpu = time.perf_counter(), time.process_time()
        match = station.match(image, time.monotonic())
        analysed = time.perf_counter()
        if match is not None:
            await bank.stack.bank.on_face(match, time.monotonic())
        done = time.perf_counter()
        busy_ms += (done - started) * 1000
        busy_cpu_ms += (time.process_time() - started_cpu) * 1000
        for samples in into:
            samples.frame_match_ms.append((analysed - started) * 1000)
        if bank.locks.acknowledged_at is not None:
            for samples in into:
                samples.paced_ms.append((bank.locks.acknowledged_at - first_arrival) * 1000)
                samples.processing_ms.append(busy_ms)
                samples.processing_cpu_ms.append(busy_cpu_ms)
                samples.last_frame_ms.append((analysed - started) * 1000)
                samples.commands_ms.append((done - analysed) * 1000)
                samples.frames_used[i + 1] += 1
            return


def refusals(committed: list[Any]) -> Counter[str]:
    """Why attempts were refused: each rejection's reason (a failed liveness check names itself in it)."""
    return Counter(s.event.reason for s in committed if isinstance(s.event, ev.IdentityRejected))


async def latency(
    lfw: Faces, recordings: Faces, templates: dict[str, Any], data_dir: Path, trials: int, fps: float, seed: int
) -> dict[str, Any]:
    """Recorded owners and LFW people fill the bank; trials alternate recorded and still owners."""
    config = config_for(data_dir)
    simulator = await start_simulator(config)
    vault = open_vault(config, simulate=True)
    station = make_station(vault, config)  # the real pipeline (cached per process by the composition root)
    bank = await open_bank(config, f"sqlite:///{data_dir / 'latency.db'}", simulator, SystemClock(), station)
    rng = random.Random(seed)
    model_version = station.pipeline.card.model_version
    every, kinds = Samples(), {RECORDED: Samples(), STILL: Samples()}
    people = [p for p in [*recordings.people, *lfw.people] if p.name in templates][:COMPARTMENTS]
    try:
        for person in people:
            await bank.deposit(person, templates[person.name], model_version)
        for trial in range(trials):
            cid = await pick_owner(bank, trial, rng)
            owner = bank.owners[cid]
            kind = kinds[RECORDED if owner.recording else STILL]
            into = [every, kind]
            frames = trial_frames(owner, rng)
            await show_paced(bank, station, frames, fps, into)
            for samples in into:
                samples.trials += 1
            if bank.locks.unlocked != [int(cid)]:
                for samples in into:
                    samples.not_unlocked += not bank.locks.unlocked
                    samples.wrong += len([c for c in bank.locks.unlocked if c != int(cid)])
                await settle_failed(bank, cid)  # an operator empties it; the owner deposits again below
            else:
                await bank.door(cid, "open")
                await bank.door(cid, "close")
                bank.owners.pop(cid)
            await bank.deposit(owner, templates[owner.name], model_version)
    finally:
        bank.stack.close()
        await simulator.stop()
    return {
        **every.report(),
        "camera_fps": fps,
        "latency_refusals": dict(refusals(bank.committed)),
        "latency_by_owner_kind": {name: samples.report() for name, samples in kinds.items()},
        "latency_owners": dict(Counter(RECORDED if p.recording else STILL for p in people)),
    }


async def pick_owner(bank: Bank, trial: int, rng: random.Random) -> str:
    """A random owner back from away: a recorded one on even trials and a still one on odd (when both exist).

    A depositor still in view is not a returning owner (``controller/service/grace.py``): an owner comes back
    once away for the grace's ``away_s`` since their deposit, waiting for it if nobody of that kind is back yet.
    """
    recorded = sorted(c for c, p in bank.owners.items() if p.recording)
    still = sorted(c for c, p in bank.owners.items() if not p.recording)
    pool = recorded if (trial % 2 == 0 and recorded) or not still else still
    away_s = bank.stack.bank.grace.away_s
    back = [c for c in pool if time.monotonic() - bank.deposited_s[c] >= away_s]
    if not back:
        await asyncio.sleep(away_s - (time.monotonic() - min(bank.deposited_s[c] for c in pool)) + 0.01)
        return await pick_owner(bank, trial, rng)
    return rng.choice(back)
