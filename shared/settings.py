"""Service settings, read once from the environment through typed helpers that fail loudly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

PREFIX = "POLICYCORTEX_"


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
    max_upload_length: int = 64 * 1_048_576
    shard_soft_time_limit: int = 1_500
    shard_time_limit: int = 1_800
    max_shard_attempts: int = 3
    aws_max_attempts: int = 5
    detail_concurrency: int = 8
    page_size: int = 500
    rate_limit: str = "1200/minute"
    log_level: str = "INFO"

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
            shard_soft_time_limit=_int(env, "SHARD_SOFT_TIME_LIMIT", base.shard_soft_time_limit, minimum=1),
            shard_time_limit=_int(env, "SHARD_TIME_LIMIT", base.shard_time_limit, minimum=2),
            max_shard_attempts=_int(env, "MAX_SHARD_ATTEMPTS", base.max_shard_attempts, minimum=1),
            aws_max_attempts=_int(env, "AWS_MAX_ATTEMPTS", base.aws_max_attempts, minimum=1),
            detail_concurrency=_int(env, "DETAIL_CONCURRENCY", base.detail_concurrency, minimum=1),
            page_size=_int(env, "PAGE_SIZE", base.page_size, minimum=1),
            rate_limit=_raw(env, "RATE_LIMIT", base.rate_limit),
            log_level=_raw(env, "LOG_LEVEL", base.log_level).upper(),
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
        if not self.secret_keys:
            raise SettingsError(
                f"{PREFIX}SECRET_KEYS is required: one or more Fernet keys, comma separated "
                "(make one with `policycortex secret-key`)"
            )

    @property
    def visibility_timeout(self) -> int:
        # Longer than the hard limit, so Redis never redelivers a task that is still running.
        return self.shard_time_limit * 2
