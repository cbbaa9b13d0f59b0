"""The ``[api]`` keys of the kiosk and the console: defaults, and refusals with one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.app.config.loader import load_config
from controller.domain.errors import ConfigError


def site(tmp_path: Path, api: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(f"[api]\n{api}\n")
    return path


def test_defaults_keep_everything_private() -> None:
    api = load_config().api
    assert (api.kiosk_token_sha256, api.metrics_public, api.docs, api.cookie_secure) == ("", False, False, True)
    assert api.max_body_bytes == 10 * 1024 * 1024 and api.session_hours == 12.0


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('kiosk_token_sha256 = "not-a-digest"', "kiosk_token_sha256"),
        ("max_body_bytes = 10", "max_body_bytes"),
        ("session_hours = 0", "session_hours"),
        ('metrics_public = "yes"', "metrics_public"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, line: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_config(site(tmp_path, line))


def test_a_kiosk_digest_is_accepted(tmp_path: Path) -> None:
    digest = "ab" * 32
    assert load_config(site(tmp_path, f'kiosk_token_sha256 = "{digest.upper()}"')).api.kiosk_token_sha256 == digest
