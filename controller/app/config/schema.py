"""The configuration file's schema: one pydantic model per ``[section]``, with documented defaults.

An adapter owns the model of the sections it reads (``recognition.settings``: ``[recognition]`` and
``[camera]``; ``recognition.liveness.verdict``: ``[liveness]``; ``plc.settings``: ``[plc]`` and
``[simulator]``; ``fleet.settings``: ``[central]`` and ``[fleet]``); the shell's own sections are here, their
defaults taken from the core objects they become.
``SiteConfig`` composes them all, and each component receives its section as validated. Adding a key is one
field line in its section's model; adding a section is a model and one field of ``SiteConfig``. Every model
refuses unknown keys, NaN and infinities and values out of range; the loader
(``controller.app.config.loader``) turns the refusals into one line per problem.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from controller.domain.compartment import Policy
from controller.service.pins import PinSettings
from controller.service.scheduler import Timeouts
from fleet.settings import CentralSettings, FleetSettings
from plc.settings import MAX_BITS_PER_READ, PlcSettings, SimulatorSettings
from recognition.liveness.verdict import LivenessPolicy
from recognition.settings import CameraSettings, RecognitionSettings

MAX_COMPARTMENTS = MAX_BITS_PER_READ  # one Modbus read of coils or inputs
SECRET_KEYS = frozenset({
    "templates.master_key", "api.operator_token_sha256", "api.kiosk_token_sha256", "central.database_url"
})
"""Keys whose values ``lockers config show`` and error messages never print."""

Seconds = Annotated[float, Field(gt=0, le=86_400)]
_POLICY, _PINS, _TIMEOUTS = Policy(), PinSettings(), Timeouts()  # the core's defaults are the file's
Port = Annotated[int, Field(ge=1, le=65_535)]


class Section(BaseModel):
    """A table of the file: unknown keys, wrong types, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class BankSection(Section):
    """``[bank]``: the compartments and where the bank keeps its log, vault and keys."""

    compartments: int = Field(6, ge=1, le=MAX_COMPARTMENTS)
    data_dir: str | None = None  # default LOCKERS_DATA_DIR, else ./var; relative to the config file's folder
    id: str | None = Field(None, min_length=1, max_length=64)  # default: made once, kept in <data_dir>/bank.id


class StorageSection(Section):
    """``[storage]``: the event log's database (default: SQLite ``lockers.db`` in the data dir)."""

    url: str | None = Field(None, min_length=1)


class TemplatesSection(Section):
    """``[templates]``: the encrypted template vault."""

    path: str | None = Field(None, min_length=1)  # default <data_dir>/templates.db
    master_key: str | None = None  # `lockers keys master`; or LOCKERS_MASTER_KEY
    rotate_every_h: float = Field(24.0, ge=0, le=24 * 366)  # vault key rotation by `lockers run`; 0: never

    @field_validator("master_key")
    @classmethod
    def _key_parses(cls, value: str | None) -> str | None:
        from storage.templates import parse_master_key

        if value is not None:
            try:
                parse_master_key(value)
            except Exception as exc:  # MasterKeyError: its message never contains the key
                raise ValueError(f"{exc} (make one with `lockers keys master`)") from None
        return value


class PolicySection(Section):
    """``[policy]``: unlock pulse, lockout, what opens for retrieval, wrong-PIN limits, rental period, consent."""

    pulse_ms: int = Field(_POLICY.pulse_ms, ge=50, le=10_000)
    max_failed_verifications: int = Field(_POLICY.max_failed_verifications, ge=1, le=100)
    max_presentation_attacks: int = Field(_POLICY.max_presentation_attacks, ge=1, le=100)  # attacks in a row: alarm
    retrieval: Literal["face_only", "face_or_pin", "face_and_pin"] = Field(_POLICY.retrieval, validate_default=True)
    pin_digits: int = Field(_PINS.digits, ge=6, le=12)
    pin_kiosk_failures: int = Field(_PINS.kiosk_failures, ge=1, le=100)  # wrong PINs at a kiosk before its cool-down
    pin_cooldown_s: Seconds = _PINS.cooldown_s
    pin_alarm_failures: int = Field(_PINS.alarm_failures, ge=1, le=100_000)  # wrong PINs while held: lockout
    rental_period_s: float | None = Field(None, gt=0, le=366 * 86_400)  # None: a deposit may stay forever
    consent_version: str = Field("v1", min_length=1, max_length=64)  # of the consent text the kiosk shows


