"""`lockers keys signing`, `lockers audit anchor` and the anchored `lockers audit verify`, as a user runs them."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

from tests.support.cli import quiet_lockers


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sign_anchor_tamper_and_verify(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "lockers.toml"
    config.write_text(
        f'[bank]\ndata_dir = "{data}"\n[audit]\nanchor_path = "{tmp_path / "elsewhere" / "anchors.jsonl"}"\n'
    )
    assert quiet_lockers("sim", "history", "--steps", "80", data_dir=data).returncode == 0

    made = quiet_lockers("keys", "signing", "--config", str(config), "--json", data_dir=data)
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert (Path(key["private_key"]).stat().st_mode & 0o777) == 0o600
    again = quiet_lockers("keys", "signing", "--config", str(config), data_dir=data)
    assert again.returncode == 2 and "already exists" in again.stderr

    anchored = quiet_lockers("audit", "anchor", "--config", str(config), "--json", data_dir=data)
    assert anchored.returncode == 0, anchored.stderr
    checkpoint = json.loads(anchored.stdout)
    assert checkpoint["key_id"] == key["key_id"]
    assert checkpoint["anchor_path"] == str(tmp_path / "elsewhere" / "anchors.jsonl")

    intact = json.loads(quiet_lockers("audit", "verify", "--config", str(config), "--json", data_dir=data).stdout)
    assert intact["ok"] is True and intact["anchors"]["anchored_position"] == checkpoint["position"]

    with sqlite3.connect(data / "lockers.db") as db:
        db.execute("DROP TRIGGER events_refuse_delete")
        db.execute("DELETE FROM events WHERE position > ?", (checkpoint["position"] - 3,))
    result = quiet_lockers("audit", "verify", "--config", str(config), "--json", data_dir=data)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["ok"] is False
    assert {p.get("kind") for p in report["problems"]} == {"truncated"}
    human = quiet_lockers("audit", "verify", "--config", str(config), data_dir=data)
    assert "FAILED" in human.stderr and "anchored" in human.stderr


def test_anchor_with_an_unreachable_witness_fails_but_keeps_the_checkpoint(tmp_path: Path) -> None:
    config = tmp_path / "lockers.toml"
    config.write_text(f'[bank]\ndata_dir = "{tmp_path}"\n[audit]\nwitness_url = "http://127.0.0.1:{closed_port()}/"\n')
    assert quiet_lockers("sim", "history", "--steps", "10", data_dir=tmp_path).returncode == 0
    assert quiet_lockers("keys", "signing", "--config", str(config), data_dir=tmp_path).returncode == 0
    result = quiet_lockers("audit", "anchor", "--config", str(config), data_dir=tmp_path)
    assert result.returncode == 1
    assert "not witnessed: witness unreachable" in result.stderr
    assert len((tmp_path / "anchors.jsonl").read_text().splitlines()) == 1


def test_anchor_without_a_key_is_one_clear_line(tmp_path: Path) -> None:
    assert quiet_lockers("sim", "history", "--steps", "5", data_dir=tmp_path).returncode == 0
    result = quiet_lockers("audit", "anchor", data_dir=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: no audit signing key at {tmp_path}/audit-signing.key: run `lockers keys signing`"
    )


def test_anchor_of_an_empty_log_is_refused(tmp_path: Path) -> None:
    assert quiet_lockers("db", "upgrade", data_dir=tmp_path).returncode == 0
    assert quiet_lockers("keys", "signing", data_dir=tmp_path).returncode == 0
    result = quiet_lockers("audit", "anchor", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: the log is empty: there is no head to anchor yet"
    assert not (tmp_path / "anchors.jsonl").exists()
