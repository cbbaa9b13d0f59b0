"""Who may call what: operator sessions (cookie + CSRF), per-operator API tokens, the kiosk's credential.

Every call is resolved to a ``Principal`` or to nobody. Readers (``operator`` or ``auditor``) see the
log, the grid and the metrics; only ``operator`` acts. The kiosk may deposit and read its feed. The
shared ``api.operator_token_sha256`` still works for scripts (deprecated: it records ``shared-token``
as the operator, never a name from the request body). Failed logins slow the client that makes them
(``throttle``), never the name for everyone; the client is the peer, or behind a configured proxy the
hop it vouches for (``clients``). Logins and refusals are logged with the name and the client.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import structlog
from fastapi import HTTPException, Request

from controller.app.http.clients import Network, client_address
from controller.app.http.operators import OperatorDirectory, Principal, token_digest
from controller.app.http.throttle import LoginThrottle

log = structlog.get_logger("lockers.access")

SESSION_COOKIE = "lockers_session"
KIOSK_COOKIE = "lockers_kiosk"
KIOSK_PAIR_PATH = "/kiosk/pair"  # opened once in the kiosk's browser with ?token=: sets KIOSK_COOKIE
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KIOSK = Principal("kiosk", "kiosk", "kiosk")
SHARED = Principal("shared-token", "operator", "shared-token")


def kiosk_pair_url(host: str, port: int, token: str) -> str:
    """The address the kiosk's browser opens once to pair (a wildcard host is reached on loopback)."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{reachable}]" if ":" in reachable else reachable
    return f"http://{shown}:{port}{KIOSK_PAIR_PATH}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class AccessSettings:
    """What the configuration says about access."""

    shared_token_sha256: str = ""
    kiosk_token_sha256: str = ""
    simulate: bool = False
    cookie_secure: bool = True
    session_ttl_s: float = 12 * 3600.0
    metrics_public: bool = False
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-For is read (right-most untrusted hop)


@dataclass
class Session:
    """One logged-in operator: the CSRF token their page must echo, and when it ends."""

    principal: Principal
    csrf: str
    expires_at: float


@dataclass
class Access:
    """Resolves callers and guards endpoints; sessions live in memory (a restart logs everyone out)."""

    directory: OperatorDirectory
    settings: AccessSettings = field(default_factory=AccessSettings)
    sessions: dict[str, Session] = field(default_factory=dict)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    # ------------------------------------------------------------ sessions
    def login(self, name: str, password: str, client: str = "unknown") -> tuple[str, Session]:
        """A new session id and session for a right password; 401 otherwise, 429 while ``client`` backs off."""
        wait_s = self.throttle.wait_s(client, name)
        if wait_s > 0:
            log.warning("login throttled", operator=name, client=client, retry_after_s=round(wait_s, 1))
            raise HTTPException(429, "too many failed logins from here: wait and try again",
                                headers={"Retry-After": str(math.ceil(wait_s))})
        principal = self.directory.authenticate(name, password)
        if principal is None:
            self.throttle.failed(client, name)
            log.warning("login refused", operator=name, client=client)
            raise HTTPException(401, "wrong name or password")
        self.throttle.succeeded(client, name)
        log.info("login", operator=name, client=client, role=principal.role)
        session_id = secrets.token_urlsafe(32)
        session = Session(principal, secrets.token_urlsafe(24), time.monotonic() + self.settings.session_ttl_s)
        self.sessions[token_digest(session_id)] = session
        return session_id, session

    def logout(self, session_id: str) -> None:
        """End a session."""
        self.sessions.pop(token_digest(session_id), None)

    def session(self, request: Request) -> Session | None:
        """The live session of the request's cookie, if any."""
        session_id = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(token_digest(session_id)) if session_id else None
        if session is None:
            return None
        # A disabled or removed account's open sessions end at its next request, not at their expiry.
        if session.expires_at < time.monotonic() or not self.directory.is_enabled(session.principal.name):
            self.logout(session_id or "")
            return None
        return session

    # ------------------------------------------------------------ callers
    def identify(self, request: Request) -> Principal | None:
        """The caller: bearer token (operator, shared, kiosk), kiosk cookie or session cookie with CSRF."""
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return self._bearer(authorization[7:].strip())
        kiosk_cookie = request.cookies.get(KIOSK_COOKIE)
        if kiosk_cookie and self.is_kiosk(kiosk_cookie):
            return KIOSK
        session = self.session(request)
        if session is None:
            return None
        if request.method not in SAFE_METHODS:
            echoed = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(echoed.encode(), session.csrf.encode()):
                raise HTTPException(403, "missing or wrong CSRF token (send the X-CSRF-Token header)")
        return session.principal

    def _bearer(self, token: str) -> Principal | None:
        if not token:
            return None
        digest = token_digest(token)
        if self.settings.shared_token_sha256 and hmac.compare_digest(digest, self.settings.shared_token_sha256):
            return SHARED
        if self.is_kiosk(token):
            return KIOSK
        return self.directory.by_token(token)

    def client(self, request: Request) -> str:
        """The caller's address (``X-Forwarded-For`` only from a configured trusted proxy)."""
        return client_address(request, self.settings.trusted_proxies)

    def pin_key(self, request: Request) -> str:
        """Whom wrong PINs count against: the kiosk's credential, an operator, else the caller's address."""
        principal = self.identify(request)
        if principal is not None:
            return f"{principal.role}:{principal.name}"
        return f"address:{self.client(request)}"

    def is_kiosk(self, token: str) -> bool:
        """True for the kiosk's own credential (``api.kiosk_token_sha256``)."""
        expected = self.settings.kiosk_token_sha256
        return bool(expected) and hmac.compare_digest(token_digest(token), expected)

    # ------------------------------------------------------------ guards (FastAPI dependencies)
    def reader(self, request: Request) -> Principal:
        """An operator or auditor (the log, the grid, compartment details)."""
        return self._require(request, {"operator", "auditor"})

    def actor(self, request: Request) -> Principal:
        """An operator (actions that change state)."""
        return self._require(request, {"operator"})

    def depositor(self, request: Request) -> Principal | None:
        """The kiosk or an operator; anyone in simulate mode (a newcomer plays the flow in a browser)."""
        if self.settings.simulate:
            return self.identify(request)
        return self._require(request, {"kiosk", "operator"})

    def kiosk_reader(self, request: Request) -> Principal | None:
        """The kiosk's feed: the kiosk or a reader; anyone in simulate mode."""
        if self.settings.simulate:
            return None
        return self._require(request, {"kiosk", "operator", "auditor"})

    def metrics_reader(self, request: Request) -> Principal | None:
        """Metrics: readers, or anyone when ``api.metrics_public``."""
        return None if self.settings.metrics_public else self.reader(request)

    def _require(self, request: Request, roles: set[str]) -> Principal:
        principal = self.identify(request)
        if principal is None:
            log.info("access refused", path=request.url.path, client=self.client(request), status=401)
            raise HTTPException(
                401, "log in at /operator or send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
            )
        if principal.role not in roles:
            log.info("access refused", path=request.url.path, client=self.client(request), status=403,
                     operator=principal.name, role=principal.role)
            raise HTTPException(403, f"{principal.role} {principal.name!r} may not do this")
        return principal
