"""The handles a domain function needs (settings, database, Redis, vault, task queue), built once
per process by its entry point (the Flask factory, the Celery app, the CLI) and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from redis import Redis

from shared.platform.crypto import CredentialVault
from shared.platform.db import Database
from shared.platform.settings import Settings


@dataclass
class Services:
    settings: Settings
    celery: Any = None  # a Celery app; domain code sends tasks by their stable names only
    _db: Database | None = field(default=None, repr=False)

    @cached_property
    def db(self) -> Database:
        return self._db or Database(self.settings.database_url)

    @cached_property
    def redis(self) -> Redis:
        return Redis.from_url(
            self.settings.redis_url,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=30,
            retry_on_timeout=True,
        )

    @cached_property
    def vault(self) -> CredentialVault:
        return CredentialVault(self.settings.secret_keys)

    def enqueue(self, task_name: str, *args: Any) -> None:
        """Send a task by name; callers do this only after their transaction has committed."""
        if self.celery is None:
            raise RuntimeError("this process has no Celery app to send tasks with")
        self.celery.send_task(task_name, args=list(args))
