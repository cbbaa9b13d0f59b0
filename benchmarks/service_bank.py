"""The bank a service benchmark drives: LFW faces and recorded owners analysed once, a simulate-mode stack.

Shared by the latency and soak phases of ``benchmarks/service.py`` (see its docstring for what each
measures); it builds the real stack of ``lockers scenario run`` and adds nothing to what it measures.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from controller.app.config.loader import Config, assets_root, load_config
from controller.app.stack import Overrides, Stack, build_bank
from controller.domain.states import CompartmentState as S
from controller.ports import Clock, FixedClock, LockDriver, SensorObservation, StoredEvent
from controller.service.bank import EnrolWith
from recognition.evaluation.clips import read_clip
from recognition.pipeline.enrolment import EnrolmentError, build_template
from recognition.pipeline.images import load_image
from recognition.runtime.station import FaceStation, StoredEnrolment, store_enrolment
from recognition.types import FrameAnalysis, Image, ModelCard

COMPARTMENTS = 24
# The service's default decision (model, threshold, margin, k-of-n) and liveness, as `lockers run` uses them;
# only the detector's size floor is lowered, as LFW faces are smaller than a kiosk camera's.
RECOGNITION = {"min_face_px": 40}
ENROL_FRAMES = 3
# Owners filmed by a real camera (``$LOCKERS_ASSETS/data/video``, see its SOURCE.txt): one clip per person (the
# three proctoring clips show one man; the four GRID clips four speakers). Each enrols from the clip's first
# ``ENROL_S`` seconds and is shown frames of the later stretch ``PROBE_S`` (seconds of the recording).
RECORDED_OWNERS = (
    "live_proctoring_1.mp4",
    "live_grid_1.mpg",
    "live_grid_2.mpg",
    "live_grid_3.mpg",
    "live_grid_4.mpg",
    "live_lestari15_1.mp4",
    "live_tranvanluyt_1.mp4",
    "live_jomariya_1.mp4",
    "live_zubair_1.webm",
    "live_krzysiek_1.webm",
)
ENROL_S = 1.0
PROBE_S = (1.5, 6.0)


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(prefix: str, samples: Sequence[float]) -> dict[str, float | None]:
    if not samples:
        return {f"{prefix}_p50": None, f"{prefix}_p99": None}
    return {f"{prefix}_p50": round(statistics.median(samples), 1), f"{prefix}_p99": round(percentile(samples, 0.99), 1)}


# ----------------------------------------------------------------------------------------- faces
@dataclass
class Person:
    """One identity: enrolment frames that passed the quality gates, and the frames shown at retrieval.

    An LFW person's probes are photographs that passed the gates; a recorded owner's (``recording`` names the
    clip) are every frame of the clip's later stretch at the camera rate, in order, as the camera gave them.
    """

    name: str
    enrol: list[Image] = field(default_factory=list)
    probes: list[Image] = field(default_factory=list)
    recording: str = ""


@dataclass
class Faces:
    people: list[Person]
    analyses: dict[int, FrameAnalysis] = field(default_factory=dict)  # id(image) -> the real pipeline's analysis
    analyse_ms: list[float] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)

    def usable(self, pipeline: Any, image: Image) -> bool:
        """Analyse ``image`` once with the real pipeline (timed, cached); whether it gives an embedding."""
        started = time.perf_counter()
        analysis = pipeline.analyse(image)
        self.analyse_ms.append((time.perf_counter() - started) * 1000)
        if analysis.primary is None or analysis.primary.embedding is None:
            self.rejected[analysis.rejection or "no_embedding"] += 1
            return False
        self.analyses[id(image)] = analysis
        return True


def load_faces(pipeline: Any, people: int, images_per_person: int) -> Faces:
    """Analyse each candidate image once with the real pipeline; keep people with enough usable frames."""
    root = assets_root() / "data" / "lfw-dev"
    names = [line.split("\t")[0] for line in (root / "people_min20.txt").read_text().splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    faces = Faces([])
    for name in names:
        if len(faces.people) == people:
            break
        person = Person(name)
        for number in range(1, images_per_person + 1):
            path = root / "images" / name / f"{name}_{number:04d}.jpg"
            if not path.is_file() or not faces.usable(pipeline, image := load_image(path)):
                continue
            (person.enrol if len(person.enrol) < ENROL_FRAMES else person.probes).append(image)
        if len(person.enrol) == ENROL_FRAMES and len(person.probes) >= 3:
            faces.people.append(person)
    if len(faces.people) <= COMPARTMENTS:
        raise SystemExit(f"only {len(faces.people)} usable people; the soak needs more than {COMPARTMENTS}")
    return faces


def load_recordings(pipeline: Any, fps: float) -> Faces:
    """The recorded owners present under the assets: enrolment frames analysed once, probe frames as decoded."""
    folder = assets_root() / "data" / "video"
    recordings = Faces([])
    for clip in RECORDED_OWNERS:
        if not (folder / clip).is_file():
            continue
        frames = read_clip(folder / clip, fps)  # resampled by timestamp, a phone's rotation applied, <= 1280 px
        person = Person(Path(clip).stem, recording=clip)
        person.probes = frames[round(PROBE_S[0] * fps) : round(PROBE_S[1] * fps)]
        opening = frames[: round(ENROL_S * fps)]
        # Spread over the second (every third frame first), as a kiosk's enrolment samples are.
        for index in sorted(range(len(opening)), key=lambda i: (i % 3, i)):
            if len(person.enrol) < ENROL_FRAMES and recordings.usable(pipeline, opening[index]):
                person.enrol.append(opening[index])
        if len(person.enrol) == ENROL_FRAMES and person.probes:
            recordings.people.append(person)
    return recordings


class ReplayPipeline:
    """A ``FacePipeline`` that returns the real pipeline's cached analysis of each known image."""

    def __init__(self, card: ModelCard, analyses: dict[int, FrameAnalysis]) -> None:
        self._card = card
        self.analyses = analyses

    @property
    def card(self) -> ModelCard:
        return self._card

    def analyse(self, image: Image) -> FrameAnalysis:
        return self.analyses[id(image)]


