"""One Settings class for the whole product (pydantic-settings: environment variables and `.env`)."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"
DEV_AUDIT_KEY = "dev-only-audit-key-change-me"


class Settings(BaseSettings):
    """Configuration read from `CXP_*` environment variables (or a `.env` file)."""

    model_config = SettingsConfigDict(env_prefix="CXP_", env_file=".env", extra="ignore")

    mode: str = Field("development", description="development | production")
    database_url: str = Field("sqlite:///var/cxp.db", description="SQLAlchemy URL; SQLite by default")
    files_dir: Path = Field(None, validate_default=False,  # type: ignore[assignment]  # filled in below
                            description="evidence, payment files, reports (absolute; default: see default_files_dir)")
    timezone: str = "Europe/Brussels"
    public_url: str = Field("http://127.0.0.1:8000", description="where people reach the workspace: the base of "
                                                                "every link in an email")
    secret_key: str = DEV_SECRET
    audit_key: str = Field(DEV_AUDIT_KEY, min_length=16,
                           description="HMAC key of the audit trail and its anchors; never in the database")
    audit_anchor_path: Path | None = Field(None, description="append-only anchor file; default <files_dir>/audit/anchors.jsonl")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool = False
    mail_sender: str = "ClusterXchange <noreply@clusterxchange.local>"
    finance_email: str = "finance@clusterxchange.local"
    payment_batch_cron: str = Field("0 6 * * 1", description="payment-batch schedule, in `timezone`")
    kpi_report_cron: str = Field("0 7 1 * *", description="kpi-report schedule (monthly), in `timezone`")
    bpmnlint: str = Field("", description="the bpmnlint command a deployment runs (default: the checkout's "
                                          "node_modules/.bin/bpmnlint, else bpmnlint on PATH); off: none")
    timers_every_minutes: int = Field(5, ge=1, description="timers flow: fire due BPMN timers")
    outbox_every_minutes: int = Field(2, ge=1, description="outbox flow: deliver queued emails")
    demo_password: str = Field("demo", description="the password of every demo user (development mode only)")
    token_ttl_hours: int = Field(12, ge=1, description="lifetime of an API token (password flow; CLI default)")
    login_slowdown_after: int = Field(3, ge=1, description="failed sign-ins after which each further attempt "
                                                           "waits 2**(failures - this) seconds")
    login_lockout_after: int = Field(10, ge=1, description="failed sign-ins that lock the account")
    login_lockout_minutes: int = Field(15, ge=1, description="how long a locked account stays locked")
    session_hours: int = Field(8, ge=1, le=24 * 31, description="absolute lifetime of a web session, from sign-in "
                                                               "(never extended)")
    session_idle_minutes: int = Field(60, ge=1, description="a web session unused this long ends")
    registrations_per_hour: int = Field(5, ge=1, description="registrations one client address may send per hour")

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value not in ("development", "production"):
            raise ValueError(f"{value!r} is not a mode (development, production)")
        return value

    @model_validator(mode="after")
    def _absolute_files_dir(self) -> Settings:
        """Resolved once, here: never relative to whatever folder a later command runs in. A default
        is kept out of `model_fields_set`, so `with_database` derives it again for another database."""
        if self.files_dir is None:
            self.__dict__["files_dir"] = default_files_dir(self.database_url)
        else:
            self.files_dir = Path(self.files_dir).expanduser().resolve()
        return self

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not a web address (http://host[:port][/path])")
        return value.rstrip("/")

    def link(self, path: str) -> str:
        """The absolute address of a page of the workspace (`/tasks/12` → `https://host/tasks/12`)."""
        return f"{self.public_url}/{path.lstrip('/')}"

    @property
    def development(self) -> bool:
        return self.mode == "development"

    def with_database(self, database_url: str) -> Settings:
        """These settings on another database; a files folder not set explicitly follows it."""
        values: dict[str, Any] = self.model_dump(include=self.model_fields_set)
        values["database_url"] = database_url
        return type(self).model_validate(values)

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        problems = self.production_problems()
        if problems:
            raise ValueError(problems[0])
        return self

    def production_problems(self) -> list[str]:
        """What production mode refuses in these settings (nothing in development mode)."""
        if self.mode != "production":
            return []
        problems = []
        if self.secret_key == DEV_SECRET:
            problems.append("CXP_SECRET_KEY must be set in production mode")
        if self.audit_key == DEV_AUDIT_KEY:
            problems.append("CXP_AUDIT_KEY must be set in production mode")
        return problems

    @property
    def min_password_length(self) -> int:
        """The shortest password a user may be given: 12 characters in production, 8 in development."""
        return 8 if self.development else 12

    @property
    def anchor_path(self) -> Path:
        """Where the audit anchors are appended (`audit_anchor_path`, else under `files_dir`)."""
        return self.audit_anchor_path or self.files_dir / "audit" / "anchors.jsonl"


def default_files_dir(database_url: str) -> Path:
    """Each database its own files folder (its evidence, payment files, reports and audit anchors), so
    that two databases never share an anchor file: `<stem>.files` beside a SQLite file (`make run`:
    var/demo.files beside var/demo.db); for a server database `$XDG_DATA_HOME/clusterxchange/<host>-<port>-<database>`
    (default `~/.local/share/...`). An explicit `CXP_FILES_DIR` wins."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from workflows.db.base import sqlite_file

    try:
        url = make_url(database_url)
        path = sqlite_file(url)
    except ArgumentError:  # a malformed URL is named when an engine is made for it
        url, path = None, None
    if path is not None:
        path = path.expanduser().resolve()
        return path.parent / f"{path.stem}.files"
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    name = "files" if url is None else "-".join(
        str(part) for part in (url.host or "local", url.port or "default", url.database or "default"))
    return Path(data_home).expanduser().resolve() / "clusterxchange" / re.sub(r"[^A-Za-z0-9._-]", "_", name)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


class SettingsError(Exception):
    """Settings a command cannot run with, in one sentence naming the environment variable."""


def check_serving(settings: Settings | None = None) -> Settings:
    """The settings `cxp serve` may serve the web workspace and the HTTP API with, or `SettingsError`.

    Production mode needs its own `CXP_SECRET_KEY` (it signs the session cookies) and `CXP_AUDIT_KEY`:
    the same checks that loading the settings makes (`production_problems`), here also for settings
    built in code, and a secret key of at least 16 characters. Without `settings`, the environment's."""
    from pydantic import ValidationError

    if settings is None:
        try:
            settings = get_settings()
        except ValidationError as err:
            first = err.errors()[0]
            message = str(first["msg"]).removeprefix("Value error, ")
            field = "".join(str(p) for p in first["loc"][:1])
            raise SettingsError(f"CXP_{field.upper()}: {message}" if field else message) from None
    problems = settings.production_problems()
    if not problems and not settings.development and len(settings.secret_key) < 16:
        problems.append("CXP_SECRET_KEY must be at least 16 characters in production mode")
    if problems:
        raise SettingsError("; ".join(problems) + " (serving the web workspace and the HTTP API)")
    return settings
