"""``/healthz``'s body from each component's state: a board fault, a broken log, a camera that ended."""

from __future__ import annotations

from pathlib import Path

from controller.app.config.loader import load_config
from controller.app.run.health import BankHealth
from controller.app.stack import Overrides, build_bank
from controller.ports import BoardFaulted, BoardRecovered
from controller.service.simulation import ForgetfulVault, NoGallery
from plc.fake import FakeLockDriver
from recognition.fakes import FakeFacePipeline, FileFrameSource
from recognition.gallery import Gallery
from recognition.pipeline.agreement import AgreementPolicy
from recognition.runtime.worker import RecognitionWorker


def health_of(tmp_path: Path, frames: int = 0, uploads: bool = True) -> BankHealth:
    config = load_config(None, {"bank": {"compartments": 2, "data_dir": str(tmp_path)}})
    overrides = Overrides(db_url=f"sqlite:///{tmp_path / 'log.db'}", vault=ForgetfulVault(), locks=FakeLockDriver(2))
    stack = build_bank(config, NoGallery(), overrides)
    pipeline = FakeFacePipeline()
    source = FileFrameSource([pipeline.frame(7)] * frames, interval_s=0.01)
    worker = RecognitionWorker(source, pipeline, Gallery(32), AgreementPolicy(threshold=0.5))
    return BankHealth(stack, worker, "test-camera", uploads=uploads)


def statuses(report: dict[str, object]) -> dict[str, str]:
    components = report["components"]
    assert isinstance(components, dict)
    return {name: part["status"] for name, part in components.items()}


def test_a_board_fault_degrades_the_bank_until_it_recovers(tmp_path: Path) -> None:
    health = health_of(tmp_path)
    assert health.report()["status"] == "ok"
    health.on_sensor(BoardFaulted("main", (1, 2), "no answer"))
    report = health.report()
    assert report["status"] == "degraded" and statuses(report)["board"] == "failed"
    assert report["components"]["board"]["detail"] == "board main: no answer"  # type: ignore[index]
    health.on_sensor(BoardRecovered("main", (1, 2)))
    assert health.report()["status"] == "ok"
    health.stack.close()


def test_an_unreadable_log_is_a_failed_storage(tmp_path: Path) -> None:
    health = health_of(tmp_path)
    health.stack.close()
    (tmp_path / "log.db").unlink()
    (tmp_path / "log.db").mkdir()  # whatever reopens it now finds a folder, not a database
    report = health.report()
    assert statuses(report)["storage"] == "failed" and report["status"] == "degraded"
    assert report["recognition"] == "ok" and report["compartments"] == 2


def test_a_camera_that_ended_has_failed(tmp_path: Path) -> None:
    health = health_of(tmp_path, frames=2, uploads=False)
    health.worker.start(lambda _observation: None)
    health.worker.join(timeout=30)
    camera = health.report()["components"]["camera"]  # type: ignore[index]
    assert camera == {"status": "failed", "detail": "camera test-camera: the frame source ended"}
    health.worker.stop()
    health.stack.close()
