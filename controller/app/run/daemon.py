"""``lockers run``: one asyncio application running a whole bank until SIGINT/SIGTERM.

It composes the event store, the compartment service, the recognition worker (its own thread),
the lock driver and door poller, the timeout scheduler and the HTTP API. ``--simulate`` runs the
Modbus simulator in-process and takes camera frames from a folder, a video or HTTP uploads.
Shutdown is clean: the API stops, the worker stops, every relay is switched off, files are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from controller.app.audit.keeper import AnchorKeeper
from controller.app.audit.start import StartCheck, check_at_start, hold_in_doubt
from controller.app.bootstrap import open_event_store, take_writer_lease
from controller.app.config import location
from controller.app.config.loader import Config
from controller.app.http import ApiContext, EventBroadcaster, create_app
from controller.app.http.feedback import FeedbackFilter, feedback_of
from controller.app.http.web import web_options
from controller.app.http.web.feed import KioskFeed
from controller.app.run.fleet_commands import CommandRunner
from controller.app.run.fleet_link import FleetLink
from controller.app.run.health import BankHealth
from controller.app.run.key_rotation import vault_key_timer
from controller.app.run.metrics import Metrics, TimedPipeline
from controller.app.run.recorder import FACE_TTL_S, Recorder
from controller.app.run.sdnotify import Watchdog, notify
from controller.app.run.simulated_inputs import SimulatedInputs
from controller.app.stack import Overrides, Stack, build_bank, open_vault, start_simulator
from controller.domain.errors import ClockSkew, ConfigError, LockDriverError, LockerError, StoreUnavailable
from controller.ports import EventStore, FaceMatch, SensorObservation

if TYPE_CHECKING:
    from fastapi import FastAPI

    from controller.app.recognition import Recognition
    from plc.simulator import LockBoardSimulator
    from recognition.camera import FrameSource
    from recognition.runtime.worker import Observation, RecognitionWorker
    from storage.templates import SqliteTemplateStore

log = structlog.get_logger("lockers.daemon")

ENROL_TIMEOUT_S = 15.0
STOP_GRACE_S = 3
"""At shutdown: how long requests may finish, and each wait on the camera's threads (SIGTERM ends in < 10 s)."""
ENROL_LOOKBACK_S = 2.0
"""Simulate mode with uploads: frames uploaded this long before ``POST /deposit`` count for its enrolment."""


class ComponentFailed(LockerError):
    """A component of the running bank failed unrecoverably; the daemon stopped (non-zero exit)."""


