"""Failed logins slow the client that makes them: per client, and per client and name, with capped backoff.

Nothing is keyed on the name alone: a limit on ``admin`` for everyone is a limit anyone can renew forever
to keep the real ``admin`` out. The first ``free`` failures of a key in ``window_s`` cost nothing; each one
after makes the key wait ``base_s * 2**(n - free)`` seconds after its latest failure, at most ``cap_s``.
A right password clears its (client, name) key, never the client's own count.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_KEYS = 10_000  # keys kept before old ones are swept (names sprayed by one client stay bounded)


@dataclass(frozen=True)
class Backoff:
    """How many failures a key gets for free, then how long it waits (doubling, capped)."""

    free: int
    base_s: float = 1.0
    cap_s: float = 300.0
    window_s: float = 3600.0

    def wait_s(self, failures: deque[float], now: float) -> float:
        """Seconds until the key may try again (0: now)."""
        excess = len(failures) - self.free
        if excess < 0:
            return 0.0
        delay = min(self.cap_s, self.base_s * 2.0 ** min(excess, 32))
        return max(0.0, failures[-1] + delay - now)


PER_NAME = Backoff(free=5)  # one client, one name: five tries, then 1 s, 2 s, 4 s ... 5 min
PER_CLIENT = Backoff(free=20)  # one client, any names: what a name spray meets


@dataclass
class LoginThrottle:
    """Failure times per key (``client`` and ``client/name``), in memory: a restart forgets them."""

    per_name: Backoff = PER_NAME
    per_client: Backoff = PER_CLIENT
    clock: Callable[[], float] = time.monotonic
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def wait_s(self, client: str, name: str) -> float:
        """Seconds before this client may try this name again (0: now)."""
        now = self.clock()
        return max(
            self.per_name.wait_s(self._recent(_pair(client, name), self.per_name, now), now),
            self.per_client.wait_s(self._recent(client, self.per_client, now), now),
        )

    def failed(self, client: str, name: str) -> None:
        """Count a wrong password against the client and against the client and name."""
        now = self.clock()
        if len(self.failures) > MAX_KEYS:
            self._sweep(now)
        for key in (client, _pair(client, name)):
            self.failures.setdefault(key, deque()).append(now)

    def succeeded(self, client: str, name: str) -> None:
        """A right password: this client's tries at this name start over."""
        self.failures.pop(_pair(client, name), None)

    def _recent(self, key: str, backoff: Backoff, now: float) -> deque[float]:
        recent = self.failures.get(key, deque())
        while recent and recent[0] < now - backoff.window_s:
            recent.popleft()
        return recent

    def _sweep(self, now: float) -> None:
        horizon = now - max(self.per_name.window_s, self.per_client.window_s)
        self.failures = {k: v for k, v in self.failures.items() if v and v[-1] >= horizon}


def _pair(client: str, name: str) -> str:
    return f"{client}\x00{name}"
