"""A log and its anchors restored together from one older backup agree with each other: only the witness tells.

A real HTTP witness on loopback keeps every checkpoint POSTed to it and answers them (JSON lines) to a GET;
real SQLite logs, real key files and anchor files; the start check and the acknowledgement are the daemon's
and the CLI's own functions.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from controller.app.audit.acknowledge import acknowledge
from controller.app.audit.keys import AuditSettings, make_signing_key
from controller.app.audit.start import AnchorAlarm, check_at_start
from controller.app.config.loader import Config, load_config
from controller.service.anchors import Checkpoint
from tests.controller.app.audit.test_anchored_audit import append, audit, behind_the_triggers, checkpoint


class Witness(BaseHTTPRequestHandler):
    """Keeps every POSTed checkpoint; a GET answers them, one JSON line each, in the order received."""

    held: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
        type(self).held.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(201)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        body = b"".join(line.rstrip(b"\n") + b"\n" for line in type(self).held)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def witness() -> Iterator[str]:
    Witness.held = []
    server = HTTPServer(("127.0.0.1", 0), Witness)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    server.shutdown()
    server.server_close()


def anchored_bank(data: Path, witness_url: str) -> tuple[Config, str]:
    """12 events anchored (and witnessed) once."""
    config = load_config(overrides={"bank": {"data_dir": str(data)}, "audit": {"witness_url": witness_url}})
    url = f"sqlite:///{data / 'lockers.db'}"
    append(url, [("1", 0, 4), ("2", 0, 4), ("3", 0, 4)])
    make_signing_key(AuditSettings.from_config(config))
    checkpoint(config, url)
    return config, url


def restore(backup: Path, data: Path) -> None:
    """The whole data directory (log, anchor file, head file, keys) back as the backup holds it."""
    shutil.rmtree(data)
    shutil.copytree(backup, data)


def test_a_log_rolled_back_with_its_anchors_is_behind_the_witness(tmp_path: Path, witness: str) -> None:
    data, backup = tmp_path / "data", tmp_path / "backup"
    config, url = anchored_bank(data, witness)
    shutil.copytree(data, backup)  # last night's backup
    append(url, [("2", 4, 2)])  # a deposit's door closed since: compartment 2 holds an item
    checkpoint(config, url)
    assert check_at_start(config, url).in_doubt == ()  # all is well before the restore

    restore(backup, data)
    with pytest.raises(AnchorAlarm, match=r"behind_witness at position 14: the witness .* position 14; the log ends "
                       r"at 12 and its anchors at 12"):  # fmt: skip
        check_at_start(config, url)

    found, record = acknowledge(config, url, "alice", "restored last night's backup")
    assert record is not None and record.compartments == ("2",)  # the compartment whose newer state is lost
    assert check_at_start(config, url).in_doubt == ("2",)  # the witness now holds the acknowledged baseline


def test_without_a_witness_the_same_rollback_passes_and_an_unreachable_one_stops_nothing(
    tmp_path: Path, witness: str
) -> None:
    data, backup = tmp_path / "data", tmp_path / "backup"
    config, url = anchored_bank(data, witness)
    shutil.copytree(data, backup)
    append(url, [("2", 4, 2)])
    checkpoint(config, url)
    restore(backup, data)
    unwitnessed = load_config(overrides={"bank": {"data_dir": str(data)}})
    assert check_at_start(unwitnessed, url).in_doubt == ()  # what the witness-less check cannot see
    gone = load_config(overrides={"bank": {"data_dir": str(data)},
                                  "audit": {"witness_url": "http://127.0.0.1:9/nothing", "witness_timeout_s": 1}})
    assert check_at_start(gone, url).in_doubt == ()  # logged; a bank never waits for its witness


def test_a_log_rewritten_and_re_anchored_by_the_key_holder_forks_from_the_witness(tmp_path: Path, witness: str) -> None:
    data = tmp_path / "data"
    config, url = anchored_bank(data, witness)  # the witness holds the checkpoint of position 12
    assert check_at_start(config, url).in_doubt == ()
    witnessed = Checkpoint.from_line(Witness.held[-1].decode())

    # Whoever holds the signing key rewrites compartment 2's deposit (position 5), re-chains the log and
    # anchors it afresh (a new anchor file and head file, signed with the same key, never sent to the witness).
    with behind_the_triggers(data / "lockers.db") as raw:
        changed = raw.execute("UPDATE events SET payload = replace(payload, '\"s\"', '\"mallory\"')"
                              " WHERE position = 5 AND event_type = 'DepositStarted'").rowcount
        assert changed == 1
    settings = AuditSettings.from_config(config)
    settings.anchor_path.unlink()
    settings.head_path.unlink()
    unwitnessed = load_config(overrides={"bank": {"data_dir": str(data)}})
    forged = checkpoint(unwitnessed, url)
    assert (forged.position, forged.log_id) == (witnessed.position, witnessed.log_id)  # same position and log
    assert forged.head_hash != witnessed.head_hash  # another history
    assert audit(unwitnessed, url).ok and check_at_start(unwitnessed, url).in_doubt == ()  # the log agrees with itself

    with pytest.raises(AnchorAlarm) as alarm:
        check_at_start(config, url)
    findings = re.findall(r"^(\w+) at position (\d+): (.*)$", str(alarm.value), re.MULTILINE)
    against = f"against the witness's checkpoint of {witnessed.time}: "
    assert [(kind, position) for kind, position, _ in findings] == [("rewritten_history", "12")] * 3
    assert all(text.startswith(against) for _, _, text in findings)
    assert [text.removeprefix(against).split(" is not ")[0] for _, _, text in findings] == [
        "the row at position 12",  # the head the witness holds
        "compartment 2: version 4",  # the rewritten stream; compartment 3's, written after it, is re-chained too
        "compartment 3: version 4",
    ]  # compartment 1, written before position 5, is untouched

    acknowledge(config, url, "alice", "the log was rewritten with the key; restored what we could")
    assert check_at_start(config, url).in_doubt == ()  # acknowledged: the witness holds the fresh checkpoint
