"""Idempotency keys: the first answer to a (tenant, route, key) is kept for 24 hours, sealed with
the vault (an answer may hold a secret shown once), so a retried request gets that answer again
instead of doing the work twice. A key reused with another body is refused."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis import Redis

from shared.platform.crypto import CredentialVault

TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 120  # how long a first request may take before its key is free again
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Recorded:
    """What a key already has: a request still running (`response` None), or its answer."""

    fingerprint: str
    response: dict[str, Any] | None


class IdempotencyStore:
    def __init__(self, redis: Redis, vault: CredentialVault):
        self.redis, self.vault = redis, vault

    @staticmethod
    def _key(tenant_id: str, route: str, key: str) -> str:
        return f"pc:idempotency:{tenant_id}:{route}:{hashlib.sha256(key.encode()).hexdigest()}"

    @staticmethod
    def fingerprint(body: bytes) -> str:
        return hashlib.sha256(body).hexdigest()

    def claim(self, tenant_id: str, route: str, key: str, fingerprint: str) -> Recorded | None:
        """None when this request is the first with the key (it then runs); else what is recorded."""
        name = self._key(tenant_id, route, key)
        pending = json.dumps({"fingerprint": fingerprint})
        if self.redis.set(name, pending, nx=True, ex=PENDING_SECONDS):
            return None
        raw = self.redis.get(name)
        if raw is None:  # expired between the two calls: this request is now the first
            return None if self.redis.set(name, pending, nx=True, ex=PENDING_SECONDS) else self.claim(
                tenant_id, route, key, fingerprint
            )
        stored = json.loads(raw)
        response = self.vault.decrypt(stored["sealed"].encode()) if "sealed" in stored else None
        return Recorded(stored["fingerprint"], response)

    def record(self, tenant_id: str, route: str, key: str, fingerprint: str, response: dict[str, Any]) -> None:
        sealed = self.vault.encrypt(response).decode()
        value = json.dumps({"fingerprint": fingerprint, "sealed": sealed})
        self.redis.set(self._key(tenant_id, route, key), value, ex=TTL_SECONDS)

    def release(self, tenant_id: str, route: str, key: str) -> None:
        """The first request failed in a way worth retrying (5xx, 429): the key is free again."""
        self.redis.delete(self._key(tenant_id, route, key))
