"""``load_config``: one line per problem, typos named with the closest valid name, paths relative to the file."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from controller.app.config.loader import Config, compartment_ids, load_config, redacted
from controller.app.config.location import database_url
from controller.app.config.schema import PolicySection, SiteConfig, TimeoutsSection
from controller.domain.errors import ConfigError
from controller.service.scheduler import Timeouts
from plc.registers import plc_config_of
from plc.settings import PlcBoardSettings, PlcSettings
from recognition.liveness.verdict import LivenessPolicy
from recognition.settings import CameraSettings, RecognitionSettings
from storage.templates import generate_master_key

GOOD_KEY = generate_master_key()


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    return str(refused.value).splitlines()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[bank]\ncompartmens = 24\n", "bank.compartmens is not a known key; did you mean bank.compartments?"),
        ("[reconition]\nthreshold = 0.4\n", "[reconition] is not a section; did you mean [recognition]?"),
        ("[timeouts]\ndoor_left_open_s = nan\n", "timeouts.door_left_open_s: input should be a finite number, got nan"),
        ("[timeouts]\nverification_s = inf\n", "timeouts.verification_s: input should be a finite number, got inf"),
        ("[timeouts]\nverification_s = 0\n", "timeouts.verification_s: input should be greater than 0, got 0"),
        ("[recognition]\nthreshold = 5.0\n", "recognition.threshold: input should be less than or equal to 2, got 5.0"),
        ("[policy]\npulse_ms = 100000000\n",
         "policy.pulse_ms: input should be less than or equal to 10000, got 100000000"),
        ("[api]\nport = 70000\n", "api.port: input should be less than or equal to 65535, got 70000"),
        ("[bank]\ncompartments = 0\n", "bank.compartments: input should be greater than or equal to 1, got 0"),
        ("[bank]\ncompartments = \"24\"\n", "bank.compartments: input should be a valid integer, got '24'"),
        ("[simulator]\nbehaviour = \"flap\"\n",
         "simulator.behaviour: input should be 'pop', 'stay-closed' or 'jam', got 'flap'"),
        ("[[plc.boards]]\ncompartments = 4\ndevic_id = 2\n",
         "plc.boards[0].devic_id is not a known key; did you mean plc.boards[0].device_id?"),
        ("bank = 3\n", "[bank] must be a table, got 3"),
        ("[bank]\ncompartments = 4\n[plc]\ncompartments = 8\n",
         "bank.compartments is 4 but [plc] serves 8 compartments"),
    ],
)
def test_one_bad_value_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    lines = problems(tmp_path, "[bank]\ncompartmens = 24\n[reconition]\n[timeouts]\nverification_s = nan\n")
    assert len(lines) == 3
    assert {line.split(" ")[0] for line in lines} == {"bank.compartmens", "[reconition]", "timeouts.verification_s:"}


def test_an_unknown_key_far_from_any_name_gets_no_guess(tmp_path: Path) -> None:
    assert problems(tmp_path, "[bank]\nzzz = 1\n") == ["bank.zzz is not a known key"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[templates]\nmaster_key = "c2hvcnQ="\n', "template master key must be 32 bytes, got 5"),
        ('[templates]\nmaster_key = "not base64!"\n', "template master key is not valid base64"),
        ('[api]\noperator_token_sha256 = "secret-token"\n', "must be 64 hex digits"),
        (f'[api]\noperator_token_sha256 = "{"a" * 63}"\n', "must be 64 hex digits"),
    ],
)
def test_bad_secrets_are_refused_without_echoing_them(tmp_path: Path, text: str, fragment: str) -> None:
    [line] = problems(tmp_path, text)
    assert fragment in line
    secret = text.split('"')[1]
    assert secret not in line


def test_good_secrets_are_accepted_and_redacted(tmp_path: Path) -> None:
    config = load(tmp_path, f'[templates]\nmaster_key = "{GOOD_KEY}"\n[api]\noperator_token_sha256 = "{"AB" * 32}"\n')
    assert config.site.templates.master_key == GOOD_KEY
    assert config.api.operator_token_sha256 == "ab" * 32  # hexdigest() is lower case
    shown = redacted(config)
    assert shown["templates"]["master_key"] == "<redacted>" and shown["api"]["operator_token_sha256"] == "<redacted>"
    assert GOOD_KEY not in str(shown)


def test_a_relative_data_dir_is_relative_to_the_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "etc"
    site.mkdir()
    monkeypatch.setenv("LOCKERS_DATA_DIR", str(tmp_path / "ignored"))
    text = '[bank]\ndata_dir = "data"\n[templates]\npath = "vault/t.db"\n[audit]\nanchor_path = "a.jsonl"\n'
    (site / "site.toml").write_text(text, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../etc/site.toml"))
    assert config.data_dir == site / "data"
    assert config.site.templates.path == str(site / "vault" / "t.db")
    assert config.site.audit.anchor_path == str(site / "a.jsonl")


def test_every_relative_path_of_a_file_is_read_from_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "etc"
    site.mkdir()
    text = ('[recognition]\ncohort = "c.npz"\nmodel = "ft/mine.pt+dlib-resnet"\n[camera]\nsource = "clips/door.mp4"\n'
            '[storage]\nurl = "sqlite:///log/l.db"\n')
    (site / "site.toml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("etc/site.toml"))
    assert config.site.recognition.cohort == str(site / "c.npz")
    assert config.site.recognition.model == f"{site / 'ft' / 'mine.pt'}+dlib-resnet"
    assert config.site.camera.source == str(site / "clips" / "door.mp4")
    assert database_url(config) == f"sqlite:///{site / 'log' / 'l.db'}"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("camera", "source", "0"),
        ("camera", "source", "rtsp://camera.local/stream"),
        ("recognition", "model", "fr-feature+mobilefacenet"),
        ("storage", "url", "sqlite:////var/lib/lockers/lockers.db"),
        ("storage", "url", "postgresql+psycopg://lockers:secret@db/lockers"),
    ],
)
def test_device_indexes_urls_names_and_absolute_paths_are_kept(tmp_path: Path, section: str, key: str,
                                                              value: str) -> None:
    config = load(tmp_path, f'[{section}]\n{key} = "{value}"\n')
    assert getattr(getattr(config.site, section), key) == value


def test_without_a_configured_data_dir_the_environment_then_var_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCKERS_DATA_DIR", raising=False)
    assert load_config().data_dir == tmp_path / "var"
    monkeypatch.setenv("LOCKERS_DATA_DIR", "here")
    assert load_config().data_dir == tmp_path / "here"


def test_sections_hold_the_keys_a_file_sets_and_the_typed_values(tmp_path: Path) -> None:
    config = load(tmp_path, "[camera]\nsource = 0\n[simulator]\nbehaviour = \"jam\"\n[timeouts]\nverification_s = 3\n")
    assert config.site.camera.source == "0"
    assert config.site.simulator.behaviour == "jam"
    assert config.site.recognition == RecognitionSettings()
    assert config.timeouts == Timeouts(verification_s=3.0)


def test_the_bank_has_the_board_maps_compartments_when_plc_gives_them(tmp_path: Path) -> None:
    config = load(tmp_path, "[[plc.boards]]\ncompartments = 3\n[[plc.boards]]\ndevice_id = 2\ncompartments = 2\n")
    assert compartment_ids(config) == ["1", "2", "3", "4", "5"]
    assert compartment_ids(load(tmp_path, "[bank]\ncompartments = 2\n")) == ["1", "2"]


def test_schema_defaults_are_the_adapters_defaults() -> None:
    """The schema composes the adapters' own section models; the adapters apply their defaults."""
    sections = {"recognition": RecognitionSettings, "camera": CameraSettings, "liveness": LivenessPolicy,
                "plc": PlcSettings}
    assert {name: SiteConfig.model_fields[name].annotation for name in sections} == sections
    parsed = plc_config_of(PlcSettings())
    plc = PlcSettings()
    assert (parsed.timeout_s, parsed.read_retries, parsed.poll_interval_s) == (
        plc.timeout_ms / 1000, plc.read_retries, plc.poll_interval_ms / 1000)
    assert dataclasses.asdict(Timeouts()) == TimeoutsSection().model_dump()
    assert SiteConfig().bank.compartments == Config().compartments