# ----------------------------------------------------------------------------------------- bank
class UnlockRecorder:
    """Wraps the Modbus driver: which compartments got an unlock, and when the board acknowledged it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.unlocked: list[int] = []
        self.acknowledged_at: float | None = None

    async def unlock(self, compartment: int, pulse_ms: int) -> None:
        self.unlocked.append(compartment)
        await self.inner.unlock(compartment, pulse_ms)
        self.acknowledged_at = time.perf_counter()

    async def read_doors(self) -> dict[int, bool]:
        return dict(await self.inner.read_doors())

    async def all_relays_off(self) -> None:
        await self.inner.all_relays_off()


@dataclass
class Bank:
    """One running bank for a benchmark phase."""

    stack: Stack
    station: Any
    locks: UnlockRecorder
    poller: Any
    clock: Clock
    committed: list[StoredEvent] = field(default_factory=list)
    owners: dict[str, Person] = field(default_factory=dict)
    deposited_s: dict[str, float] = field(default_factory=dict)  # when each deposit completed (monotonic)

    async def door(self, compartment: str, action: str) -> None:
        from plc.sim_board import Control

        simulator = self.stack.simulator
        assert simulator is not None
        simulator.board.control(int(compartment) - 1, Control.PULL if action == "open" else Control.CLOSE)
        await self.poller.poll_once()

    async def deposit(self, person: Person, template: Any, model_version: str) -> tuple[str, list[int]]:
        """Store a fresh encrypted copy of the person's template, deposit, open and close the door."""

        async def enrol() -> StoredEnrolment:
            return store_enrolment(self.station.vault, template, model_version)

        self.locks.unlocked.clear()
        receipt = await self.stack.bank.enrol_and_deposit(EnrolWith(enrol), subject_id=f"person-{person.name}")
        unlocked = list(self.locks.unlocked)
        await self.door(receipt.compartment_id, "open")
        await self.door(receipt.compartment_id, "close")
        self.owners[receipt.compartment_id] = person
        self.deposited_s[receipt.compartment_id] = time.monotonic()
        return receipt.compartment_id, unlocked

    def now_s(self) -> float:
        return self.clock.now().timestamp()


async def settle_failed(bank: Bank, cid: str) -> None:
    """The owner could not open: let verification time out, then an operator empties the compartment."""
    clock = bank.clock
    if isinstance(clock, FixedClock):
        clock.advance(30)
    await bank.stack.bank.tick(clock.now() + timedelta(seconds=30))
    seen = bank.stack.views
    if seen.state(cid) == S.OCCUPIED:
        await bank.stack.bank.take_out_of_service(cid, "bench-ops", "owner not recognised")
    if seen.state(cid) == S.ALARM and not seen.door_open(cid):
        await bank.stack.bank.clear_alarm(cid, "bench-ops", "released for the benchmark", release=True)
    bank.owners.pop(cid, None)


def config_for(data_dir: Path) -> Config:
    import torch

    # The service sets torch's threads from [recognition] threads: keep the ones --threads (or torch) chose.
    recognition = {**RECOGNITION, "threads": torch.get_num_threads()}
    return load_config(
        None,
        {
            "bank": {"compartments": COMPARTMENTS, "data_dir": str(data_dir)},
            "simulator": {"behaviour": "stay-closed"},
            "recognition": recognition,
        },
    )


async def open_bank(config: Config, db_url: str, simulator: Any, clock: Clock, station: Any) -> Bank:
    recorders: list[UnlockRecorder] = []

    def recording(inner: LockDriver) -> LockDriver:
        recorders.append(UnlockRecorder(inner))
        return recorders[-1]

    overrides = Overrides(db_url=db_url, clock=clock, simulator=simulator, vault=station.vault, wrap_locks=recording)
    stack = build_bank(config, station, overrides)
    stack.adopt(station.vault)
    locks = recorders[0]
    bank: Bank

    async def on_sensor(observation: SensorObservation) -> None:
        await bank.stack.bank.on_sensor(observation)

    bank = Bank(stack, station, locks, stack.poller(on_sensor, debounce_polls=1), clock)
    stack.bank.subscribe(bank.committed.extend)
    await stack.bank.boot()
    return bank


def templates_of(faces: Faces, card: ModelCard, station: FaceStation) -> dict[str, Any]:
    """Each person's enrolment result (template), built from the cached analyses of their enrolment frames."""
    results = {}
    for person in faces.people:
        try:
            results[person.name] = build_template(
                [faces.analyses[id(image)] for image in person.enrol], station.enrolment_policy
            )
        except EnrolmentError:
            continue
    return results


def machine() -> dict[str, Any]:
    """The machine a figure was measured on, and its load when the run began."""
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
    }
