"""The configuration file's schema: one pydantic model per ``[section]``, with documented defaults.

Adding a key is one field line in its section's model; adding a section is a ``Section`` subclass and one
field of ``SiteConfig``. Every model refuses unknown keys, NaN and infinities and values out of range; the
loader (``controller.app.config.loader``) turns the refusals into one line per problem.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plc.sim_board import DoorBehaviour

MAX_COMPARTMENTS = 2000  # one Modbus read of coils or inputs; also plc.registers.MAX_BITS_PER_READ
SECRET_KEYS = frozenset({"templates.master_key", "api.operator_token_sha256", "api.kiosk_token_sha256"})
"""Keys whose values ``lockers config show`` and error messages never print."""

Seconds = Annotated[float, Field(gt=0, le=86_400)]
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

    pulse_ms: int = Field(500, ge=50, le=10_000)
    max_failed_verifications: int = Field(3, ge=1, le=100)
    max_presentation_attacks: int = Field(2, ge=1, le=100)  # attempts judged attacks in a row: an alarm
    retrieval: Literal["face_only", "face_or_pin", "face_and_pin"] = "face_or_pin"
    pin_digits: int = Field(8, ge=6, le=12)
    pin_kiosk_failures: int = Field(3, ge=1, le=100)  # consecutive wrong PINs at a kiosk before its cool-down
    pin_cooldown_s: Seconds = 60.0
    pin_alarm_failures: int = Field(1000, ge=1, le=100_000)  # wrong PINs while it held one: lockout (README)
    rental_period_s: float | None = Field(None, gt=0, le=366 * 86_400)  # None: a deposit may stay forever
    consent_version: str = Field("v1", min_length=1, max_length=64)  # of the consent text the kiosk shows


class TimeoutsSection(Section):
    """``[timeouts]``: seconds before each timeout command (finite, above zero, at most a day)."""

    unlocked_door_not_opened_s: Seconds = 20.0
    door_left_open_s: Seconds = 120.0
    verification_s: Seconds = 8.0


class RecognitionSection(Section):
    """``[recognition]``: model and decision rule (defaults as ``recognition.settings.RecognitionSettings``)."""

    model: str = Field("fr-feature+mobilefacenet", min_length=1)
    threshold: float | None = Field(None, gt=0, le=2)  # a distance between unit vectors lies in 0..2
    margin: float = Field(0.05, ge=0, lt=2)
    near_miss: float = Field(0.1, ge=0, le=1)  # relative: threshold x (1 + near_miss) is still an attempt
    cohort: str = ""  # .npz from `lockers cohort build`; empty: no open-set runner-up
    frames_required: int = Field(3, ge=1, le=100)
    frames_window: int = Field(5, ge=1, le=100)
    window_s: float = Field(2.0, gt=0, le=60)
    min_face_size: int = Field(80, ge=10, le=4096)
    min_face_px: float = Field(60.0, gt=0, le=4096)
    device: str = Field("cpu", min_length=1)
    enrol_samples: int = Field(3, ge=1, le=50)

    @model_validator(mode="after")
    def _window_holds_the_frames(self) -> RecognitionSection:
        if self.frames_required > self.frames_window:
            raise ValueError("frames_required must not exceed frames_window")
        return self


class LivenessSection(Section):
    """``[liveness]``: presentation-attack detection (defaults as ``recognition.liveness.verdict.LivenessPolicy``)."""

    enabled: bool = True
    passive_threshold: float = Field(0.4, ge=0, le=1)
    replay_similarity: float = Field(0.9, gt=0, le=1)
    min_parallax: float = Field(0.1, ge=0, le=10)
    min_plane_motion: float = Field(0.05, ge=0, le=10)
    challenge: Literal["none", "turn_head"] = "none"
    confident_passive: float = Field(0.9, ge=0, le=1)
    min_turn: float = Field(0.25, ge=0, le=10)
    min_frames: int = Field(2, ge=1, le=100)


class CameraSection(Section):
    """``[camera]``: device index, rtsp:// or http:// URL, video file or image folder."""

    source: str | int = ""

    @field_validator("source")
    @classmethod
    def _as_text(cls, value: str | int) -> str:
        return str(value)


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

    @field_validator("operator_token_sha256", "kiosk_token_sha256")
    @classmethod
    def _is_a_sha256(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9a-f]{64}", value.lower()):
            raise ValueError("must be 64 hex digits (the SHA-256 `lockers keys operator-token` prints)")
        return value.lower()


class PlcBoardSection(Section):
    """One ``[[plc.boards]]`` table (defaults as ``plc.registers``)."""

    name: str | None = Field(None, min_length=1)
    device_id: int | None = Field(None, ge=1, le=247)
    first_compartment: int | None = Field(None, ge=1)
    compartments: int = Field(ge=1, le=MAX_COMPARTMENTS)
    coil_base: int = Field(0, ge=0, le=65_535)
    input_base: int = Field(0, ge=0, le=65_535)
    pulse_register_base: int = Field(512, ge=0, le=65_535)
    board_timed_pulse: bool = True
    inputs_inverted: bool = False


class PlcSection(Section):
    """``[plc]``: the lock boards (``plc.registers`` documents the register map)."""

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 502
    serial_port: str | None = Field(None, min_length=1)
    baudrate: int = Field(19_200, ge=300, le=4_000_000)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = Field(1, ge=1, le=2)
    bytesize: int = Field(8, ge=7, le=8)
    timeout_ms: int = Field(500, ge=1, le=60_000)
    read_retries: int = Field(2, ge=0, le=10)
    reconnect_delay_ms: int = Field(100, ge=1, le=60_000)
    reconnect_delay_max_ms: int = Field(5000, ge=1, le=600_000)
    poll_interval_ms: int = Field(100, ge=5, le=60_000)
    debounce_polls: int = Field(2, ge=1, le=100)
    compartments: int | None = Field(None, ge=1, le=MAX_COMPARTMENTS)  # one board; else [[plc.boards]]
    boards: list[PlcBoardSection] = []


class SimulatorSection(Section):
    """``[simulator]``: the in-process lock board of ``lockers run --simulate``."""

    behaviour: Annotated[DoorBehaviour, Field(strict=False)] = DoorBehaviour.POP


class AuditSection(Section):
    """``[audit]``: signed checkpoints of the log (``controller.app.audit.keys.AuditSettings`` applies it)."""

    anchor_path: str | None = Field(None, min_length=1)  # default <data_dir>/anchors.jsonl; put it elsewhere
    signing_key_path: str | None = Field(None, min_length=1)  # default <data_dir>/audit-signing.key
    public_key_path: str | None = Field(None, min_length=1)  # default signing_key_path + ".pub"
    checkpoint_every_events: int = Field(1000, ge=0)  # 0: no count-based checkpoints
    checkpoint_every_s: float = Field(60.0, ge=0)  # 0: no time-based checkpoints
    witness_url: str = ""  # http:// or https://; "" for none
    witness_timeout_s: float = Field(5.0, ge=0.1, le=600)

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
    recognition: RecognitionSection = RecognitionSection()
    camera: CameraSection = CameraSection()
    liveness: LivenessSection = LivenessSection()
    api: ApiSection = ApiSection()
    plc: PlcSection = PlcSection()
    simulator: SimulatorSection = SimulatorSection()
    audit: AuditSection = AuditSection()
