"""Settings for the store and the HTTP API (pydantic-settings, environment prefix ``MUJUN_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Where the data lives: a SpatiaLite file by default, PostGIS when ``MUJUN_DATABASE_URL`` says so."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset = SpatiaLite file <data_dir>/mujun.sqlite; "
        "postgresql+psycopg://… = PostGIS",
    )
    data_dir: Path = Field(default=Path("var"), description="数据目录 (SpatiaLite file, run outputs)")

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


class Settings(StoreSettings, ApiSettings):
    """All of mujun's server-side settings in one object (store + API)."""

    model_config = SettingsConfigDict(env_prefix="MUJUN_", extra="ignore")


def get_settings() -> Settings:
    """Read settings from the environment now (no caching, so tests can change the environment)."""
    return Settings()
