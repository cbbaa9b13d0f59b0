"""A fleet's centre under load: many simulated banks pushing signed batches to one ``lockers central run``.

    LOCKERS_TEST_POSTGRES_URL=postgresql+psycopg://lockers:lockers@127.0.0.1/lockers_test \\
    .venv/bin/python benchmarks/fleet.py [--json] [--banks 1000] [--rounds 5] [--batch 100] [--backlog 100000]

The centre is a real process on a fresh schema of the given PostgreSQL database (dropped afterwards). Each
bank has its own Ed25519 key, enrolled first; the banks' batches (real log rows, hash-chained, with a signed
checkpoint, sealed as ``lockers run`` seals them) are made and signed before the clock starts (each round
apart: a signed body is accepted for 300 s), so that the figures measure the centre, not the simulated
banks' hashing and signing; then they are sent from ``--clients`` threads, each over its own connection.
Prints ``ingest_events_per_s`` (every bank, ``--rounds`` batches of ``--batch`` events each: the events
stored over the seconds spent sending them) and the centre's CPU seconds meanwhile; the centre's RSS before
(``centre_idle_rss_mib``) and after it (``centre_rss_mib``), and its peak after the backlog; ``backlog_s``
(one bank's ``--backlog`` events in batches of 1000, one after the other, as the pusher sends a backlog);
``prepare_s`` (the untimed making and signing).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script from a checkout without an install: the repository, not this folder, provides the packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from controller.app.audit.keys import key_id, public_pem, sign  # noqa: E402
from controller.app.central.envelope import BATCH, seal  # noqa: E402
from controller.domain.chain import GENESIS_HASH, RawRecord, content_hash  # noqa: E402
from controller.domain.events import AlarmCleared, AlarmRaised  # noqa: E402
from controller.service.anchors import ChainHead  # noqa: E402
from fleet.store import CentralStore  # noqa: E402
from storage.serialization import EventSerializer  # noqa: E402

SERIALIZER = EventSerializer()
MOMENT = datetime(2026, 12, 6, tzinfo=UTC)


@dataclass
class SimulatedBank:
    """One bank: its key, its log (made as it is sent) and the head the centre acknowledged."""

    bank_id: str
    signer: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    head: ChainHead = field(default_factory=ChainHead)
    previous: str = GENESIS_HASH

    def rows(self, count: int) -> list[RawRecord]:
        """The next ``count`` rows of its log: compartments taken out of service and cleared."""
        made = []
        for offset in range(count):
            position = self.head.position + offset + 1
            cid, version = str(position % 24 + 1), (position - 1) // 24 * 2 + 1
            event = AlarmRaised(compartment_id=cid, version=version, occurred_at=MOMENT, reason="out_of_service",
                                detail="", operator_id="bench") if position % 48 < 24 else AlarmCleared(
                compartment_id=cid, version=version + 1, occurred_at=MOMENT, operator_id="bench", note="",
                resume_state="free", released_template_ref="")
            row = replace(SERIALIZER.encode(event), position=position, previous_hash=self.previous)
            row = replace(row, event_hash=content_hash(self.previous, row))
            made.append(row)
            self.previous = row.event_hash
        return made

    def batch(self, count: int) -> tuple[bytes, dict[str, str], ChainHead]:
        """A sealed batch of its next ``count`` rows and the head it leaves."""
        rows, after = self.rows(count), replace(self.head, streams=dict(self.head.streams))
        for row in rows:
            after.take(row.position, row.compartment_id, row.version, row.event_hash)
        checkpoint = sign(after.checkpoint(MOMENT.isoformat()), self.signer)
        document = {"format": BATCH, "after": self.head.position, "events": [list(astuple(r)) for r in rows],
                    "checkpoint": json.loads(checkpoint.to_line())}
        body, headers = seal(document, self.bank_id, self.signer)
        return body, headers, after


@dataclass(frozen=True)
class Sealed:
    """One batch ready to send (made and signed before the clock starts) and the position it leaves."""

    body: bytes
    headers: dict[str, str]
    position: int


def prepare(bank: SimulatedBank, count: int) -> Sealed:
    """The bank's next batch of ``count`` events, sealed; the bank's head moves past it."""
    body, headers, after = bank.batch(count)
    bank.head = after
    return Sealed(body, headers, after.position)


def push(client: httpx.Client, batch: Sealed) -> int:
    """Send one batch and take the centre's acknowledgement; the events stored."""
    answer = client.post("/sync", content=batch.body, headers=batch.headers)
    answer.raise_for_status()
    assert answer.json()["acknowledged"] == batch.position, answer.text
    return int(answer.json()["stored"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_centre(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = folder / "central.toml"
    config.write_text(f'[central]\ndatabase_url = "{url}"\nport = {port}\ndata_dir = "{folder}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "controller", "--log-level", "WARNING", "central", "run",
                                "--config", str(config)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the centre did not start")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User and system CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send(clients: list[httpx.Client], batches: list[Sealed]) -> tuple[int, float]:
    """Send ``batches`` from one thread per client, each its share in order; (events stored, seconds taken)."""
    shares = [batches[index::len(clients)] for index in range(len(clients))]
    with ThreadPoolExecutor(len(clients)) as pool:
        started = time.perf_counter()
        stored = sum(pool.map(lambda client, share: sum(push(client, b) for b in share), clients, shares))
        return stored, time.perf_counter() - started


def run(args: argparse.Namespace, url: str, folder: Path) -> dict[str, object]:
    banks = [SimulatedBank(f"bench-{index:05d}") for index in range(args.banks)]
    backlog = SimulatedBank("bench-backlog")
    store = CentralStore.open(url)
    for bank in [*banks, backlog]:
        store.enrol(bank.bank_id, public_pem(bank.signer.public_key()).decode(), key_id(bank.signer.public_key()))
    store.close()
    process, base = start_centre(url, folder)
    clients = [httpx.Client(base_url=base, timeout=120) for _ in range(args.clients)]
    idle = rss_mib(process.pid)
    stored, ingest_s, prepare_s, centre_cpu = 0, 0.0, 0.0, 0.0
    try:
        for _ in range(args.rounds):  # each round made and signed first (a body is valid for 300 s), then sent
            started = time.perf_counter()
            batches = [prepare(bank, args.batch) for bank in banks]
            prepare_s += time.perf_counter() - started
            before = cpu_s(process.pid)
            events, seconds = send(clients, batches)
            stored, ingest_s, centre_cpu = stored + events, ingest_s + seconds, centre_cpu + cpu_s(process.pid) - before
        rss = rss_mib(process.pid)
        started = time.perf_counter()
        pending = [prepare(backlog, min(1000, args.backlog - done)) for done in range(0, args.backlog, 1000)]
        prepare_s += time.perf_counter() - started
        backlog_events, backlog_s = send(clients[:1], pending)
        peak = rss_mib(process.pid, "VmHWM")
    finally:
        for client in clients:
            client.close()
        process.terminate()
        process.wait(timeout=30)
    assert backlog_events == args.backlog, backlog_events
    return {"banks": args.banks, "events": stored, "ingest_s": round(ingest_s, 2),
            "ingest_events_per_s": round(stored / ingest_s), "centre_cpu_s": round(centre_cpu, 2),
            "centre_idle_rss_mib": round(idle, 1), "centre_rss_mib": round(rss, 1),
            "centre_peak_rss_mib": round(peak, 1),
            "backlog_events": args.backlog, "backlog_s": round(backlog_s, 2), "prepare_s": round(prepare_s, 2),
            "clients": args.clients, "cpus": os.cpu_count(), "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--banks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("LOCKERS_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("set LOCKERS_TEST_POSTGRES_URL to a PostgreSQL database this benchmark may add a schema to")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    dsn = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            result = run(args, url, Path(folder))
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
