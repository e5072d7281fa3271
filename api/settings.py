"""Settings for the store and the HTTP API (pydantic-settings, environment prefix ``MUJUN_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the data lives: a SpatiaLite file by default, PostGIS when ``MUJUN_DATABASE_URL`` says so."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset = SpatiaLite file <data_dir>/mujun.sqlite; "
        "postgresql+psycopg://… = PostGIS",
    )
    data_dir: Path = Field(default=Path("var"), description="数据目录 (SpatiaLite file, run outputs)")
    print_unit: str = Field(default="", description="打印地图的制图单位 (mapping organisation on print maps)")

    @property
    def resolved_database_url(self) -> str:
        """The URL actually used (the default SpatiaLite file when none is configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mujun.sqlite').resolve()}"


class ApiSettings(BaseSettings):
    """HTTP behaviour: anonymous reads, upload and archive limits, paging."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    allow_anonymous_read: bool = False
    max_upload_mb: float = 200.0
    max_unzipped_mb: float = 2000.0
    max_zip_ratio: float = 200.0
    max_zip_entries: int = 10000
    items_default_limit: int = 10
    items_max_limit: int = 10000
    evaluate_workers: int = 1
    # A single-file map inlines every parcel and verdict (about 180 bytes of HTML per parcel with four verdicts;
    # Chromium cannot parse a page holding one string over 536,870,888 characters). Above this many parcels
    # `mujun map` refuses and the web results page shows the tiled map instead.
    map_max_inline_parcels: int = Field(default=200_000, ge=1, description="单文件地图的宗地数上限 (inline map limit)")


class SecuritySettings(BaseSettings):
    """Token expiry, web sessions and cross-origin access."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    token_days: int = Field(default=90, ge=0, le=36500,
                            description="新令牌有效天数，0 = 永不过期 (days a new token is valid; 0 = never)")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 365,
                                 description="网页登录有效小时数 (hours a web sign-in lasts)")
    session_secret: str | None = Field(
        default=None, min_length=32,
        description="签名会话 Cookie 的密钥；不设则由数据库生成并在各服务进程间共享 "
        "(key signing session cookies; unset = one generated once and kept in the store)",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="允许跨域访问的来源，逗号分隔，默认不允许 (allowed CORS origins, comma-separated; default none)",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value


class Settings(StoreSettings, ApiSettings, SecuritySettings):
    """All of mujun's server-side settings in one object (store + API + security)."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")


def get_settings() -> Settings:
    """Read settings from the environment now (no caching, so tests can change the environment)."""
    return Settings()
