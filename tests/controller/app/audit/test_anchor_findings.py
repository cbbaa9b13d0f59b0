"""What is wrong with the anchors themselves is named: a deleted, older or cut anchor file, a new key pair
beside the log, a torn last line (a crash, not a forgery), a wiped log; and ``--since-checkpoint``.

Real SQLite files, real key files and the real anchor file; the start check is the daemon's own function.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from controller.app.audit.acknowledge import acknowledge
from controller.app.audit.keys import AuditSettings, make_anchor_keys, make_signing_key
from controller.app.audit.start import AnchorAlarm, check_at_start, is_first_start, pin_in_config
from controller.app.audit.verify import verify_since
from controller.app.config.loader import Config, load_config
from storage.audit_reader import AuditReader
from tests.controller.app.audit.test_anchored_audit import (
    append,
    audit,
    behind_the_triggers,
    checkpoint,
    kinds,
)


@pytest.fixture
def bank(tmp_path: Path) -> tuple[Config, str, Path]:
    """18 events anchored at 12 and at 18: the head file names the checkpoint at 18."""
    config = load_config(overrides={"bank": {"data_dir": str(tmp_path / "data")}})
    url = f"sqlite:///{tmp_path / 'data' / 'lockers.db'}"
    append(url, [("1", 0, 4), ("2", 0, 4), ("3", 0, 4)])
    make_signing_key(AuditSettings.from_config(config))
    checkpoint(config, url)
    append(url, [("1", 4, 2), ("2", 4, 2), ("3", 4, 2)])
    checkpoint(config, url)
    return config, url, tmp_path / "data" / "lockers.db"


def anchor_file(config: Config) -> Path:
    return config.data_dir / "anchors.jsonl"


def texts(config: Config, url: str) -> list[str]:
    return [str(p["problem"]) for p in audit(config, url).problems]


def test_a_deleted_anchor_file_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    anchor_file(config).unlink()
    assert kinds(audit(config, url)) == {"missing_anchors"}
    assert any("is missing; the last checkpoint written" in text for text in texts(config, url))
    with pytest.raises(AnchorAlarm, match="missing_anchors"):
        check_at_start(config, url)


def test_an_older_anchor_file_is_named(bank: tuple[Config, str, Path], tmp_path: Path) -> None:
    config, url, _ = bank
    lines = anchor_file(config).read_text().splitlines()
    older = tmp_path / "older.jsonl"
    older.write_text(lines[0] + "\n")  # the copy a backup made after the first checkpoint
    shutil.copyfile(older, anchor_file(config))
    report = audit(config, url)
    assert kinds(report) == {"anchors_behind"}
    assert any("an older or cut copy" in str(p["problem"]) for p in report.problems)


def test_a_dropped_last_line_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    lines = anchor_file(config).read_text().splitlines()
    anchor_file(config).write_text("\n".join(lines[:-1]) + "\n")
    assert kinds(audit(config, url)) == {"anchors_behind"}


def test_a_torn_last_line_is_a_crash_not_a_forgery(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    text = anchor_file(config).read_text()
    anchor_file(config).write_text(text + text.splitlines()[-1][:57])  # a third write cut short by a crash
    report = audit(config, url)
    assert report.ok, report.problems  # the head file names the last whole checkpoint: nothing is missing
    assert report.anchors is not None and report.anchors["torn_lines"] == [3]
    append(url, [("2", 6, 1)])
    later = checkpoint(config, url)  # the next checkpoint starts on a line of its own
    assert later.position == 19 and audit(config, url).ok
    assert audit(config, url).anchors["torn_lines"] == [3]  # type: ignore[index]


def test_a_cut_line_that_hides_the_last_checkpoint_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    text = anchor_file(config).read_text()
    anchor_file(config).write_text(text[: len(text) - 40])  # the last line cut short by hand
    report = audit(config, url)
    assert kinds(report) == {"anchors_behind"}
    assert any("line 2 is cut short" in str(p["problem"]) for p in report.problems)


def test_a_new_key_pair_beside_the_log_is_refused(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    settings = AuditSettings.from_config(config)
    pinned = load_config(overrides={"bank": {"data_dir": str(config.data_dir)},
                                     "audit": {"anchor_key_fingerprint": _fingerprint(settings)}})
    assert audit(pinned, url).ok
    for path in (settings.signing_key_path, settings.public_key_path):
        path.unlink()
    make_anchor_keys(settings)  # an intruder's key pair where the bank's was
    report = audit(pinned, url)
    assert kinds(report) == {"foreign_key"}
    assert "is not the pinned key" in str(report.problems[0]["problem"])
    unpinned = audit(config, url)  # without a pin the anchor file still names the bank's key
    assert kinds(unpinned) == {"foreign_key", "bad_signature"}
    assert any("is signed by key" in str(p["problem"]) for p in unpinned.problems)


def test_a_missing_key_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, _ = bank
    AuditSettings.from_config(config).public_key_path.unlink()
    assert kinds(audit(config, url)) == {"missing_key"}


def test_a_wiped_log_is_named(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    with behind_the_triggers(database) as raw:
        raw.execute("DELETE FROM events")
    report = audit(config, url)
    assert report.events == 0 and kinds(report) == {"wiped_log"}
    assert not report.ok


def test_an_acknowledgement_is_a_new_baseline(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    with behind_the_triggers(database) as raw:
        raw.execute("DELETE FROM events WHERE compartment_id = '3' AND version > 4")
    with pytest.raises(AnchorAlarm, match="truncated"):
        check_at_start(config, url)
    found, record = acknowledge(config, url, "alice", "restored from backup")
    assert record is not None and record.compartments == ("3",)
    assert kinds(audit(config, url)) == set()
    assert check_at_start(config, url).in_doubt == ("3",)  # taken out of service by the next start
    assert audit(config, url).anchors["acknowledged"]["operator_id"] == "alice"  # type: ignore[index]


def test_since_checkpoint_checks_only_the_new_events(bank: tuple[Config, str, Path]) -> None:
    config, url, database = bank
    latest = checkpoint(config, url)
    append(url, [("1", 6, 1), ("2", 6, 1)])
    assert verify_since(url, latest).events == 2 and verify_since(url, latest).ok
    with closing(sqlite3.connect(database, isolation_level=None)) as raw:
        raw.execute("DROP TRIGGER events_refuse_update")
        raw.execute("UPDATE events SET correlation_id = 'forged' WHERE position = 20")  # not re-chained
    report = verify_since(url, latest)
    assert report.first_bad_position == 20 and {p["check"] for p in report.problems} == {"hash"}


def test_first_start_makes_the_key_and_pins_it(tmp_path: Path) -> None:
    source = tmp_path / "lockers.toml"
    source.write_text(f'[bank]\ndata_dir = "{tmp_path}"\n\n[audit]  # signed checkpoints\ncheckpoint_every_s = 5\n')
    config = load_config(source)
    settings = AuditSettings.from_config(config)
    assert is_first_start(settings)
    url = f"sqlite:///{tmp_path}/lockers.db"
    append(url, [("1", 0, 2)])
    assert check_at_start(config, url).first_start
    pinned = load_config(source)
    assert pinned.site.audit.anchor_key_fingerprint == _fingerprint(settings)
    assert pinned.site.audit.checkpoint_every_s == 5
    with pytest.raises(AnchorAlarm, match="missing_anchors"):  # a key but no anchors for a log of 2 events
        check_at_start(pinned, url)


def test_a_pin_is_not_written_into_a_layout_it_cannot_follow(tmp_path: Path) -> None:
    source = tmp_path / "lockers.toml"
    source.write_text('audit.checkpoint_every_s = 5\n')
    assert not pin_in_config(source, "a" * 64)
    assert source.read_text() == 'audit.checkpoint_every_s = 5\n'


def _fingerprint(settings: AuditSettings) -> str:
    from controller.app.audit.keys import fingerprint, load_verifier

    return fingerprint(load_verifier(settings))


def test_reader_reads_after_a_position(bank: tuple[Config, str, Path]) -> None:
    _, url, _ = bank
    reader = AuditReader.from_url(url)
    try:
        assert [record.position for record in reader.read_after(15)] == [16, 17, 18]
    finally:
        reader.close()
