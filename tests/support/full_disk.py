"""A real full disk for tests: a small tmpfs (mounting needs root) and a thread that keeps it full."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(folder: Path, size: str = "16m") -> Iterator[Path]:
    """``folder`` as a tmpfs of ``size``, unmounted afterwards; the test skips, saying why, where mount is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


class FullDisk:
    """Keeps a disk full from a thread (space SQLite frees after a failed write is taken again) until freed."""

    def __init__(self, data: Path) -> None:
        self.filler = data / "filler"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._fill, daemon=True)
        self.thread.start()

    def _fill(self) -> None:
        with self.filler.open("ab", buffering=0) as out:
            while not self.stop.is_set():
                try:
                    out.write(b"\0" * 4096)
                except OSError:
                    time.sleep(0.01)

    def free(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.filler.unlink()
