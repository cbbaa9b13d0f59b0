"""The service configuration: one TOML file, validated on load with clear errors.

Core sections (``bank``, ``policy``, ``timeouts``, ``api``) are typed here; adapter sections
(``storage``, ``templates``, ``plc``, ``recognition``, ``camera``) are passed on as mappings and
validated by their adapters. ``LOCKERS_DATA_DIR`` overrides the data directory.
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from controller.domain.errors import ConfigError
from controller.service.scheduler import Timeouts

DEFAULT_DATA_DIR = "var"


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API: loopback by default; who may call what (see ``controller.app.access``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    operator_token_sha256: str = ""  # deprecated shared token: named operators replace it
    kiosk_token_sha256: str = ""  # the kiosk's own credential (deposits and its feed outside simulate mode)
    metrics_public: bool = False  # /metrics without logging in (a scraper on a trusted network)
    docs: bool = False  # an offline API documentation page at /docs
    max_body_bytes: int = 10 * 1024 * 1024
    cookie_secure: bool = True  # session cookies only over HTTPS (browsers treat localhost as secure)
    session_hours: float = 12.0


@dataclass(frozen=True)
class Config:
    """Everything the composition root needs to build a running bank."""

    compartments: int = 6
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    pulse_ms: int = 500
    max_failed_verifications: int = 3
    timeouts: Timeouts = field(default_factory=Timeouts)
    api: ApiSettings = field(default_factory=ApiSettings)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """An adapter's section (empty when the file has none)."""
        return self.sections.get(name, {})


def assets_root() -> Path:
    """Read-only assets (faces, weights): ``LOCKERS_ASSETS``, else ``shared`` beside the repository."""
    configured = os.environ.get("LOCKERS_ASSETS")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared"


def load_config(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read ``path`` (or defaults), apply ``overrides`` (same shape as the file), validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    if overrides:
        raw = deep_merge(raw, overrides)
    return _build(raw)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` merged into it, mapping by mapping."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _build(raw: Mapping[str, Any]) -> Config:
    bank = _table(raw, "bank")
    policy = _table(raw, "policy")
    compartments = _number(bank, "bank.compartments", int, 6, minimum=1)
    data_dir = Path(os.environ.get("LOCKERS_DATA_DIR") or str(bank.get("data_dir", DEFAULT_DATA_DIR)))
    return Config(
        compartments=compartments,
        data_dir=data_dir,
        pulse_ms=_number(policy, "policy.pulse_ms", int, 500, minimum=50),
        max_failed_verifications=_number(policy, "policy.max_failed_verifications", int, 3, minimum=1),
        timeouts=_dataclass_from(Timeouts, _table(raw, "timeouts"), "timeouts"),
        api=_dataclass_from(ApiSettings, _table(raw, "api"), "api"),
        sections={k: v for k, v in raw.items() if isinstance(v, Mapping)},
    )


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _number(table: Mapping[str, Any], key: str, kind: type[int] | type[float], default: Any, minimum: float) -> Any:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
        raise ConfigError(f"{key} must be a {kind.__name__}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {value!r}")
    return kind(value)


def _dataclass_from(cls: type[Any], table: Mapping[str, Any], name: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"[{name}] has unknown keys: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    values = {}
    for key, value in table.items():
        default = getattr(cls(), key)
        if isinstance(default, float):
            values[key] = _number(table, f"{name}.{key}", float, default, minimum=0.001)
        elif not isinstance(value, type(default)) or isinstance(value, bool) != isinstance(default, bool):
            raise ConfigError(f"{name}.{key} must be a {type(default).__name__}, got {value!r}")
        else:
            values[key] = value
    return cls(**values)
