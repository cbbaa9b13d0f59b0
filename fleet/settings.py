"""The ``[central]`` and ``[fleet]`` sections of the configuration file: their models, defaults and rules.

``[central]`` configures a centre (``lockers central run``): its PostgreSQL database, where it listens and
its data directory (operator accounts). ``[fleet]`` makes a bank a member of a fleet: where the centre is,
the bank's id there, how often it pushes its log and reports its health. A bank without ``[fleet]`` runs
alone. The site schema (``controller.app.config.schema``) composes both.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

Port = Annotated[int, Field(ge=1, le=65_535)]
BANK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Section(BaseModel):
    """A table of the configuration file: unknown keys, wrong types, NaN and infinities are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class CentralSettings(Section):
    """``[central]``: the centre's PostgreSQL database, its address and its data directory."""

    database_url: str = Field(min_length=1)
    host: str = Field("127.0.0.1", min_length=1)
    port: Port = 8090
    data_dir: str | None = None  # operator accounts; default as [bank] data_dir; relative to the config file

    @field_validator("database_url")
    @classmethod
    def _postgresql_only(cls, url: str) -> str:
        if not url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("the centre runs on PostgreSQL only: postgresql+psycopg://USER:PASSWORD@HOST/DB")
        return url


class FleetSettings(Section):
    """``[fleet]``: the centre this bank pushes its log to, its id there, and how often it talks to it."""

    central_url: str = Field(min_length=1)
    bank_id: str = Field(pattern=BANK_ID_PATTERN)
    sync_interval_s: float = Field(2.0, gt=0, le=3600)
    heartbeat_s: float = Field(10.0, gt=0, le=3600)
    batch_events: int = Field(1000, ge=1, le=10_000)  # events per pushed batch (10,000 stay under 10 MB)
    timeout_s: float = Field(10.0, gt=0, le=600)  # one request to the centre
    central_public_key: str | None = Field(None, min_length=1)  # the centre's central.key.pub: commands pulled

    @field_validator("central_url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.rstrip("/")
