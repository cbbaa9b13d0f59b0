"""Processes a test run leaves behind: children of this process still running when the suite ends."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def running_children(parent: int | None = None) -> dict[int, str]:
    """Live (not zombie) children of ``parent`` (default: this process), by pid, with their command line."""
    parent = os.getpid() if parent is None else parent
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # it exited while we looked
        # The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z":
            found[int(entry.name)] = command
    return found


def kill_all(pids: dict[int, str]) -> None:
    """SIGKILL each of ``pids`` (already gone is fine)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
