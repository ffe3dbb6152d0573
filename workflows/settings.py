"""One Settings class for the whole product (pydantic-settings: environment variables and `.env`)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    """Configuration read from `CXP_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="CXP_", env_file=".env", extra="ignore")

    mode: str = Field("development", description="development | production")
    database_url: str = Field("sqlite:///var/cxp.db", description="SQLAlchemy URL; SQLite by default")
    files_dir: Path = Field(Path("var/files"), description="evidence, payment files, reports")
    timezone: str = "Europe/Brussels"
    secret_key: str = DEV_SECRET
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    mail_sender: str = "ClusterXchange <noreply@clusterxchange.local>"
    finance_email: str = "finance@clusterxchange.local"
    payment_batch_cron: str = Field("0 6 * * 1", description="payment-batch schedule, in `timezone`")
    kpi_report_cron: str = Field("0 7 1 * *", description="kpi-report schedule (monthly), in `timezone`")
    timers_every_minutes: int = Field(5, ge=1, description="timers flow: fire due BPMN timers")
    outbox_every_minutes: int = Field(2, ge=1, description="outbox flow: deliver queued emails")

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> "Settings":
        if self.mode == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("CXP_SECRET_KEY must be set in production mode")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
