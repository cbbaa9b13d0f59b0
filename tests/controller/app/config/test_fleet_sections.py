"""``[central]`` and ``[fleet]``: optional sections, validated like the others; a bank without them runs alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.app.config.loader import Config, load_config, redacted
from controller.domain.errors import ConfigError

CENTRE = '[central]\ndatabase_url = "postgresql+psycopg://lockers:secret@db/central"\ndata_dir = "centre-data"\n'


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_a_bank_without_fleet_runs_alone() -> None:
    site = load_config().site
    assert site.fleet is None and site.central is None


def test_fleet_defaults_and_a_trailing_slash(tmp_path: Path) -> None:
    fleet = load(tmp_path, '[fleet]\ncentral_url = "https://centre.example/"\nbank_id = "metro-07"\n').site.fleet
    assert fleet is not None
    assert (fleet.central_url, fleet.bank_id, fleet.sync_interval_s, fleet.heartbeat_s) == (
        "https://centre.example", "metro-07", 2.0, 10.0)


def test_the_centre_takes_its_data_dir_from_its_file_and_hides_its_password(tmp_path: Path) -> None:
    config = load(tmp_path, CENTRE)
    assert config.data_dir == tmp_path / "centre-data"
    assert redacted(config)["central"]["database_url"] == "<redacted>"


@pytest.mark.parametrize(("text", "expected"), [
    ('[central]\ndatabase_url = "sqlite:///x.db"\n', "central.database_url: the centre runs on PostgreSQL only"),
    ('[fleet]\ncentral_url = "ftp://c"\nbank_id = "b"\n', "fleet.central_url: must be an http:// or https:// URL"),
    ('[fleet]\ncentral_url = "http://c"\nbank_id = "a bank"\n', "fleet.bank_id: string should match pattern"),
    ('[fleet]\ncentral_url = "http://c"\nbank_id = "b"\nheartbeat_s = 0\n', "fleet.heartbeat_s: input should be"),
    ('[fleet]\ncentral_url = "http://c"\nbank_id = "b"\nsync_intervl_s = 1\n', "did you mean fleet.sync_interval_s?"),
    ("[fleet]\n", "fleet.central_url: required"),
])
def test_bad_fleet_values_are_one_line_each(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert expected in str(raised.value)
    assert "secret" not in str(raised.value)