def section_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model nested in its fields (lists of tables included)."""
    yield model
    for field in model.model_fields.values():
        for inner in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from section_models(inner)


def test_every_section_of_every_owner_is_strict() -> None:
    """The adapters declare their own section base (they import nothing from the shell): all must refuse alike."""
    models = set(section_models(SiteConfig))
    assert {RecognitionSettings, LivenessPolicy, PlcSettings, PlcBoardSettings} <= models
    for model in models:
        rules = {key: model.model_config.get(key) for key in ("extra", "strict", "allow_inf_nan", "frozen")}
        assert rules == {"extra": "forbid", "strict": True, "allow_inf_nan": False, "frozen": True}, model


def test_the_policy_section_reaches_the_core_and_its_defaults_are_the_cores(tmp_path: Path) -> None:
    from controller.app.stack import Overrides, build_bank
    from controller.domain.compartment import Policy
    from controller.service.simulation import ForgetfulVault, NoGallery
    from plc.fake import FakeLockDriver
    from storage.memory import InMemoryEventStore

    defaults = dataclasses.asdict(Policy())
    assert defaults == {name: getattr(PolicySection(), name) for name in defaults}
    rules = {"pulse_ms": 700, "max_failed_verifications": 5, "max_presentation_attacks": 1, "retrieval": "face_only"}
    config = load_config(None, {"bank": {"compartments": 2, "data_dir": str(tmp_path)}, "policy": rules})
    given = Overrides(store=InMemoryEventStore(), locks=FakeLockDriver(2), vault=ForgetfulVault())
    stack = build_bank(config, NoGallery(), given)
    try:
        assert dataclasses.asdict(stack.bank.policy) == rules
        assert stack.bank._service.get("1").policy.max_presentation_attacks == 1  # each compartment decides by it
    finally:
        stack.close()