SCHEDULER_TICK_S = 0.2


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices for ``lockers run``."""

    simulate: bool = False
    db_url: str | None = None
    camera: str | None = None
    host: str | None = None
    port: int | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost`` or a loopback address)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name may resolve to a public address


def open_camera(spec: str, simulate: bool) -> tuple[FrameSource, Callable[[bytes], int] | None]:
    """A frame source for ``spec`` (folder, video, device, URL); simulate mode without one takes HTTP uploads."""
    from recognition.camera import FolderFrameSource, OpenCvFrameSource

    if spec:
        if Path(spec).is_dir():
            return FolderFrameSource(spec, loop=simulate), None
        return OpenCvFrameSource(spec, loop=simulate, paced=True), None  # a file plays at its own rate
    if not simulate:
        raise ConfigError("no camera: set [camera] source (device index, rtsp:// URL, video file or image folder)")
    from recognition.pipeline.images import decode_image_bytes
    from recognition.runtime.station import PushFrameSource

    pushed = PushFrameSource()
    return pushed, lambda data: pushed.push(decode_image_bytes(data), time.monotonic())


class Daemon:
    """The running service; ``run`` returns after a clean shutdown."""

    def __init__(self, config: Config, options: RunOptions) -> None:
        self.config = config
        self.options = options
        self.metrics = Metrics()
        self.broadcaster = EventBroadcaster()
        self.kiosk_feed = KioskFeed()
        self.stop_requested = asyncio.Event()
        self.stack: Stack | None = None
        self.worker: RecognitionWorker | None = None
        self.recognition: Recognition | None = None
        self.failure: ComponentFailed | None = None
        self.recorder = Recorder()
        self.start_check = StartCheck()

    @property
    def running_worker(self) -> RecognitionWorker:
        """The recognition worker, once composed."""
        assert self.worker is not None, "the bank is not composed yet"
        return self.worker

    def _bind_api(self) -> socket.socket:
        """Take the API's address first: a port in use is one clear error before any hardware is touched."""
        host, port = self.options.host or self.config.api.host, self.options.port or self.config.api.port
        if self.options.simulate and not is_loopback(host):
            log.warning(
                "simulate mode on a non-loopback address: anyone who reaches it may push camera frames and "
                "open simulated doors (/simulate/...); use 127.0.0.1 unless this is a demo network",
                host=host,
            )
        try:
            return socket.create_server((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot serve the HTTP API on {host}:{port}: {exc.strerror} (use --port)") from None

    def database_url(self) -> str:
        """The log this controller writes: ``--db``, else ``[storage] url``, else the data directory's."""
        return location.database_url(self.config, self.options.db_url)

    async def run(self) -> None:
        """Take the log's lease, start everything, serve until asked to stop, then shut down in order."""
        release_lease = take_writer_lease(self.database_url())
        try:
            await self._run_leased()
        finally:
            release_lease()
        if self.failure is not None:
            raise self.failure

    async def _run_leased(self) -> None:
        self.api_socket = self._bind_api()
        self.vault, self.store = self._open_checked_log()
        simulator = await start_simulator(self.config) if self.options.simulate else None
        try:
            try:
                stack, push_frame = self._compose(simulator)
            except BaseException:
                self.store.close()  # the stack would have closed both
                self.vault.close()
                raise
            self.stack = stack
            try:
                await self._serve(stack, push_frame)
            finally:
                await self._shutdown(stack)
        finally:
            if simulator is not None:
                await simulator.stop()

    def _open_checked_log(self) -> tuple[SqliteTemplateStore, EventStore]:
        """Vault and log, once the log is known to be this bank's: a wrong data location fails before models load."""
        url = self.database_url()
        vault = open_vault(self.config, simulate=self.options.simulate)
        try:
            store = open_event_store(url)  # makes and migrates a new log
        except BaseException:
            vault.close()
            raise
        try:
            location.check_bank_log(url, self.config, vault)
            # Before anything could open a door: a log behind or beside its anchors is an alarm (no start).
            self.start_check = check_at_start(self.config, url)
        except BaseException:
            store.close()
            vault.close()
            raise
        return vault, store

    def _compose(self, simulator: LockBoardSimulator | None) -> tuple[Stack, Callable[[bytes], int] | None]:
        from recognition.runtime.enroller import WorkerEnroller
        from recognition.runtime.station import WorkerGallery

        worker, camera, push_frame = self._recognition()
        # Uploaded frames may overtake the deposit request that they are meant for (see ENROL_LOOKBACK_S).
        lookback = ENROL_LOOKBACK_S if push_frame is not None else 0.0
        enroller = WorkerEnroller(worker, self.vault, self.enrol_samples, ENROL_TIMEOUT_S, lookback, self.kiosk_feed)
        # Store and vault are opened and checked already (_open_checked_log): the stack closes them.
        overrides = Overrides(simulator=simulator, vault=self.vault, store=self.store, enroller=enroller)
        stack = build_bank(self.config, WorkerGallery(worker, self.vault), overrides)
        stack.adopt(self.vault)
        stack.adopt(self.store)
        self.health = BankHealth(
            stack, worker, camera or "uploads", uploads=push_frame is not None, recorder=self.recorder
        )
        stack.bank.outage = self.recorder.outage
        stack.bank.subscribe(self.metrics.on_committed)
        stack.bank.subscribe(self.broadcaster.on_committed)
        stack.bank.subscribe(self.kiosk_feed.on_committed)
        return stack, push_frame

    def _recognition(self) -> tuple[RecognitionWorker, str, Callable[[bytes], int] | None]:
        """The recognition worker over the configured model and camera (HTTP uploads in simulate mode)."""
        from controller.app.recognition import build_recognition
        from recognition.runtime.worker import RecognitionWorker

        parts = self.recognition = build_recognition(self.config.site)
        camera = self.options.camera or self.config.site.camera.source
        source, push_frame = open_camera(camera, self.options.simulate)
        self.worker = RecognitionWorker(
            source,
            TimedPipeline(parts.pipeline, self.metrics.recognition_seconds, self.kiosk_feed.on_analysis),
            parts.gallery,
            parts.agreement,
            parts.enrolment,
            liveness=parts.liveness,
        )
        self.enrol_samples = self.config.site.recognition.enrol_samples
        return self.worker, camera, push_frame

    async def _serve(self, stack: Stack, push_frame: Callable[[bytes], int] | None) -> None:
        from controller.app.run.serving import api_server
        from recognition.runtime.worker import asyncio_sink

        anchors = AnchorKeeper.start(self.config, stack.bank, stack.store)
        fleet = FleetLink.start(self.config, stack.store, self.health.report)
        commands = CommandRunner.start(self.config, fleet, stack.bank) if fleet else None
        await self._boot_or_wait_for_the_clock(stack)
        observations: asyncio.Queue[Observation] = asyncio.Queue()
        self.kiosk_feed.bind(asyncio.get_running_loop())
        self.running_worker.start(asyncio_sink(asyncio.get_running_loop(), observations))
        api = self.config.api
        server = api_server(
            self._app(stack, push_frame), self.options.host or api.host, self.options.port or api.port, STOP_GRACE_S,
            on_exit=lambda: self.running_worker.end_enrolment("the controller is stopping"),  # deposits answer now
        )
        self._install_signal_handlers()
        tasks = [
            asyncio.create_task(self._poll(stack), name="door-poller"),
            asyncio.create_task(self._tick(stack), name="scheduler"),
            asyncio.create_task(self._recognise(stack, observations), name="recognition"),
            asyncio.create_task(self.recorder.run(), name="recorder"),
            asyncio.create_task(server.serve(sockets=[self.api_socket]), name="http-api"),
            asyncio.create_task(self.stop_requested.wait(), name="stop"),
            *vault_key_timer(self.config, self.vault),
            *(fleet.tasks() if fleet else []),
            *([asyncio.create_task(commands.run(), name="fleet-commands")] if commands else []),
        ] + ([asyncio.create_task(anchors.run(), name="anchors")] if anchors else [])
        self._announce(stack, push_frame is not None)
        notify("READY=1")
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        for task in done:
            error = None if task.get_name() == "stop" else task.exception()
            if error is not None:
                log.error("component failed", component=task.get_name(), error=repr(error))
                # Exit non-zero after the clean shutdown, so a supervisor restarts the bank.
                self.failure = ComponentFailed(f"the {task.get_name()} component failed: {error!r}")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if anchors:
            await anchors.close()  # the shutdown checkpoint

    async def _boot(self, stack: Stack) -> None:
        """Boot reconciliation, then out of service what an acknowledged rollback put in doubt."""
        await stack.bank.boot()
        await hold_in_doubt(self.start_check, stack.bank, stack.views.compartment_ids())

    async def _boot_or_wait_for_the_clock(self, stack: Stack) -> None:
        """Boot; a clock behind the log is the running bank's ``clock_skew``: read-only, booted once it is right.

        Nothing was recorded (the clock is checked before every decision), so the boot is queued first and
        retried like any record of an outage: ``/healthz`` names it, writes answer 503, timers wait, and every
        observation is recorded after the boot's reconciliation.
        """
        try:
            await self._boot(stack)
        except ClockSkew as exc:
            log.error("clock behind the log at boot: read-only (writes answer 503) until the clock is right",
                      error=str(exc))  # fmt: skip
            self.recorder.retry_first(functools.partial(self._boot, stack), exc)

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()

        def request_stop(signum: int, _frame: Any) -> None:
            loop.call_soon_threadsafe(self.stop_requested.set)

        # signal.signal, not loop.add_signal_handler: uvicorn saves and re-raises into these handlers.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_stop)

    def _announce(self, stack: Stack, takes_uploads: bool) -> None:
        api = self.config.api
        url = f"http://{self.options.host or api.host}:{self.options.port or api.port}"
        log.info(
            "bank running",
            compartments=len(stack.views.compartment_ids()),
            api=url,
            kiosk=f"{url}/",
            console=f"{url}/operator",
            simulate=self.options.simulate,
            model=self.running_worker.pipeline.card.model_version,
        )
        if takes_uploads:
            log.info(
                f"no camera configured: feed faces with `curl --data-binary @face.jpg {url}/simulate/frames`; "
                f"deposit with `curl -X POST {url}/deposit`; doors with "
                f"`curl -H 'content-type: application/json' -d '{{\"action\":\"close\"}}' {url}/simulate/doors/1`"
            )

    async def _poll(self, stack: Stack) -> None:
        async def on_sensor(observation: SensorObservation) -> None:
            self.metrics.on_sensor(observation)
            self.health.on_sensor(observation)
            seen_at = stack.bank.now()  # a door change keeps the time it happened, however late it is recorded
            self.recorder.put(lambda: stack.bank.on_sensor(observation, seen_at))

        await stack.poller(on_sensor).run()

    async def _tick(self, stack: Stack) -> None:
        watchdog = Watchdog()
        while True:
            if self.recorder.healthy:  # during an outage the recorder probes the store; due timeouts wait
                with contextlib.suppress(StoreUnavailable):
                    await stack.bank.tick(stack.bank.now(), time.monotonic())
            watchdog.kick()
            await asyncio.sleep(SCHEDULER_TICK_S)

    async def _recognise(self, stack: Stack, observations: asyncio.Queue[Observation]) -> None:
        told = FeedbackFilter()
        while True:
            observation = await observations.get()
            self.kiosk_feed.on_observation(observation, stack.bank.waits_for_operator)
            if told.changed(feedback := feedback_of(observation)):
                assert feedback is not None
                self.metrics.on_feedback(feedback.reason)
                self.broadcaster.on_feedback(feedback)
            if isinstance(observation, FaceMatch):
                self.recorder.put(
                    functools.partial(stack.bank.on_face, observation, time.monotonic()),
                    ttl_s=FACE_TTL_S,
                    too_late=functools.partial(stack.bank.face_too_late, observation, stack.bank.now(), FACE_TTL_S),
                )

    def _app(self, stack: Stack, push_frame: Callable[[bytes], int] | None) -> FastAPI:
        inputs = SimulatedInputs(stack, self.running_worker, push_frame)
        return create_app(
            ApiContext(
                bank=stack.bank,
                views=stack.views,
                metrics=self.metrics,
                broadcaster=self.broadcaster,
                web=web_options(self.config, self.options.simulate, self.kiosk_feed),
                health=self.health.report,
                simulate_frame=inputs.frame if push_frame is not None else None,
                simulate_door=inputs.door if stack.simulator is not None else None,
                pins=stack.pins,
                help=stack.help,
            )
        )

    async def _shutdown(self, stack: Stack) -> None:
        notify("STOPPING=1")
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop, STOP_GRACE_S / 3)
        if self.recognition is not None:
            self.recognition.close()
        try:
            await stack.driver.all_relays_off()
        except LockDriverError as exc:
            log.error("could not switch the relays off at shutdown", error=str(exc))
        stack.close()
        log.info("bank stopped cleanly")


def run_daemon(config: Config, options: RunOptions) -> None:
    """Run until SIGINT/SIGTERM."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Daemon(config, options).run())
