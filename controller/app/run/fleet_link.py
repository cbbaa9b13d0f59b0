"""A fleet bank's link to its centre: pushes its log in signed batches and sends heartbeats, offline first.

The bank's log is the truth; the centre holds a copy. The pusher asks the centre where its copy ends (an
empty batch), then sends the rows after it, at most ``[fleet] batch_events`` at a time, each batch with a
signed checkpoint of the log as the batch leaves it, and goes on from the centre's acknowledgement. Nothing
here ever blocks the bank or stops it: an unreachable or refusing centre is logged (once per change) and
tried again every ``sync_interval_s``; the bank keeps writing its own log meanwhile. Only log rows leave the
bank (the log holds no template, image or PIN) and the health summary of its parts.
"""

from __future__ import annotations

import asyncio
import json
import re
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.app.audit.keys import sign
from controller.app.central.envelope import BATCH, HEARTBEAT, seal
from controller.app.central.keys import load_fleet_signer
from controller.app.config.loader import Config, compartment_ids
from controller.domain.errors import LockerError
from controller.ports import EventStore
from controller.service.anchors import ChainHead
from fleet.settings import FleetSettings

log = structlog.get_logger("lockers.fleet")
CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")
"""A user and password inside a URL (a camera's rtsp://user:pass@host): never sent to the centre."""


class CentreRefused(LockerError):
    """The centre answered a request with a refusal (its reason: gap, fork, bad_signature, ...)."""


class CentreUnreachable(LockerError):
    """The centre did not answer (network, DNS, timeout, a server error)."""


@dataclass
class FleetLink:
    """The sync pusher and the heartbeat sender of one bank; ``tasks`` are the daemon's to run."""

    settings: FleetSettings
    signer: Ed25519PrivateKey
    store: EventStore
    health: Callable[[], dict[str, Any]]
    compartments: list[str] = field(default_factory=list)  # the bank's, shown at the centre before their events
    acknowledged: int | None = None  # the centre's head, once it said so
    head: ChainHead = field(default_factory=ChainHead)  # the log up to ``acknowledged``
    state: str = "starting"

    @classmethod
    def start(cls, config: Config, store: EventStore, health: Callable[[], dict[str, Any]]) -> FleetLink | None:
        """The link of a bank with ``[fleet]`` (its key must exist: `lockers keys fleet`); None for a lone bank."""
        settings = config.site.fleet
        if settings is None:
            return None
        return cls(settings, load_fleet_signer(config), store, health, compartment_ids(config))

    def tasks(self) -> list[asyncio.Task[None]]:
        """The two loops, as tasks of the running event loop."""
        return [asyncio.create_task(self.run_sync(), name="fleet-sync"),
                asyncio.create_task(self.run_heartbeat(), name="fleet-heartbeat")]

    async def run_sync(self) -> None:
        """Push forever: as fast as the centre takes batches while behind, every interval once caught up."""
        while True:
            pushed = await self._attempt(self.push_once)
            if not pushed:
                await asyncio.sleep(self.settings.sync_interval_s)

    async def run_heartbeat(self) -> None:
        """Tell the centre every ``heartbeat_s`` that the bank lives, and how its parts are."""
        while True:
            await self._attempt(self.beat)
            await asyncio.sleep(self.settings.heartbeat_s)

    def push_once(self) -> int:
        """Send the next batch (or ask where the centre's copy ends); how many events it carried."""
        if self.acknowledged is None:
            self._follow(int(self.post("/sync", {"format": BATCH, "after": 0, "events": []})["acknowledged"]))
        assert self.acknowledged is not None
        rows = list(islice(self.store.read_raw(after=self.acknowledged), self.settings.batch_events))
        if not rows:
            self._set_state("synced")
            return 0
        after = replace(self.head, streams=dict(self.head.streams))
        for row in rows:
            after.take(row.position, row.compartment_id, row.version, row.event_hash)
        checkpoint = sign(after.checkpoint(datetime.now(UTC).isoformat()), self.signer)
        document = {"format": BATCH, "after": self.acknowledged, "events": [list(astuple(row)) for row in rows],
                    "checkpoint": json.loads(checkpoint.to_line())}
        acknowledged = int(self.post("/sync", document)["acknowledged"])
        if acknowledged == after.position:
            self.acknowledged, self.head = acknowledged, after
        else:
            self._follow(acknowledged)
        self._set_state("syncing")
        return len(rows)

    def beat(self) -> int:
        """One heartbeat; the position the centre holds."""
        report = self.health()
        components = {name: {"status": part.get("status"), "detail": CREDENTIALS.sub(r"\1***@", part.get("detail", ""))}
                      for name, part in report.get("components", {}).items()}
        summary = {"status": report.get("status"), "components": components, "sync": self.state,
                   "compartments": self.compartments}
        document = {"format": HEARTBEAT, "health": summary, "interval_s": self.settings.heartbeat_s}
        return int(self.post("/heartbeat", document)["acknowledged"])

    def _follow(self, acknowledged: int) -> None:
        """Rebuild the head up to the centre's acknowledged position from the bank's own log."""
        head = ChainHead()
        for row in self.store.read_raw():
            if row.position > acknowledged:
                break
            head.take(row.position, row.compartment_id, row.version, row.event_hash)
        self.acknowledged, self.head = acknowledged, head

    def post(self, path: str, document: dict[str, Any]) -> dict[str, Any]:
        """POST a signed document to the centre; its answer, else ``CentreRefused`` or ``CentreUnreachable``."""
        body, headers = seal(document, self.settings.bank_id, self.signer)
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked when the settings are read
            self.settings.central_url + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (403, 409):
                reason = json.loads(exc.read() or b"{}")
                raise CentreRefused(f"{reason.get('reason')}: {reason.get('detail')}") from None
            raise CentreUnreachable(f"the centre answered {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CentreUnreachable(f"the centre is unreachable: {getattr(exc, 'reason', exc)}") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("acknowledged"), int):
            raise CentreUnreachable(f"the centre's answer is not an acknowledgement: {str(answer)[:200]}")
        return answer

    async def _attempt(self, step: Callable[[], int]) -> int:
        """Run one step off the event loop; any failure is logged, never raised (the bank must not stop)."""
        return await self.attempt(lambda: asyncio.to_thread(step))

    async def attempt(self, step: Callable[[], Awaitable[int]]) -> int:
        """Await one step; a refusing or unreachable centre is logged, never raised (the bank must not stop)."""
        try:
            return await step()
        except CentreRefused as exc:
            self._set_state(f"refused: {exc}", error=True)
        except (CentreUnreachable, LockerError) as exc:
            self.acknowledged = None  # ask again where the copy ends once the centre answers
            self._set_state(f"unreachable: {exc}")
        return 0

    def _set_state(self, state: str, error: bool = False) -> None:
        if state != self.state:
            (log.error if error else log.info)("fleet sync", state=state, bank_id=self.settings.bank_id,
                                               acknowledged=self.acknowledged)
        self.state = state
