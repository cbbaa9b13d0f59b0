"""A real ``lockers run --simulate`` writes signed checkpoints of its log, the last one at shutdown."""

from __future__ import annotations

from pathlib import Path

import httpx

from controller.app.audit.anchors import add_anchor_findings, read_checkpoints
from controller.app.audit.keys import AuditSettings, make_signing_key
from controller.app.audit.verify import verify_log
from controller.app.config.loader import load_config
from storage.audit_reader import AuditReader
from tests.support.bank import OPERATOR_TOKEN, start_bank
from tests.support.waiting import wait_until

READ = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}  # /compartments is for operators


def test_the_daemon_anchors_its_log_and_checkpoints_at_shutdown(tmp_path: Path, assets: Path) -> None:
    config = load_config(overrides={"bank": {"data_dir": str(tmp_path)}})
    make_signing_key(AuditSettings.from_config(config))
    bank = start_bank(tmp_path, "--simulate")
    try:
        with httpx.Client(base_url=bank.url, timeout=30.0) as client:
            assert client.post("/simulate/doors/2", json={"action": "force"}).status_code == 200

            def alarmed() -> dict[str, str] | None:
                rows = client.get("/compartments", headers=READ).json()["compartments"]
                states = {row["id"]: row["state"] for row in rows}
                return states if states["2"] == "alarm" else None

            states = wait_until(alarmed, 30, "compartment 2 raised no alarm", interval=0.2)
            assert states["2"] == "alarm"
    finally:
        bank.process.terminate()
        bank.process.wait(timeout=60)
    url = f"sqlite:///{tmp_path}/lockers.db"
    reader = AuditReader.from_url(url)
    _, last, count = reader.position_bounds()
    reader.close()
    checkpoints, unreadable = read_checkpoints(tmp_path / "anchors.jsonl")
    assert unreadable == [] and count > 0
    assert checkpoints[-1].position == last and checkpoints[-1].events == count
    report = verify_log(url, workers=1)
    add_anchor_findings(report, config, url)
    assert report.ok, report.problems
