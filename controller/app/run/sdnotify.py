"""systemd's notify protocol without a dependency: one datagram per state to ``$NOTIFY_SOCKET``.

``READY=1`` once the bank serves, ``WATCHDOG=1`` from the scheduler loop (so a stuck event loop stops
the pings and systemd restarts the unit), ``STOPPING=1`` at shutdown. Outside systemd it does nothing.
"""

from __future__ import annotations

import os
import socket
import time


def notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to the service manager; False when none is listening."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # Never block the event loop: a manager that stops reading must not freeze the bank.
            sock.setblocking(False)
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:  # no listener, or its queue is full (BlockingIOError): drop this notice
        return False
    return True


class Watchdog:
    """Pings ``WATCHDOG=1`` at half of ``$WATCHDOG_USEC`` when systemd asked for a watchdog."""

    def __init__(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        self.interval_s = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._last = float("-inf")

    def kick(self) -> None:
        """Ping if the interval has passed since the last ping."""
        now = time.monotonic()
        if self.interval_s is not None and now - self._last >= self.interval_s:
            self._last = now
            notify("WATCHDOG=1")
