"""The kiosk page, the operator console and what guards them (assets served from the package, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.app.config.loader import Config, assets_root
from controller.app.http.access import Access, AccessSettings
from controller.app.http.clients import parse_networks
from controller.app.http.operators import OperatorDirectory
from controller.app.http.web.feed import KioskFeed
from controller.app.http.web.pages import KioskSettings

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass
class WebOptions:
    """What the API needs for access control, the kiosk and the console."""

    access: Access
    feed: KioskFeed = field(default_factory=KioskFeed)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    docs: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def web_options(config: Config, simulate: bool, feed: KioskFeed) -> WebOptions:
    """Access control, kiosk and console settings from ``[api]`` (accounts in the data dir's ``operators.db``)."""
    api = config.api
    access = access_for(config, simulate)
    kiosk = KioskSettings(simulate=simulate, samples_root=assets_root() if simulate else None)
    return WebOptions(access, feed, kiosk, docs=api.docs, max_body_bytes=api.max_body_bytes)


def access_for(config: Config, simulate: bool = False) -> Access:
    """Who may call what, from ``[api]``, with the operator accounts of the data dir's ``operators.db``."""
    api = config.api
    settings = AccessSettings(
        shared_token_sha256=api.operator_token_sha256,
        kiosk_token_sha256=api.kiosk_token_sha256,
        simulate=simulate,
        cookie_secure=api.cookie_secure,
        session_ttl_s=api.session_hours * 3600.0,
        metrics_public=api.metrics_public,
        trusted_proxies=parse_networks(api.trusted_proxies),
    )
    return Access(OperatorDirectory(config.data_dir / "operators.db"), settings)
