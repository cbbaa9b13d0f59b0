"""``lockers config``, ``lockers keys`` and ``--config`` on the bank commands, run as a user runs them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from controller.app.cli.exits import BAD_INPUT, CHECK_FAILED, UNAVAILABLE
from storage.templates import parse_master_key
from tests.support.cli import lockers

pytestmark = pytest.mark.timeout(300)


def site(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = {
    "typo": ("[bank]\ncompartmens = 24\n", "bank.compartmens is not a known key; did you mean bank.compartments?"),
    "section": ("[reconition]\nthreshold = 0.4\n", "[reconition] is not a section; did you mean [recognition]?"),
    "nan": ("[timeouts]\nverification_s = nan\n", "timeouts.verification_s: input should be a finite number"),
    "inf": ("[timeouts]\ndoor_left_open_s = inf\n", "timeouts.door_left_open_s: input should be a finite number"),
    "threshold": ("[recognition]\nthreshold = 5.0\n", "recognition.threshold: input should be less than or equal to 2"),
    "pulse": ("[policy]\npulse_ms = 100000000\n", "policy.pulse_ms: input should be less than or equal to 10000"),
    "port": ("[api]\nport = 70000\n", "api.port: input should be less than or equal to 65535"),
    "key": ('[templates]\nmaster_key = "c2hvcnQ="\n', "templates.master_key: template master key must be 32 bytes"),
    "token": ('[api]\noperator_token_sha256 = "abc"\n', "api.operator_token_sha256: must be 64 hex digits"),
    "toml": ("[bank\n", "is not valid TOML"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_config_check_refuses_a_bad_file_naming_the_key(tmp_path: Path, name: str) -> None:
    text, expected = BAD_FILES[name]
    result = lockers("config", "check", str(site(tmp_path, text)), cwd=tmp_path)
    assert result.returncode == CHECK_FAILED, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and expected in line


def test_config_check_lists_every_problem_and_passes_a_good_file(tmp_path: Path) -> None:
    bad = site(tmp_path / "bad", "".join(text for text, _ in list(BAD_FILES.values())[:3]))
    result = lockers("config", "check", str(bad), cwd=tmp_path)
    assert result.returncode == CHECK_FAILED and len(result.stderr.splitlines()) == 3
    good = site(tmp_path / "good", '[bank]\ncompartments = 4\ndata_dir = "data"\n')
    result = lockers("config", "check", str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"4 compartments, data dir {tmp_path / 'good' / 'data'}" in result.stdout


def test_config_check_of_a_missing_file_is_bad_input_not_a_failed_check(tmp_path: Path) -> None:
    result = lockers("config", "check", str(tmp_path / "absent.toml"), cwd=tmp_path)
    assert result.returncode == BAD_INPUT, result.stderr
    assert result.stderr.splitlines() == [f"error: configuration file {tmp_path / 'absent.toml'} does not exist"]


def test_keys_master_json_has_the_key_the_text_prints(tmp_path: Path) -> None:
    result = lockers("keys", "master", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(parse_master_key(json.loads(result.stdout)["master_key"])) == 32


def test_a_bad_configuration_stops_a_bank_command_with_one_line_per_problem(tmp_path: Path) -> None:
    result = lockers("status", "--config", str(site(tmp_path, BAD_FILES["typo"][0])), cwd=tmp_path)
    assert result.returncode == BAD_INPUT
    assert result.stderr.splitlines() == [f"error: {BAD_FILES['typo'][1]}"]


def test_status_with_config_finds_the_banks_log_from_any_directory(tmp_path: Path) -> None:
    config = site(tmp_path / "etc", '[bank]\ncompartments = 5\ndata_dir = "../data"\n')
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    made = lockers("sim", "history", "--config", "../etc/site.toml", "--steps", "80", "--json", cwd=tmp_path / "a")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "data" / "lockers.db").is_file() and not (tmp_path / "a" / "var").exists()
    events = json.loads(made.stdout)["events_in_log"]
    shown = lockers("status", "--config", str(config), "--json", cwd=tmp_path / "b")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)["compartments"]
    assert [row["id"] for row in rows] == ["1", "2", "3", "4", "5"]  # every compartment, from the configuration
    assert sum(row["version"] for row in rows) == events  # the log the history wrote, not a fresh one
    verify = lockers("audit", "verify", "--config", str(config), "--json", cwd=tmp_path / "b")
    assert json.loads(verify.stdout)["events"] == events
    checked = lockers("db", "check", "--config", str(config), "--json", cwd=tmp_path / "b")
    assert json.loads(checked.stdout)["database"] == f"sqlite:///{tmp_path / 'data' / 'lockers.db'}"
    # without the configuration, another directory has no log: a clear error, not an empty bank
    lost = lockers("status", cwd=tmp_path / "b")
    assert lost.returncode == UNAVAILABLE and "no database at" in lost.stderr
    assert not (tmp_path / "b" / "var" / "lockers.db").exists()


def test_log_format_works_after_the_subcommand(tmp_path: Path) -> None:
    made = lockers("sim", "history", "--steps", "5", "--log-format", "json", cwd=tmp_path, data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    assert all(json.loads(line)["event"] for line in made.stderr.splitlines())
    console = lockers("sim", "history", "--steps", "5", "--log-format=console", cwd=tmp_path, data_dir=tmp_path / "c")
    assert console.returncode == 0 and not console.stderr.startswith("{")
    wrong = lockers("status", "--log-format", "xml", cwd=tmp_path, data_dir=tmp_path)
    assert wrong.returncode == BAD_INPUT and "--log-format must be auto, json or console" in wrong.stderr


def test_config_show_redacts_secrets_and_shows_where_the_log_is(tmp_path: Path) -> None:
    key = lockers("keys", "master", cwd=tmp_path).stdout.strip()
    assert len(parse_master_key(key)) == 32
    key_doc = json.loads(lockers("keys", "master", "--json", cwd=tmp_path).stdout)
    assert len(parse_master_key(key_doc["master_key"])) == 32 and key_doc["master_key"] != key
    token_doc = json.loads(lockers("keys", "operator-token", "--json", cwd=tmp_path).stdout)
    assert hashlib.sha256(token_doc["token"].encode()).hexdigest() == token_doc["operator_token_sha256"]
    text = f'[templates]\nmaster_key = "{key}"\n[api]\noperator_token_sha256 = "{token_doc["operator_token_sha256"]}"\n'
    config = site(tmp_path, text + '[bank]\ndata_dir = "d"\n')
    assert lockers("config", "check", str(config), cwd=tmp_path).returncode == 0
    shown = lockers("config", "show", "--config", str(config), "--json", cwd=tmp_path)
    document = json.loads(shown.stdout)
    assert document["templates"]["master_key"] == document["api"]["operator_token_sha256"] == "<redacted>"
    assert key not in shown.stdout and token_doc["operator_token_sha256"] not in shown.stdout
    assert document["storage"]["effective_url"] == f"sqlite:///{tmp_path / 'd' / 'lockers.db'}"
    assert document["timeouts"]["door_left_open_s"] == 120.0  # defaults are shown too
    human = lockers("config", "show", "--config", str(config), cwd=tmp_path).stdout
    assert "[policy]\npulse_ms = 500\n" in human and key not in human
