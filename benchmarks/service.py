"""The locker service end to end in simulate mode: face -> unlock latency, and a deposit/retrieve soak.

    .venv/bin/python benchmarks/service.py [--json] [--trials 40] [--cycles 1000] [--people 32]

Both parts run the real stack of ``lockers scenario run``: the compartment service over a SQLite event
log in a temporary folder, the encrypted template vault, the Modbus lock-board simulator on loopback
(in-process, as ``lockers run --simulate``), the door poller, the timeout scheduler and the recognition
bridge, with the recognition station of ``controller.app.cli.run.make_station``. Faces are LFW photos of
the people with >= 20 images (``$LOCKERS_ASSETS/data/lfw-dev``): the first three that pass the quality
gates enrol a person, the others are the frames shown at retrieval; and, for the latency, people filmed by
real cameras (``$LOCKERS_ASSETS/data/video``: the 10 people of the live clips, one clip each).

**Latency** (``face_to_unlock_*``): 24 compartments hold the 10 recorded owners and 14 LFW people. A
trial shows one owner to the *real* pipeline (MTCNN, quality gates, alignment, the default embedding model
and the liveness checks, as configured by default; nothing cached), at most 20 frames, and stops at the
unlock pulse's acknowledgement by the board, i.e. after k-of-n agreement and the liveness verdict, the
verification and confirmation events committed to SQLite, the Modbus pulse acknowledged and its event
committed. Trials alternate between two kinds of owner (``latency_by_owner_kind``), and show what a camera
gives: a *recorded* owner enrolled from the first second of their clip (3 frames that pass the gates) and is
shown consecutive frames of the clip's stretch 1.5-6 s, resampled to ``--fps`` by timestamp (scaled to at
most 1280 px, as ``lockers eval`` reads clips), from a random start; an owner known only by *photographs*
is shown one of their probe photographs as a camera films a still person, with fresh sensor noise
(sigma 2 grey levels, ``camera_frames.py``) in every frame. (The same photograph unchanged in every frame
would be a frozen feed, which the injection check refuses as ``replay``: ``latency_refusals`` counts every
refusal by its reason.) A trial starts with no votes or liveness cues from the one before, and shows an
owner only once back from away for the depositor's grace (someone who has just deposited is not a returning
owner): each owner deposits again after their trial, whether it opened or an operator emptied the door.
``face_to_unlock_processing_ms``: the frames processed back to back (pure processing time).
``face_to_unlock_ms``: the same frames arriving at camera rate (``--fps``, default 10) from the first
frame's arrival; a frame that arrives while the previous one is processed waits (a latest-frame buffer
would hand over a newer frame at the same moment). Measured on a real clock. ``frame_match_ms``: one
frame through the station (pipeline, liveness cue, search, agreement), every frame of every trial.

**Soak** (``soak_*``): ``--cycles`` deposit/retrieve cycles over 24 compartments kept full, on a
simulated clock. To make 1,000 cycles affordable, every image is analysed once by the real pipeline
before the soak and the station's pipeline then *replays those cached analyses* (detection and embedding
are not re-run; gallery search, agreement, enrolment templates, bridge, service, log, vault, Modbus and
poller all are). Each cycle: a stranger (someone not in the bank) shows 2 frames, the owner of a random
compartment shows frames until it unlocks (or an operator releases it after all of them fail), the door
is opened and closed, and a new person deposits into the freed compartment. Checked: no wrong door
(every unlock went to the compartment of the person shown; strangers open nothing), no lost event
(every event the service committed is in the log on disk, positions and per-compartment versions
contiguous, one ItemDeposited/ItemRetrieved per completed flow), a clean audit (hash chain, versions,
replay equals the live state) and crypto-shredding (the vault holds exactly the templates in use).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script from a checkout without an install: the repository, not this folder, provides the packages.
# This folder stays on the path after it, for the harness beside this file (service_bank.py).
sys.path.insert(0, str(REPO))

from service_bank import (  # noqa: E402  (this folder, after the repository: see above)
    COMPARTMENTS,
    RECOGNITION,
    Faces,
    Person,
    ReplayPipeline,
    config_for,
    load_faces,
    load_recordings,
    machine,
    open_bank,
    settle_failed,
    stats,
    templates_of,
)
from service_latency import latency  # noqa: E402

from controller.app.bootstrap import event_decoder, open_event_store  # noqa: E402
from controller.app.cli.run import make_station  # noqa: E402
from controller.app.config.loader import assets_root  # noqa: E402
from controller.app.stack import open_vault, start_simulator  # noqa: E402
from controller.domain import events as ev  # noqa: E402
from controller.domain.states import CompartmentState as S  # noqa: E402
from controller.ports import FixedClock  # noqa: E402
from controller.service import audit, views  # noqa: E402
from recognition.pipeline.images import load_image  # noqa: E402
from recognition.runtime.station import FaceStation  # noqa: E402
from recognition.types import Image  # noqa: E402


# ----------------------------------------------------------------------------------------- soak
async def soak(faces: Faces, templates: dict[str, Any], data_dir: Path, cycles: int, seed: int) -> dict[str, Any]:
    config = config_for(data_dir)
    simulator = await start_simulator(config)
    vault = open_vault(config, simulate=True)
    real = make_station(vault, config)
    pipeline = ReplayPipeline(real.pipeline.card, faces.analyses)
    station = FaceStation(pipeline, vault, real.agreement.policy)
    clock = FixedClock()
    db_url = f"sqlite:///{data_dir / 'soak.db'}"
    bank = await open_bank(config, db_url, simulator, clock, station)
    model_version = pipeline.card.model_version
    rng = random.Random(seed)
    people = [p for p in faces.people if p.name in templates]
    wrong_doors = 0
    false_rejects = 0
    deposits_completed = 0
    retrievals_completed = 0
    frames_shown = 0
    started = time.perf_counter()

    async def show(frames: Sequence[Image], stop_on_unlock: bool) -> list[int]:
        nonlocal frames_shown
        bank.locks.unlocked.clear()
        for image in frames:
            clock.advance(0.1)
            frames_shown += 1
            match = station.match(image, bank.now_s())
            if match is not None:
                await bank.stack.bank.on_face(match, bank.now_s())
            if stop_on_unlock and bank.locks.unlocked:
                break
        return list(bank.locks.unlocked)

    async def deposit(person: Person) -> None:
        nonlocal deposits_completed, wrong_doors
        cid, unlocked = await bank.deposit(person, templates[person.name], model_version)
        wrong_doors += len([c for c in unlocked if c != int(cid)])
        deposits_completed += bank.stack.views.state(cid) == S.OCCUPIED

    try:
        for person in people[:COMPARTMENTS]:
            await deposit(person)
        for _ in range(cycles):
            present = {p.name for p in bank.owners.values()}
            outside = [p for p in people if p.name not in present]
            stranger = rng.choice(outside)
            wrong_doors += len(await show(rng.sample(stranger.probes, 2), stop_on_unlock=False))
            clock.advance(10)  # the stranger leaves; any verification they started times out
            await bank.stack.bank.tick(clock.now())

            cid = rng.choice(sorted(bank.owners))
            owner = bank.owners[cid]
            frames = owner.probes[:]
            rng.shuffle(frames)
            unlocked = await show(frames, stop_on_unlock=True)
            wrong_doors += len([c for c in unlocked if c != int(cid)])
            if unlocked == [int(cid)]:
                await bank.door(cid, "open")
                await bank.door(cid, "close")
                retrievals_completed += bank.stack.views.state(cid) == S.FREE
                bank.owners.pop(cid)
            else:
                false_rejects += 1
                await settle_failed(bank, cid)
            clock.advance(5)
            await bank.stack.bank.tick(clock.now())

            present = {p.name for p in bank.owners.values()}
            await deposit(rng.choice([p for p in people if p.name not in present]))
        live = bank.stack.views.summaries()
        held = bank.stack.views.templates_in_use()
    finally:
        bank.stack.close()
        await simulator.stop()
    elapsed = time.perf_counter() - started

    store = open_event_store(db_url, create=False)
    try:
        on_disk = list(store.read_all())
        report = audit.verify(store.read_raw(), event_decoder())
    finally:
        store.close()
    vault = open_vault(config, simulate=True)
    try:
        vault_refs = set(vault.refs())
    finally:
        vault.close()

    disk_positions = [s.position for s in on_disk]
    missing_committed = len({s.position for s in bank.committed} - set(disk_positions))
    position_gaps = (disk_positions[-1] - disk_positions[0] + 1 - len(disk_positions)) if disk_positions else 0
    version_gaps = 0
    versions: dict[str, int] = {}
    for stored in on_disk:
        cid = stored.event.compartment_id
        version_gaps += stored.event.version != versions.get(cid, 0) + 1
        versions[cid] = stored.event.version
    kinds = Counter(type(s.event).__name__ for s in on_disk)
    flow_mismatch = abs(kinds["ItemDeposited"] - deposits_completed) + abs(
        kinds["ItemRetrieved"] - retrievals_completed
    )
    replay_equal = not views.replay_differences(live, on_disk)
    unlock_ids = [
        e.unlock_id for e in (s.event for s in on_disk) if isinstance(e, ev.DepositStarted | ev.IdentityConfirmed)
    ]
    return {
        "soak_cycles": cycles,
        "soak_wrong_doors": wrong_doors,
        "soak_lost_events": missing_committed + position_gaps + version_gaps + flow_mismatch,
        "soak_audit_ok": report.ok and replay_equal and vault_refs == held,
        "soak_detail": {
            "events": len(on_disk),
            "committed_not_on_disk": missing_committed,
            "position_gaps": position_gaps,
            "version_gaps": version_gaps,
            "flow_event_mismatches": flow_mismatch,
            "audit_verify_ok": report.ok,
            "replay_equals_live": replay_equal,
            "vault_holds_exactly_templates_in_use": vault_refs == held,
            "unlock_ids_unique": len(set(unlock_ids)) == len(unlock_ids),
            "deposits_completed": deposits_completed,
            "retrievals_completed": retrievals_completed,
            "owner_not_recognised_released_by_operator": false_rejects,
            "stranger_frames_and_owner_frames_shown": frames_shown,
            "alarms": dict(Counter(e.reason for e in (s.event for s in on_disk) if isinstance(e, ev.AlarmRaised))),
            "events_by_type": dict(sorted(kinds.items())),
            "wall_s": round(elapsed, 1),
            "cycles_per_s": round(cycles / elapsed, 2) if elapsed else None,
        },
    }


# ----------------------------------------------------------------------------------------- main
async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
    context = machine()
    with tempfile.TemporaryDirectory(prefix="lockers-bench-") as tmp:
        data_dir = Path(tmp)
        config = config_for(data_dir)
        vault = open_vault(config, simulate=True)
        station = make_station(vault, config)
        pipeline = station.pipeline
        warm = load_image(assets_root() / "data" / "lfw-dev" / "images" / "Colin_Powell" / "Colin_Powell_0001.jpg")
        for _ in range(3):
            pipeline.analyse(warm)
        started = time.perf_counter()
        faces = load_faces(pipeline, args.people, args.images)
        precompute_s = time.perf_counter() - started
        templates = templates_of(faces, pipeline.card, station)
        recordings = load_recordings(pipeline, args.fps) if args.trials else Faces([])
        recorded = templates_of(recordings, pipeline.card, station)
        vault.close()
        if args.trials:
            (data_dir / "latency").mkdir()
            result.update(
                await latency(
                    faces, recordings, templates | recorded, data_dir / "latency", args.trials, args.fps, args.seed
                )
            )
        if args.cycles:
            (data_dir / "soak").mkdir()
            result.update(await soak(faces, templates, data_dir / "soak", args.cycles, args.seed))
    context["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    settings = config.site.recognition
    result["recognition"] = {
        **RECOGNITION,
        "model_version": pipeline.card.model_version,
        "decision": repr(settings.agreement(pipeline.card)),
        "liveness": repr(station.attempts.monitor.policy) if station.attempts.monitor.active else "off",
    }
    result["faces"] = {
        "people": len(faces.people),
        "enrolled_people": len(templates),
        "images_analysed": len(faces.analyse_ms),
        "images_rejected_by_gates": dict(faces.rejected),
        **stats("analyse_ms", faces.analyse_ms),
        "precompute_s": round(precompute_s, 1),
    }
    result["recordings"] = {
        "owners": [person.recording for person in recordings.people],
        "enrolment_frames_analysed": len(recordings.analyse_ms),
        "enrolment_frames_rejected_by_gates": dict(recordings.rejected),
        "frames_shown_per_owner": {person.name: len(person.probes) for person in recordings.people},
    }
    result["soak_method"] = (
        "each image analysed once by the real pipeline; the soak's station replays those cached analyses "
        "(no detection/embedding during the soak); everything else is the real stack"
    )
    result["latency_method"] = (
        "real pipeline on every frame; from the first frame's arrival to the board's acknowledgement of the "
        f"unlock pulse; frames arrive at {args.fps:g} fps (face_to_unlock_ms) or back to back "
        "(face_to_unlock_processing_ms); *_cpu_ms is this process's CPU time over all its threads for the same "
        "work, a contention-independent companion to the wall times on a shared machine"
    )
    result["machine"] = context
    result["command"] = shlex.join([Path(sys.executable).name, *sys.argv])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--trials", type=int, default=40, help="face -> unlock trials (0: skip)")
    parser.add_argument("--cycles", type=int, default=1000, help="soak deposit/retrieve cycles (0: skip)")
    parser.add_argument("--people", type=int, default=32, help="LFW people to use (more than 24)")
    parser.add_argument("--images", type=int, default=9, help="images tried per person")
    parser.add_argument("--fps", type=float, default=10.0, help="camera rate for face_to_unlock_ms")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    import logging

    import structlog

    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
