"""Typed, strict reading of one TOML table: every error names the offending key and what was expected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controller.domain.errors import ConfigError


class SectionReader:
    """Reads keys of one table, remembering which were used so unknown keys can be rejected."""

    def __init__(self, data: Mapping[str, object], where: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: must be a table, got {type(data).__name__}")
        self._data = data
        self._where = where
        self._used: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str, default: object) -> object:
        self._used.add(key)
        if key in self._data:
            return self._data[key]
        if default is None:
            raise ConfigError(f"{self._where}.{key}: required")
        return default

    def _fail(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(f"{self._where}.{key}: must be {expected}, got {value!r}")

    def integer(self, key: str, default: int | None, low: int, high: int) -> int:
        """An integer in ``low..high``; ``default`` None makes the key required."""
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._fail(key, f"an integer in {low}..{high}", value)
        return value

    def text(self, key: str, default: str | None) -> str:
        """A non-empty string; ``default`` None makes the key required."""
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string", value)
        return value

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        """One of ``choices``."""
        value = self._get(key, default)
        if value not in choices:
            raise self._fail(key, "one of " + ", ".join(repr(c) for c in choices), value)
        return str(value)

    def boolean(self, key: str, default: bool) -> bool:
        """A boolean (TOML true or false)."""
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def tables(self, key: str) -> list[SectionReader]:
        """An array of tables (``[[section.key]]``); empty when absent."""
        value = self._get(key, [])
        if not isinstance(value, list):
            raise self._fail(key, "an array of tables", value)
        return [SectionReader(item, f"{self._where}.{key}[{i}]") for i, item in enumerate(value)]

    def finish(self) -> None:
        """Reject keys that were never read: they are typos or unsupported options."""
        unknown = sorted(set(self._data) - self._used)
        if unknown:
            raise ConfigError(f"{self._where}: unknown key(s) {', '.join(unknown)}")
