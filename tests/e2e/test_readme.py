"""The README's quick start, run as written against a real ``lockers run --simulate``.

The shell block is taken verbatim from the README's "Two commands" section; only the port (a free one
instead of 8080) and the assets folder (``LOCKERS_ASSETS`` instead of ``../shared``) are substituted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.domain import events as ev
from storage.event_store import SqlEventStore
from tests.conftest import REPO_ROOT
from tests.support.bank import free_port
from tests.support.cli import LOCKERS, lockers_env
from tests.support.waiting import wait_until_serving

README = REPO_ROOT / "README.md"
FLOW = [
    ev.DepositStarted,
    ev.UnlockPulseSent,
    ev.DoorOpened,
    ev.DoorClosed,
    ev.ItemDeposited,
    ev.VerificationStarted,
    ev.IdentityConfirmed,
    ev.UnlockPulseSent,
    ev.DoorOpened,
    ev.DoorClosed,
    ev.ItemRetrieved,
]


def quick_start_block() -> str:
    """The second ``sh`` block of the "Two commands" section (the first is ``make run`` / ``make test``)."""
    section = README.read_text(encoding="utf-8").split("## Two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2 and "/deposit" in blocks[1], "the README's quick-start block moved"
    return str(blocks[1])


def start_daemon(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """``make run``'s command, with its own data directory and port, from a folder with no configuration."""
    command = [*LOCKERS, "run", "--simulate", "--port", str(port)]
    log = (data_dir / "daemon.log").open("wb")
    process = subprocess.Popen(command, cwd=data_dir, env=lockers_env(data_dir), stdout=log, stderr=subprocess.STDOUT)
    daemon_log = data_dir / "daemon.log"
    wait_until_serving(process, f"http://127.0.0.1:{port}", lambda: daemon_log.read_text("utf-8", "replace"), 120)
    return process


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quick start uses curl")
def test_the_quick_start_deposits_and_retrieves_as_written(tmp_path: Path, assets: Path) -> None:
    port = free_port()
    script = quick_start_block().replace("127.0.0.1:8080", f"127.0.0.1:{port}").replace("../shared", str(assets))
    process = start_daemon(tmp_path, port)
    try:
        # The user's shell and make run share the data directory (var/ by default): operator accounts live there.
        shell_env = {**os.environ, "LOCKERS_DATA_DIR": str(tmp_path)}
        run = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=300, check=False, env=shell_env
        )
    finally:
        process.terminate()
        process.wait(timeout=60)
    daemon_log = (tmp_path / "daemon.log").read_text(errors="replace")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{daemon_log}"
    store = SqlEventStore.from_url(f"sqlite:///{tmp_path / 'lockers.db'}", create=False)
    try:
        stream = store.read_stream("1")
        others = [e for e in (s.event for s in store.read_all()) if e.compartment_id != "1"]
    finally:
        store.close()
    assert [type(e) for e in stream] == FLOW, f"{[type(e).__name__ for e in stream]}\n{daemon_log}"
    assert not others, f"other compartments were touched: {others}"
    confirmed = stream[6]
    assert isinstance(confirmed, ev.IdentityConfirmed) and confirmed.evidence.within_threshold()
    assert '"id":"1","state":"free"' in run.stdout.replace(" ", "")
