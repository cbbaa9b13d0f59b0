"""The service configuration: one TOML file, validated against ``config_schema`` with one line per problem.

Unknown sections and keys are refused naming the closest valid name. Paths in a file (``PATH_KEYS``: the data
dir, the vault, the audit files, a cohort, a checkpoint, a camera's video or folder, a SQLite log) are relative
to the file's folder; without ``[bank] data_dir`` the data directory is
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
from plc.registers import PlcConfig, plc_config_of

DEFAULT_DATA_DIR = "var"
UNION_BRANCHES = frozenset({"str", "int", "float", "bool", "none"})
"""Labels pydantic adds to the location of an error inside a union."""
PATH_KEYS = (
    ("bank", "data_dir"),
    ("templates", "path"),
    ("audit", "anchor_path"),
    ("audit", "signing_key_path"),
    ("audit", "public_key_path"),
    ("recognition", "cohort"),
    ("recognition", "model"),  # a checkpoint file, alone or in a fusion
    ("camera", "source"),  # a video file or an image folder
    ("storage", "url"),  # a SQLite file
    ("central", "data_dir"),
    ("fleet", "central_public_key"),
)
"""Keys that may hold paths, which a configuration file gives relative to its own folder.

``[plc] serial_port`` is a device name (``/dev/ttyUSB0``, ``COM3``) or a pyserial URL, not a file of the site;
``[audit] witness_url`` is a URL."""


class ConfigFileUnreadable(ConfigError):
    """The configuration file is missing or cannot be read: bad input, not a check that found a problem."""


@dataclass(frozen=True)
class Config:
    """The validated file (``site``: one typed section per table) and where it puts the bank's data."""

    site: SiteConfig = field(default_factory=SiteConfig)
    data_dir: Path = Path(DEFAULT_DATA_DIR)  # absolute once loaded: [bank] data_dir, LOCKERS_DATA_DIR or ./var
    source: Path | None = None

    @property
    def compartments(self) -> int:
        """``[bank] compartments``."""
        return self.site.bank.compartments

    @property
    def api(self) -> ApiSection:
        """The validated ``[api]`` section."""
        return self.site.api

    @property
    def timeouts(self) -> Timeouts:
        """``[timeouts]`` as the scheduler takes it."""
        return Timeouts(**self.site.timeouts.model_dump())


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
        raise ConfigFileUnreadable(f"configuration file {path} does not exist") from None
    except OSError as exc:
        raise ConfigFileUnreadable(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    folder = path.resolve().parent
    for section, key in PATH_KEYS:
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str) and table[key]:
            table[key] = anchored(section, key, table[key], folder)
    return raw


def anchored(section: str, key: str, value: str, folder: Path) -> str:
    """``value`` of ``[section] key`` with any relative path in it read from ``folder``."""
    from recognition.settings import model_part_is_path, source_is_path

    def file(name: str) -> str:
        return str(folder / Path(name).expanduser())

    if (section, key) == ("storage", "url"):
        from storage.engine import anchored_url

        return anchored_url(value, folder)
    if (section, key) == ("recognition", "model"):
        return "+".join(file(part) if model_part_is_path(part) else part for part in value.split("+"))
    if (section, key) == ("camera", "source"):
        return file(value) if source_is_path(value) else value
    return file(value)


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
    central_dir = site.central.data_dir if site.central else None
    config = Config(site=site, data_dir=resolve_data_dir(site.bank.data_dir or central_dir), source=source)
    check_plc_agrees(config)
    return config


def resolve_data_dir(configured: str | None) -> Path:
    """``[bank] data_dir`` (a centre's ``[central] data_dir``), else ``LOCKERS_DATA_DIR``, else ``./var``; absolute."""
    chosen = configured or os.environ.get("LOCKERS_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def check_plc_agrees(config: Config) -> None:
    """Where both ``[bank]`` and ``[plc]`` say how many compartments there are, they must agree."""
    plc, bank = config.site.plc, config.site.bank
    served = len(plc_config(config).compartments)
    if plc.maps_compartments and "compartments" in bank.model_fields_set and served != bank.compartments:
        raise ConfigError(f"bank.compartments is {bank.compartments} but [plc] serves {served} compartments")


def plc_config(config: Config) -> PlcConfig:
    """The lock boards' register map: ``[plc]``, one board of ``[bank] compartments`` unless it maps them itself."""
    return plc_config_of(config.site.plc, config.compartments)


def compartment_ids(config: Config) -> list[str]:
    """Every compartment of the bank, numbered as the board map numbers them."""
    return [str(k) for k in plc_config(config).compartments]


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
    if kind == "missing":
        return f"{where}: required"
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
        if (document.get(section) or {}).get(name):
            document[section][name] = "<redacted>"
    document["bank"]["data_dir"] = str(config.data_dir)
    return document