class TimeoutsSection(Section):
    """``[timeouts]``: seconds before each timeout command (finite, above zero, at most a day)."""

    unlocked_door_not_opened_s: Seconds = _TIMEOUTS.unlocked_door_not_opened_s
    door_left_open_s: Seconds = _TIMEOUTS.door_left_open_s
    verification_s: Seconds = _TIMEOUTS.verification_s


class ApiSection(Section):
    """``[api]``: the HTTP API (loopback by default)."""

    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 8080
    operator_token_sha256: str = ""  # deprecated shared token (`lockers keys operator-token`): use named operators
    kiosk_token_sha256: str = ""  # the kiosk's own credential: deposits and its feed outside simulate mode
    metrics_public: bool = False  # /metrics without logging in (a scraper on a trusted network)
    docs: bool = False  # an offline API documentation page at /docs (the stock one loads a CDN)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)  # larger requests get 413
    cookie_secure: bool = True  # session cookies over HTTPS only (browsers count localhost as secure)
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For is read; empty: the header is never read.
    trusted_proxies: list[str] = Field(default_factory=list)
    token_days: int = Field(90, ge=0, le=3660)  # `lockers operators token` expiry by default; 0: never

    @field_validator("trusted_proxies")
    @classmethod
    def _are_networks(cls, value: list[str]) -> list[str]:
        from controller.app.http.clients import parse_networks

        parse_networks(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("operator_token_sha256", "kiosk_token_sha256")
    @classmethod
    def _is_a_sha256(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-f]{64}", value.lower()):
            raise ValueError("must be 64 hex digits (the SHA-256 `lockers keys operator-token` prints)")
        return value.lower()


class AuditSection(Section):
    """``[audit]``: signed checkpoints of the log (``controller.app.audit.keys.AuditSettings`` applies it)."""

    anchor_path: str | None = Field(None, min_length=1)  # default <data_dir>/anchors.jsonl; put it elsewhere
    signing_key_path: str | None = Field(None, min_length=1)  # default <data_dir>/audit-signing.key
    public_key_path: str | None = Field(None, min_length=1)  # default signing_key_path + ".pub"
    checkpoint_every_events: int = Field(1000, ge=0)  # 0: no count-based checkpoints
    checkpoint_every_s: float = Field(60.0, ge=0)  # 0: no time-based checkpoints
    witness_url: str = ""  # http:// or https://; "" for none
    witness_timeout_s: float = Field(5.0, ge=0.1, le=600)
    anchor_key_fingerprint: str = ""  # SHA-256 of the public key (printed at first start); "" for unpinned

    @field_validator("anchor_key_fingerprint")
    @classmethod
    def _is_a_fingerprint(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-f]{64}", value.lower()):
            raise ValueError("must be 64 hex digits (the fingerprint `lockers keys signing` prints)")
        return value.lower()

    @field_validator("witness_url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class SiteConfig(Section):
    """The whole file: one field per section."""

    bank: BankSection = BankSection()
    storage: StorageSection = StorageSection()
    templates: TemplatesSection = TemplatesSection()
    policy: PolicySection = PolicySection()
    timeouts: TimeoutsSection = TimeoutsSection()
    recognition: RecognitionSettings = RecognitionSettings()
    camera: CameraSettings = CameraSettings()
    liveness: LivenessPolicy = LivenessPolicy()
    api: ApiSection = ApiSection()
    plc: PlcSettings = PlcSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    audit: AuditSection = AuditSection()
    central: CentralSettings | None = None  # a centre's file (`lockers central run`)
    fleet: FleetSettings | None = None  # a bank of a fleet; without it the bank runs alone
