"""Service settings, read once from the environment through typed helpers that fail loudly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from shared.platform.outbound import BadAllowlistEntry, OutboundGuard

PREFIX = "POLICYCORTEX_"
TLS_MODES = ("none", "starttls", "tls")
CATCH_UP_MODES = ("one", "none")


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


def _raw(env: Mapping[str, str], name: str, default: str | None, *, prefixed: bool = True) -> str | None:
    key = PREFIX + name if prefixed else name
    value = env.get(key)
    return default if value is None or value == "" else value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(env, name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise SettingsError(f"{PREFIX}{name} must be >= {minimum}, got {number}")
    return number


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (_raw(env, name, "1" if default else "0") or "").lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{PREFIX}{name} must be a boolean, got {value!r}")


def _list(env: Mapping[str, str], name: str, default: str = "") -> tuple[str, ...]:
    value = _raw(env, name, default) or ""
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the API, the workers and beat need to know about their environment."""

    database_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/policycortex"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Fernet keys, newest first: the first encrypts, all decrypt (key rotation).
    secret_keys: tuple[str, ...] = field(default_factory=tuple)
    public_url: str | None = None
    default_max_concurrent: int = 10
    default_max_queued: int = 50
    max_content_length: int = 1_048_576
    max_upload_length: int = 1024 * 1_048_576  # uploads are streamed: the limit bounds time, not memory
    max_evidence_bytes: int = 10 * 1_048_576  # an attestation's evidence file
    max_evidence_storage: int = 1024 * 1_048_576  # all of a tenant's evidence files (they are never deleted)
    max_upload_resources: int = 1_000_000  # items, rows or lines of one inventory upload
    shard_soft_time_limit: int = 1_500
    shard_time_limit: int = 1_800
    max_shard_attempts: int = 3
    # Tasks retry while PostgreSQL is unavailable: exponential back-off from 1 s with full jitter,
    # capped at db_retry_max_delay seconds, at most db_max_retries times (12 minutes on average).
    db_retry_max_delay: int = 60
    db_max_retries: int = 30
    aws_max_attempts: int = 5
    detail_concurrency: int = 8
    page_size: int = 1000  # the most Resource Graph, Cloud Asset Inventory and most AWS list calls give
    # An (account, region) whose last inventory exceeds this is split into shards by resource type; 0: never.
    shard_max_resources: int = 10_000
    rate_limit: str = "1200/minute"  # per API key, over every route together
    # Requests without a valid key (none, unknown, revoked), per client address: guessing keys is slow.
    auth_failure_limit: str = "60/minute"
    log_level: str = "INFO"
    # Violations of scans that ended more than this many days ago are deleted (0: kept forever),
    # in batches of this many rows; scans, their summaries and each scope's latest scan stay.
    retention_days: int = 365
    retention_batch_size: int = 5_000
    # Prometheus multiprocess directory shared by the API and worker processes of a host (unset: one process).
    metrics_dir: str | None = None
    # Hosts (exact names), addresses or CIDRs that tenants' URLs may reach although they are not
    # public (notification webhooks and SMTP servers, account endpoint overrides).
    outbound_allowlist: tuple[str, ...] = ()
    # Notifications: the SMTP server for email channels, and the delivery retry policy.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)  # never in a log line
    smtp_tls: str = "starttls"
    smtp_from: str = "policycortex@localhost"
    notify_max_attempts: int = 5
    # Occurrences a schedule missed while beat was not running: "one" catch-up fire for the latest,
    # or "none"; either way the missed ones are recorded as skipped runs with the reason.
    schedule_catch_up: str = "one"
    notify_retry_base: int = 30  # seconds before the second attempt; doubles for each one after
    notify_timeout: int = 10  # seconds per HTTP request or SMTP conversation step
    # Serving (api/serving.py): seconds a new connection gets to send its request line and headers
    # before the API hangs up, so slow or silent clients cannot hold connections open.
    header_timeout: int = 10
    # Websocket streams one tenant may hold at once, over every API process (counted in Redis).
    max_streams_per_tenant: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        base = cls()
        settings = cls(
            database_url=_raw(env, "DATABASE_URL", base.database_url, prefixed=False),
            redis_url=_raw(env, "REDIS_URL", base.redis_url, prefixed=False),
            secret_keys=_list(env, "SECRET_KEYS"),
            public_url=_raw(env, "PUBLIC_URL", None),
            default_max_concurrent=_int(env, "MAX_CONCURRENT_SCANS", base.default_max_concurrent, minimum=1),
            default_max_queued=_int(env, "MAX_QUEUED_SCANS", base.default_max_queued),
            max_content_length=_int(env, "MAX_CONTENT_LENGTH", base.max_content_length, minimum=1024),
            max_upload_length=_int(env, "MAX_UPLOAD_LENGTH", base.max_upload_length, minimum=1024),
            max_evidence_bytes=_int(env, "MAX_EVIDENCE_BYTES", base.max_evidence_bytes, minimum=1024),
            max_evidence_storage=_int(env, "MAX_EVIDENCE_STORAGE", base.max_evidence_storage, minimum=1024),
            max_upload_resources=_int(env, "MAX_UPLOAD_RESOURCES", base.max_upload_resources, minimum=1),
            shard_soft_time_limit=_int(env, "SHARD_SOFT_TIME_LIMIT", base.shard_soft_time_limit, minimum=1),
            shard_time_limit=_int(env, "SHARD_TIME_LIMIT", base.shard_time_limit, minimum=2),
            max_shard_attempts=_int(env, "MAX_SHARD_ATTEMPTS", base.max_shard_attempts, minimum=1),
            db_retry_max_delay=_int(env, "DB_RETRY_MAX_DELAY", base.db_retry_max_delay, minimum=1),
            db_max_retries=_int(env, "DB_MAX_RETRIES", base.db_max_retries),
            aws_max_attempts=_int(env, "AWS_MAX_ATTEMPTS", base.aws_max_attempts, minimum=1),
            detail_concurrency=_int(env, "DETAIL_CONCURRENCY", base.detail_concurrency, minimum=1),
            page_size=_int(env, "PAGE_SIZE", base.page_size, minimum=1),
            shard_max_resources=_int(env, "SHARD_MAX_RESOURCES", base.shard_max_resources),
            rate_limit=_raw(env, "RATE_LIMIT", base.rate_limit),
            auth_failure_limit=_raw(env, "AUTH_FAILURE_LIMIT", base.auth_failure_limit),
            log_level=_raw(env, "LOG_LEVEL", base.log_level).upper(),
            retention_days=_int(env, "RETENTION_DAYS", base.retention_days),
            retention_batch_size=_int(env, "RETENTION_BATCH_SIZE", base.retention_batch_size, minimum=1),
            metrics_dir=_raw(env, "METRICS_DIR", None),
            outbound_allowlist=_list(env, "OUTBOUND_ALLOWLIST"),
            smtp_host=_raw(env, "SMTP_HOST", None),
            smtp_port=_int(env, "SMTP_PORT", base.smtp_port, minimum=1),
            smtp_username=_raw(env, "SMTP_USERNAME", None),
            smtp_password=_raw(env, "SMTP_PASSWORD", None),
            smtp_tls=(_raw(env, "SMTP_TLS", base.smtp_tls) or "").lower(),
            smtp_from=_raw(env, "SMTP_FROM", base.smtp_from),
            notify_max_attempts=_int(env, "NOTIFY_MAX_ATTEMPTS", base.notify_max_attempts, minimum=1),
            schedule_catch_up=(_raw(env, "SCHEDULE_CATCH_UP", base.schedule_catch_up) or "").lower(),
            notify_retry_base=_int(env, "NOTIFY_RETRY_BASE", base.notify_retry_base),
            notify_timeout=_int(env, "NOTIFY_TIMEOUT", base.notify_timeout, minimum=1),
            header_timeout=_int(env, "HEADER_TIMEOUT", base.header_timeout, minimum=1),
            max_streams_per_tenant=_int(env, "MAX_STREAMS_PER_TENANT", base.max_streams_per_tenant, minimum=1),
        )
        settings = replace(settings, **overrides)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.database_url.startswith("postgresql"):
            raise SettingsError("DATABASE_URL must be a PostgreSQL URL")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("REDIS_URL must be a redis:// URL")
        if self.shard_soft_time_limit >= self.shard_time_limit:
            raise SettingsError("SHARD_SOFT_TIME_LIMIT must be below SHARD_TIME_LIMIT")
        if self.schedule_catch_up not in CATCH_UP_MODES:
            raise SettingsError(f"{PREFIX}SCHEDULE_CATCH_UP must be one or none, got {self.schedule_catch_up!r}")
        if self.smtp_tls not in TLS_MODES:
            raise SettingsError(f"{PREFIX}SMTP_TLS must be one of {', '.join(TLS_MODES)}, got {self.smtp_tls!r}")
        if self.smtp_port > 65535:
            raise SettingsError(f"{PREFIX}SMTP_PORT must be a TCP port, got {self.smtp_port}")
        try:
            self.outbound_guard  # noqa: B018 - fails loudly on a malformed allow-list entry
        except BadAllowlistEntry as exc:
            raise SettingsError(f"{PREFIX}OUTBOUND_ALLOWLIST {exc}") from None
        if not self.secret_keys:
            # The keys decrypt what is stored already: pointing a newcomer at a new key would make
            # every stored credential unreadable, so the hint names where `make` keeps the keys.
            raise SettingsError(
                f"{PREFIX}SECRET_KEYS is required: one or more Fernet keys, comma separated. In a checkout, "
                "`make migrate` and `make up` keep them in .run/secret-keys, which ./bin/policycortex reads "
                f"(or: export {PREFIX}SECRET_KEYS=$(cat .run/secret-keys)); only a new deployment makes "
                "its first key, with `policycortex secret-key`"
            )

    @cached_property
    def outbound_guard(self) -> OutboundGuard:
        return OutboundGuard.from_allowlist(self.outbound_allowlist)

    @property
    def visibility_timeout(self) -> int:
        # Longer than the hard limit, so Redis never redelivers a task that is still running.
        return self.shard_time_limit * 2
