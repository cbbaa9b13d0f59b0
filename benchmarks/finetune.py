"""Run ``lockers train`` alone (no other subsystem imported) and print base vs fine-tuned on unseen identities.

Usage: python benchmarks/finetune.py [lockers train options...] [--summary FILE]
Useful where only torch and the recognition dependencies are installed (a GPU machine, say):
it needs neither pymodbus nor SQLAlchemy, and, with a warm chip cache, not even facenet-pytorch.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not benchmarks/ (its recognition.py)

import torch  # noqa: E402
import typer  # noqa: E402

from controller.app.cli import train as train_cli  # noqa: E402


def environment() -> dict[str, object]:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": gpu,
        "threads": torch.get_num_threads(),
    }


def main(argv: list[str]) -> int:
    summary_path = None
    if "--summary" in argv:
        index = argv.index("--summary")
        summary_path, argv = Path(argv[index + 1]), argv[:index] + argv[index + 2 :]
    app = typer.Typer()
    train_cli.register(app)
    app.command("noop", hidden=True)(lambda: None)
    started = time.perf_counter()
    code = app(["train", *argv], standalone_mode=False)
    if code:
        return int(code)
    seconds = round(time.perf_counter() - started, 1)
    out = Path(argv[argv.index("--out") + 1])
    report = json.loads(out.with_name(out.name + ".json").read_text())
    summary = {
        "environment": environment(),
        "seconds": seconds,
        "base": report["base"]["tar_at_far"],
        "finetuned": report["finetuned"]["tar_at_far"],
        "best_epoch": report["finetuned"]["epoch"],
        "epoch_seconds": [e["seconds"] for e in report["epochs"]],
    }
    print(json.dumps(summary), file=sys.stderr)
    if summary_path:
        summary_path.write_text(json.dumps({"summary": summary, "report": report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
