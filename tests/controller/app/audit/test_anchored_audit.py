"""Signed checkpoints kept outside the database catch what the hash chain alone cannot.

Every attack runs on a real SQLite file through a real ``sqlite3`` connection: it drops the append-only
triggers, truncates, edits or erases rows, re-chains the log with the project's own hash function so that
the chain alone verifies, and puts the triggers back. Only the anchors then tell.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.app.audit.anchors import add_anchor_findings, head_from_log, read_checkpoints, write_checkpoint
from controller.app.audit.keys import AuditSettings, load_signer, make_signing_key
from controller.app.audit.verify import verify_log
from controller.app.config.loader import Config, load_config
from controller.domain.chain import GENESIS_HASH, content_hash
from controller.domain.errors import ConfigError
from controller.domain.events import (
    DepositStarted,
    DoorClosed,
    DoorOpened,
    Event,
    IdentityConfirmed,
    ItemDeposited,
    UnlockPulseSent,
    VerificationStarted,
)
from controller.domain.evidence import Evidence
from controller.ports import RawRecord
from controller.service import anchors
from controller.service.audit import AuditReport
from storage.audit_reader import AuditReader
from storage.event_store import SqlEventStore
from tests.support.events import T0

COLUMNS = (
    "position, compartment_id, version, occurred_at, event_type, schema_version, payload, correlation_id,"
    " event_hash, previous_hash"
)


@pytest.fixture
def bank(tmp_path: Path) -> tuple[Config, str, Path]:
    """A log of 18 events over three interleaved compartments, a key pair and one checkpoint of its head."""
    config = load_config(overrides={"bank": {"data_dir": str(tmp_path / "data")}})
    database = tmp_path / "data" / "lockers.db"
    url = f"sqlite:///{database}"
    append(url, [("1", 0, 4), ("2", 0, 4), ("3", 0, 4), ("1", 4, 2), ("2", 4, 2), ("3", 4, 2)])
    settings = AuditSettings.from_config(config)
    make_signing_key(settings)
    checkpoint(config, url)
    return config, url, database


def flow(cid: str, start: int, count: int) -> list[Event]:
    """Events ``start + 1`` to ``start + count`` of one valid deposit-and-retrieval cycle of ``cid``."""
    cycle: list[Callable[[dict[str, Any]], Event]] = [
        lambda b: DepositStarted(**b, subject_id="s", template_ref="t", model_version="m", unlock_id="u", pulse_ms=500),
        lambda b: UnlockPulseSent(**b, unlock_id="u"),
        lambda b: DoorOpened(**b),
        lambda b: DoorClosed(**b),
        lambda b: ItemDeposited(**b),
        lambda b: VerificationStarted(**b, evidence=Evidence(subject_id="s", distance=0.41, threshold=0.6,
                                                             model_version="m")),
        lambda b: IdentityConfirmed(**b, evidence=Evidence(subject_id="s", distance=0.31, threshold=0.6, margin=0.1,
                                                           frames_agreeing=3, frames_considered=5, model_version="m"),
                                    unlock_id="v", pulse_ms=500),
    ]  # fmt: skip
    moment = T0 + timedelta(minutes=int(cid))
    return [
        cycle[v - 1]({"compartment_id": cid, "version": v, "occurred_at": moment + timedelta(seconds=v)})
        for v in range(start + 1, start + count + 1)
    ]


def append(url: str, batches: list[tuple[str, int, int]]) -> None:
    store = SqlEventStore.from_url(url)
    for cid, start, count in batches:
        store.append(cid, start, flow(cid, start, count))
    store.close()


def checkpoint(config: Config, url: str) -> anchors.Checkpoint:
    settings = AuditSettings.from_config(config)
    reader = AuditReader.from_url(url)
    try:
        return write_checkpoint(settings, load_signer(settings), head_from_log(reader)).checkpoint
    finally:
        reader.close()


def audit(config: Config, url: str) -> AuditReport:
    report = verify_log(url, workers=2)
    add_anchor_findings(report, config, url)
    return report


def kinds(report: AuditReport) -> set[str]:
    return {str(p["kind"]) for p in report.problems if p["check"] == "anchor"}


@contextmanager
def behind_the_triggers(database: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection with the append-only triggers dropped, put back (unchanged) afterwards."""
    with closing(sqlite3.connect(database, isolation_level=None)) as raw:
        triggers = raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        ).fetchall()
        assert len(triggers) == 2
        for name, _ in triggers:
            raw.execute(f"DROP TRIGGER {name}")
        yield raw
        rechain(raw)
        for _, sql in triggers:
            raw.execute(sql)


