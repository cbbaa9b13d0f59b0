"""The service configuration: one TOML file, validated against ``config_schema`` with one line per problem.

Unknown sections and keys are refused naming the closest valid name. Paths in a file (``[bank] data_dir``,
``[templates] path``) are relative to the file's folder; without ``[bank] data_dir`` the data directory is
``LOCKERS_DATA_DIR``, else ``./var``, made absolute when the configuration is loaded.
"""

from __future__ import annotations

import copy
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from controller.app.config.schema import SECRET_KEYS, ApiSection, SiteConfig
from controller.domain.errors import ConfigError
from controller.service.scheduler import Timeouts

DEFAULT_DATA_DIR = "var"
UNION_BRANCHES = frozenset({"str", "int", "float", "bool", "none"})
"""Labels pydantic adds to the location of an error inside a union."""
FILE_PATHS = (
    ("bank", "data_dir"),
    ("templates", "path"),
    ("audit", "anchor_path"),
    ("audit", "signing_key_path"),
    ("audit", "public_key_path"),
)
"""Keys holding paths that a configuration file gives relative to its own folder."""


@dataclass(frozen=True)
class Config:
    """Everything the composition root needs to build a running bank."""

    compartments: int = 6
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    pulse_ms: int = 500
    max_failed_verifications: int = 3
    timeouts: Timeouts = field(default_factory=Timeouts)
    api: ApiSection = field(default_factory=ApiSection)  # the validated [api] section itself
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    site: SiteConfig = field(default_factory=SiteConfig)
    source: Path | None = None

    def section(self, name: str) -> Mapping[str, Any]:
        """The keys a section sets, validated (empty when the file has none): adapters apply their defaults."""
        return self.sections.get(name, {})


def assets_root() -> Path:
    """Read-only assets (faces, weights): ``LOCKERS_ASSETS``, else ``shared`` beside the repository."""
    configured = os.environ.get("LOCKERS_ASSETS")
    return Path(configured) if configured else Path(__file__).resolve().parents[4] / "shared"


def load_config(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read ``path`` (or defaults), apply ``overrides`` (same shape as the file), validate."""
    raw = read_file(path) if path is not None else {}
    if overrides:
        raw = deep_merge(raw, overrides)
    return build_config(raw, path)


def read_file(path: Path) -> dict[str, Any]:
    """The parsed TOML of ``path`` with its relative paths resolved against the file's folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    for section, key in FILE_PATHS:
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str) and table[key]:
            table[key] = str(path.resolve().parent / Path(table[key]).expanduser())
    return raw


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``override`` merged into it, mapping by mapping."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def build_config(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a parsed file; every problem is one line of the ``ConfigError``."""
    try:
        site = SiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("\n".join(problem_lines(exc))) from None
    sections = {name: getattr(site, name).model_dump(mode="json", exclude_unset=True) for name in raw}
    config = Config(
        compartments=site.bank.compartments,
        data_dir=resolve_data_dir(site.bank.data_dir),
        pulse_ms=site.policy.pulse_ms,
        max_failed_verifications=site.policy.max_failed_verifications,
        timeouts=Timeouts(**site.timeouts.model_dump()),
        api=site.api,
        sections=sections,
        site=site,
        source=source,
    )
    check_plc_agrees(config)
    return config


def resolve_data_dir(configured: str | None) -> Path:
    """``[bank] data_dir``, else ``LOCKERS_DATA_DIR``, else ``./var``; absolute, so no later ``cd`` moves it."""
    chosen = configured or os.environ.get("LOCKERS_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def check_plc_agrees(config: Config) -> None:
    """The board map must be valid and, where both are given, serve as many compartments as ``[bank]`` says."""
    from plc.registers import parse_plc_config

    plc = config.section("plc")
    served = len(parse_plc_config(plc).compartments)
    both = ("boards" in plc or "compartments" in plc) and "compartments" in config.section("bank")
    if both and served != config.compartments:
        raise ConfigError(f"bank.compartments is {config.compartments} but [plc] serves {served} compartments")


def plc_section(config: Config) -> Mapping[str, Any]:
    """``[plc]`` as the driver reads it: one board of ``[bank] compartments`` unless ``[plc]`` maps them itself."""
    plc = config.section("plc")
    if "boards" in plc or "compartments" in plc:
        return plc
    return {**plc, "compartments": config.compartments}


def compartment_ids(config: Config) -> list[str]:
    """Every compartment of the bank, numbered as the board map numbers them."""
    from plc.registers import parse_plc_config

    return [str(k) for k in parse_plc_config(plc_section(config)).compartments]


def problem_lines(exc: ValidationError) -> list[str]:
    """One readable line per pydantic error: where, what, and for a typo the closest valid name."""
    lines: dict[str, str] = {}
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if part not in UNION_BRANCHES)
        line = _problem(loc, error["type"], error["msg"], error.get("input"))
        where = _dotted(loc)
        # a value that fits no branch of a union is one problem, not one per branch
        lines[where] = f"{lines[where]} or {line.split(': ', 1)[1]}" if where in lines else line
    return list(lines.values())


def _problem(loc: tuple[int | str, ...], kind: str, message: str, value: Any) -> str:
    where = _dotted(loc)
    if kind == "extra_forbidden":
        hint = _closest(loc)
        what = f"[{where}] is not a section" if len(loc) == 1 else f"{where} is not a known key"
        return what + (f"; did you mean {hint}?" if hint else "")
    message = message.removeprefix("Value error, ")
    if kind in ("model_type", "dict_type"):
        return f"[{where}] must be a table, got {value!r}"
    if where in SECRET_KEYS or kind == "value_error":
        return f"{where}: {message}"
    return f"{where}: {message[0].lower()}{message[1:]}, got {value!r}"


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        else:
            parts.append(item)
    return ".".join(parts)


def _closest(loc: tuple[int | str, ...]) -> str | None:
    model: type[BaseModel] = SiteConfig
    for item in loc[:-1]:
        if isinstance(item, str) and item in model.model_fields:
            annotation = model.model_fields[item].annotation
            inner = getattr(annotation, "__args__", (annotation,))[0]
            model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else model
    match = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    if not match:
        return None
    return f"[{match[0]}]" if len(loc) == 1 else f"{_dotted(loc[:-1])}.{match[0]}"


def redacted(config: Config) -> dict[str, Any]:
    """Every effective value (defaults included) with secrets replaced, for ``lockers config show``."""
    document = config.site.model_dump(mode="json")
    for key in SECRET_KEYS:
        section, name = key.split(".")
        if document[section].get(name):
            document[section][name] = "<redacted>"
    document["bank"]["data_dir"] = str(config.data_dir)
    return document
