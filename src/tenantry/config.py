"""Settings, read from `TENANTRY_*` environment variables and `.env`."""

import os
import re
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tenantry.kernel.rate_limits import parse_limit

MIN_SECRET_LENGTH = 32
WEAK_SECRETS = frozenset({"changethis", "changeme", "secret", "dev", "development", "tenantry"})
SECRET_FILE_NAME = "secret_key"  # noqa: S105  (a file name)
SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


def _seconds(value: object) -> object:
    """A number of seconds as the environment spells it ("300", "2.5"), as a timedelta;
    anything else is left to pydantic (numbers, "PT5M", "00:05:00", "1 day")."""
    if not isinstance(value, str) or not SECONDS.fullmatch(value):
        return value
    try:
        return timedelta(seconds=float(value))
    except OverflowError as error:
        raise ValueError("too long a duration") from error


Seconds = Annotated[timedelta, BeforeValidator(_seconds)]
"""A duration setting: plain seconds, or any duration pydantic reads."""


def default_lanes(cpus: int | None) -> int:
    """Two lanes per CPU, 2 to 16. More lanes than PostgreSQL can run at once only spread
    each schema's statements and catalog over more connections: on 2 CPUs with 10,000
    databases, 4 lanes served 1.2 to 1.5 times the gets of 16."""
    return min(16, max(2, 2 * (cpus or 1)))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TENANTRY_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; when unset, an embedded PostgreSQL runs in `data_dir`.",
    )
    direct_database_url: str | None = Field(
        default=None,
        description="PostgreSQL itself, when `database_url` goes through a pooler in "
        "transaction mode (PgBouncer): what holds a connection across transactions (LISTEN, "
        "the worker's job locks, migrations) connects here. Unset: `database_url` is "
        "PostgreSQL itself.",
    )
    data_dir: Path = Field(default=Path(".tenantry"), description="Embedded PostgreSQL and keys.")
    dev: bool = Field(default=False, description="Development mode: allows weak secrets.")
    secret_key: SecretStr | None = Field(default=None, description="Signs tokens and cursors.")
    previous_secret_keys: list[SecretStr] = Field(
        default_factory=list, description="Tokens signed with these stay valid (rotation)."
    )

    host: str = "127.0.0.1"
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names a redirect may name (comma-separated): when the request's "
        "Host is one of them, redirects are absolute URLs of it; otherwise only a path.",
    )
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_image_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest background image accepted."
    )
    body_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a request's body may take to arrive, from the request's start; "
        "a slower one is answered 408 and its connection closed.",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request's head (request line and headers) may take to arrive, "
        "from the connection's start or the previous answer; a slower one is answered 408 "
        "and its connection closed.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Open connections per process; a connection past them is answered 503 "
        "and closed.",
    )
    max_bulk_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest body of the bulk routes (items-, users-, ratings-bulk).",
    )
    max_image_pixels: int = Field(
        default=40_000_000, ge=1, description="Largest image (width x height) decoded."
    )
    access_token_ttl: Seconds = timedelta(minutes=5)
    refresh_token_ttl: Seconds = timedelta(days=1)
    login_window: Seconds = timedelta(minutes=15)
    login_failures_per_account: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=50, ge=1)
    admin_session_idle: Seconds = Field(
        default=timedelta(hours=12), description="An admin session unused this long ends."
    )
    admin_cookie_secure: bool | None = Field(
        default=None,
        description="The admin cookie's `Secure` flag; unset: set when the request is https.",
    )
    auth_cache_ttl: float = Field(
        default=300.0,
        ge=0,
        description="Seconds a process remembers a checked key or token (0: never); changes "
        "reach every process sooner, by NOTIFY.",
    )
    last_used_interval: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between writes of keys' `last_used_at`, and of the requests' "
        "traffic that the admin's dashboard charts.",
    )

    mail_sender: str = Field(
        default="log",
        pattern=r"^(log|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$",
        description="Sends the mails with codes (set or reset a password, verify an email): "
        "'log' writes them to the log (logger tenantry.mail); 'package.module:factory' "
        "names a callable taking the settings and returning an object with "
        "`async send(mail)`.",
    )
    mail_code_ttl: float = Field(
        default=3600.0, gt=0, description="Seconds a mailed code can be used."
    )
    mail_redirect_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Hosts an `email_redirect_url` may name (comma-separated) for a mail to "
        "carry it as a link with the code; a URL of another host is left out of the mail.",
    )

    rate_limit: str | None = Field(
        default="1200/minute",
        description="Requests per API key, in the `limits` library's notation "
        "('1200/minute', '20 per 10 seconds'); 'none' for no limit.",
    )
    registration_limit: str | None = Field(
        default="10/hour",
        description="Registrations per client address, in the `limits` library's notation; "
        "'none' for no limit.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://, rediss:// or unix:// URL of a Redis that keeps the rate limits' "
        "counts for every process; unset: each process counts in its own memory.",
    )
    redis_prefix: str = Field(
        default="tenantry", min_length=1, description="Prefix of the keys kept in Redis."
    )

    pool_size: int = Field(default=5, ge=1, le=200, description="Control-plane connections.")
    pool_max_overflow: int = Field(default=5, ge=0, le=200)
    lanes: int = Field(
        default_factory=lambda: default_lanes(os.cpu_count()),
        ge=1,
        le=256,
        description="Data-plane pools; a schema always uses one (default: two per CPU, "
        "at most 16).",
    )
    lane_pool_size: int = Field(
        default=2, ge=1, le=100, description="Session connections per lane (writes)."
    )
    lane_readers: int = Field(
        default=1, ge=1, le=100, description="Connections per lane for the hot reads."
    )
    lane_max_overflow: int = Field(default=0, ge=0, le=100)
    catalog_cache_limit_mb: int = Field(
        default=192, ge=1, description="A connection whose catalog cache grew past this is renewed."
    )
    statement_cache_size: int = Field(
        default=5000, ge=0, description="Prepared statements kept per connection."
    )
    pool_timeout: float = Field(default=10.0, gt=0)
    statement_timeout_ms: int = Field(default=30_000, ge=0)

    worker: bool = Field(default=True, description="Run the provisioning worker in this process.")
    worker_concurrency: int = Field(default=2, ge=1, le=32, description="Jobs run at once.")
    warm_pool_size: int = Field(
        default=4, ge=0, le=1000, description="Empty schemas kept at head for new databases."
    )
    reco_cache_mb: int = Field(
        default=500, ge=1, le=1_000_000, description="Trained models kept in memory, per process."
    )
    reco_precomputed_users: int = Field(
        default=100_000,
        ge=0,
        le=100_000_000,
        description="Users given precomputed recommendations.",
    )
    idempotency_retention: Seconds = Field(
        default=timedelta(hours=24), description="How long Idempotency-Key answers are kept."
    )
    embedding_backend: Literal["wordllama", "openai"] = Field(
        default="wordllama",
        description="Embeddings of documents and queries for ai_semantic and hybrid search: "
        "the packaged wordllama model (offline), or an OpenAI-compatible embeddings URL.",
    )
    embedding_url: str | None = Field(
        default=None, description="With `openai`: the embeddings endpoint (…/v1/embeddings)."
    )
    embedding_model: str | None = Field(
        default=None, description="With `openai`: the model name sent with each request."
    )
    embedding_api_key: SecretStr | None = Field(
        default=None, description="With `openai`: sent as a bearer token."
    )
    migrate_on_start: bool = Field(
        default=True, description="`serve` migrates every schema before it listens."
    )
    migrate_concurrency: int = Field(
        default=4, ge=1, le=64, description="Connections `tenantry migrate` uses at once."
    )

    metrics: bool = Field(
        default=True,
        description="Count requests, refusals, jobs and connections for `GET /metrics` "
        "(off: not counted, and `/metrics` is 404).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="`GET /metrics` requires `Authorization: Bearer <this>`; unset: it "
        "answers only clients on this machine (a loopback address).",
    )
    metrics_databases: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Database ids (comma-separated) whose requests the metrics count "
        "under their own id; every other database's are counted as `other`.",
    )
    audit: bool = Field(
        default=True,
        description="Write the audit trail of control-plane changes (off only to measure "
        "what it costs).",
    )
    audit_retention: Seconds = Field(
        default=timedelta(days=365), description="How long the audit trail keeps an event."
    )

    telemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry spans, metrics and logs, to the providers the "
        "environment configures (off: no per-request check for them).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"

    @field_validator("database_url", "direct_database_url")
    @classmethod
    def _async_driver(cls, url: str | None) -> str | None:
        if url is None:
            return None
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        raise ValueError("must be a postgresql:// URL")

    @field_validator("rate_limit", "registration_limit")
    @classmethod
    def _rate_limit_notation(cls, notation: str | None) -> str | None:
        return None if parse_limit(notation) is None else notation

    @field_validator("trusted_hosts", "mail_redirect_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, hosts: object) -> object:
        if isinstance(hosts, str):
            return [host.strip().lower() for host in hosts.split(",") if host.strip()]
        return hosts

    @field_validator("metrics_databases", mode="before")
    @classmethod
    def _database_ids(cls, ids: object) -> object:
        if isinstance(ids, str):
            return [each.strip() for each in ids.split(",") if each.strip()]
        return ids

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return url

    @model_validator(mode="after")
    def _require_strong_secret(self) -> "Settings":
        if self.secret_key is None:
            if self.database_url is not None and not self.dev:
                raise ValueError(
                    "TENANTRY_SECRET_KEY must be set when TENANTRY_DATABASE_URL is "
                    "(or set TENANTRY_DEV=1 to generate one in the data folder)"
                )
            self.secret_key = SecretStr(load_or_create_secret(self.data_dir))
        secret = self.secret_key.get_secret_value()
        weak = secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH
        if weak and not self.dev:
            raise ValueError(
                f"TENANTRY_SECRET_KEY is a default or shorter than {MIN_SECRET_LENGTH} characters"
            )
        return self

    @model_validator(mode="after")
    def _require_embedding_endpoint(self) -> "Settings":
        if self.embedding_backend == "openai" and not (self.embedding_url and self.embedding_model):
            raise ValueError(
                "TENANTRY_EMBEDDING_URL and TENANTRY_EMBEDDING_MODEL must be set when "
                "TENANTRY_EMBEDDING_BACKEND is openai"
            )
        return self

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pooled(self) -> bool:
        """Whether `database_url` goes through a pooler in transaction mode."""
        return self.direct_database_url is not None

    def direct(self) -> "Settings":
        """These settings, with PostgreSQL itself as the database."""
        if self.direct_database_url is None:
            return self
        return self.model_copy(
            update={"database_url": self.direct_database_url, "direct_database_url": None}
        )

    @property
    def secret(self) -> str:
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()


def load_or_create_secret(data_dir: Path) -> str:
    """Return the secret persisted in `data_dir`, creating it (mode 0600) on first use."""
    path = data_dir / SECRET_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