def rechain(raw: sqlite3.Connection) -> None:
    """Recompute every link and hash with the project's hash function: the chain alone then verifies."""
    previous = GENESIS_HASH
    for row in raw.execute(f"SELECT {COLUMNS} FROM events ORDER BY position").fetchall():  # noqa: S608
        record = RawRecord(*row)
        digest = content_hash(previous, record)
        raw.execute(
            "UPDATE events SET previous_hash = ?, event_hash = ? WHERE position = ?", (previous, digest, row[0])
        )
        previous = digest


def test_an_intact_log_verifies_against_its_checkpoint(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    report = audit(config, url)
    assert report.ok, report.problems
    assert report.anchors is not None
    assert {key: report.anchors[key] for key in ("path", "checkpoints", "anchored_position", "anchored_at")} == {
        "path": str(config.data_dir / "anchors.jsonl"),
        "checkpoints": 1,
        "anchored_position": 18,
        "anchored_at": read_checkpoints(config.data_dir / "anchors.jsonl")[0][0].time,
    }
    assert report.anchors["pinned"] is False and len(str(report.anchors["key_fingerprint"])) == 64


def test_truncated_tail_passes_the_chain_but_not_the_anchor(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    with behind_the_triggers(database) as raw:
        raw.execute("DELETE FROM events WHERE position > 15")
    report = audit(config, url)
    assert [p for p in report.problems if p["check"] != "anchor"] == []  # the chain alone sees nothing
    assert "truncated" in kinds(report)
    assert not report.ok
    assert report.to_json()["ok"] is False


def test_rewritten_and_rechained_history_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    with behind_the_triggers(database) as raw:
        # The verification of compartment 2 gets a much closer distance than the one recorded.
        changed = raw.execute(
            "UPDATE events SET payload = replace(payload, '0.41', '0.11')"
            " WHERE compartment_id = '2' AND event_type = 'VerificationStarted'"
        ).rowcount
        assert changed == 1
    report = audit(config, url)
    assert [p for p in report.problems if p["check"] != "anchor"] == []
    assert kinds(report) == {"rewritten_history"}
    assert any("compartment 2" in str(p["problem"]) for p in report.problems)


def test_erased_stream_is_named_with_its_compartment(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    with behind_the_triggers(database) as raw:
        raw.execute("DELETE FROM events WHERE compartment_id = '2'")
    report = audit(config, url)
    assert [p for p in report.problems if p["check"] != "anchor"] == []
    assert "erased_stream" in kinds(report)
    erased = [p for p in report.problems if p.get("kind") == "erased_stream"]
    assert [p["problem"] for p in erased] == ["compartment 2: all 6 anchored events are gone"]


def test_replaced_database_is_named(bank: tuple[Config, str, Path], tmp_path: Path) -> None:
    config, url, database = bank
    other = tmp_path / "other.db"
    append(f"sqlite:///{other}", [("4", 0, 6), ("5", 0, 6), ("6", 0, 6)])  # as many events, another history
    shutil.copyfile(other, database)
    report = audit(config, url)
    assert report.events == 18 and [p for p in report.problems if p["check"] != "anchor"] == []
    assert kinds(report) == {"replaced_database"}


def test_every_checkpoint_is_checked_not_only_the_last(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    first = read_checkpoints(config.data_dir / "anchors.jsonl")[0][0]
    with behind_the_triggers(database) as raw:
        raw.execute("UPDATE events SET correlation_id = 'forged' WHERE position = 5")
    append(url, [("2", 6, 1)])
    later = checkpoint(config, url)  # a checkpoint taken after the rewrite anchors it; the first one still holds
    assert later.position == first.position + 1
    report = audit(config, url)
    assert [p for p in report.problems if p["check"] != "anchor"] == []
    assert kinds(report) == {"rewritten_history"}
    assert report.first_bad_position == first.position


def test_forged_or_foreign_checkpoints_are_refused(bank: tuple[Config, str, Path], tmp_path: Path) -> None:
    config, url, _ = bank
    anchor_file = config.data_dir / "anchors.jsonl"
    line = anchor_file.read_text().strip()
    anchor_file.write_text(line + "\n" + line.replace('"events":18', '"events":17') + "\nnot json\n")
    report = audit(config, url)
    assert kinds(report) == {"bad_signature"}
    assert len(report.problems) == 2


def test_events_after_the_last_checkpoint_are_not_covered(bank: tuple[Config, str, Path]) -> None:
    """The documented limit: rows written after the last checkpoint can be cut without a trace."""
    config, url, database = bank
    append(url, [("2", 6, 1)])
    with behind_the_triggers(database) as raw:
        raw.execute("DELETE FROM events WHERE position = 19")
    assert audit(config, url).ok


def test_live_chain_head_matches_the_log(bank: tuple[Config, str, Path]) -> None:
    """The daemon keeps the head from committed events; it must name what a fresh read of the log names."""
    _, url, _ = bank
    store = SqlEventStore.from_url(url)
    reader = AuditReader.from_url(url)
    try:
        live = head_from_log(reader)
        live.advance(store.append("2", 6, flow("2", 6, 1)))
        assert live == head_from_log(reader)
        fresh = anchors.ChainHead()
        fresh.advance(list(store.read_all()))
        assert fresh == live
    finally:
        reader.close()
        store.close()


def test_signing_key_is_private_and_never_replaced(tmp_path: Path) -> None:
    settings = AuditSettings.from_config(load_config(overrides={"bank": {"data_dir": str(tmp_path)}}))
    make_signing_key(settings)
    assert settings.signing_key_path.stat().st_mode & 0o777 == 0o600
    before = settings.signing_key_path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        make_signing_key(settings)
    assert settings.signing_key_path.read_bytes() == before


@pytest.mark.parametrize(
    ("audit_section", "message"),
    [
        ({"checkpoint_every_events": -1}, "audit.checkpoint_every_events: input should be greater than or equal to 0"),
        ({"checkpoint_every_events": 1.5}, "audit.checkpoint_every_events: input should be a valid integer"),
        ({"checkpoint_every_s": float("nan")}, "audit.checkpoint_every_s: input should be a finite number"),
        ({"witness_url": "ftp://x"}, "audit.witness_url: .*must be an http"),
        ({"anchor_file": "x"}, "audit.anchor_file is not a known key; did you mean audit.anchor_path"),
    ],
)
def test_bad_audit_settings_are_one_clear_error(audit_section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AuditSettings.from_config(load_config(overrides={"audit": audit_section}))


@pytest.mark.postgres
def test_stream_sharded_verify_and_anchors_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """The same reader on PostgreSQL: links checked in SQL across a sequence gap, anchors catch a cut tail."""
    import psycopg
    from sqlalchemy.engine import make_url

    config = load_config(overrides={"bank": {"data_dir": str(tmp_path)}})
    append(pg_url, [("1", 0, 4), ("2", 0, 4), ("1", 4, 3), ("2", 4, 3)])
    make_signing_key(AuditSettings.from_config(config))
    checkpoint(config, pg_url)
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as raw:
        raw.execute("SELECT nextval(pg_get_serial_sequence('events', 'position'))")  # a gap, as a rollback leaves
        append(pg_url, [("3", 0, 2)])
        assert audit(config, pg_url).ok
        raw.execute("ALTER TABLE events DISABLE TRIGGER events_refuse_delete")
        raw.execute("DELETE FROM events WHERE position IN (5, 14)")
        raw.execute("ALTER TABLE events ENABLE TRIGGER events_refuse_delete")
    report = audit(config, pg_url)
    # 16 followed 14 across the gap at 15: with 14 gone it no longer links to the row before it.
    assert [p["position"] for p in report.problems if p["check"] == "chain"] == [6, 16]
    assert kinds(report) == {"rewritten_history", "truncated"}  # anchored row 14 gone; compartment 2 cut short
