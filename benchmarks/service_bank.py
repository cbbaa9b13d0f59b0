"""The bank a service benchmark drives: LFW faces analysed once, a simulate-mode stack, unlock recording.

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
from pathlib import Path
from typing import Any

from controller.app.config.loader import Config, assets_root, load_config
from controller.app.stack import Overrides, Stack, build_bank
from controller.ports import Clock, LockDriver, SensorObservation, StoredEvent
from controller.service.bank import EnrolWith
from recognition.pipeline.enrolment import EnrolmentError, build_template
from recognition.pipeline.images import load_image
from recognition.runtime.station import FaceStation, StoredEnrolment, store_enrolment
from recognition.types import FrameAnalysis, Image, ModelCard

COMPARTMENTS = 24
# The service's default decision (model, threshold, margin, k-of-n) and liveness, as `lockers run` uses them;
# only the detector's size floor is lowered, as LFW faces are smaller than a kiosk camera's.
RECOGNITION = {"min_face_px": 40}
ENROL_FRAMES = 3


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
    """One LFW identity: enrolment frames and probe frames (images that passed the quality gates)."""

    name: str
    enrol: list[Image] = field(default_factory=list)
    probes: list[Image] = field(default_factory=list)


@dataclass
class Faces:
    people: list[Person]
    analyses: dict[int, FrameAnalysis]  # id(image) -> the real pipeline's analysis
    analyse_ms: list[float]
    rejected: Counter[str]


def load_faces(pipeline: Any, people: int, images_per_person: int) -> Faces:
    """Analyse each candidate image once with the real pipeline; keep people with enough usable frames."""
    root = assets_root() / "data" / "lfw-dev"
    names = [line.split("\t")[0] for line in (root / "people_min20.txt").read_text().splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    chosen: list[Person] = []
    analyses: dict[int, FrameAnalysis] = {}
    analyse_ms: list[float] = []
    rejected: Counter[str] = Counter()
    for name in names:
        if len(chosen) == people:
            break
        person = Person(name)
        for number in range(1, images_per_person + 1):
            path = root / "images" / name / f"{name}_{number:04d}.jpg"
            if not path.is_file():
                continue
            image = load_image(path)
            started = time.perf_counter()
            analysis = pipeline.analyse(image)
            analyse_ms.append((time.perf_counter() - started) * 1000)
            if analysis.primary is None or analysis.primary.embedding is None:
                rejected[analysis.rejection or "no_embedding"] += 1
                continue
            analyses[id(image)] = analysis
            (person.enrol if len(person.enrol) < ENROL_FRAMES else person.probes).append(image)
        if len(person.enrol) == ENROL_FRAMES and len(person.probes) >= 3:
            chosen.append(person)
    if len(chosen) <= COMPARTMENTS:
        raise SystemExit(f"only {len(chosen)} usable people; the soak needs more than {COMPARTMENTS}")
    return Faces(chosen, analyses, analyse_ms, rejected)


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
        return receipt.compartment_id, unlocked

    def now_s(self) -> float:
        return self.clock.now().timestamp()


def config_for(data_dir: Path) -> Config:
    return load_config(
        None,
        {
            "bank": {"compartments": COMPARTMENTS, "data_dir": str(data_dir)},
            "simulator": {"behaviour": "stay-closed"},
            "recognition": RECOGNITION,
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


# -------------------------------------------------------------------------------------- latency


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
