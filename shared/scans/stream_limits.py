"""How many websocket streams a process, and a tenant over every process, may hold at once: beyond
either cap a stream is told to come back later (1013), so one tenant exhausts only its own share."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class StreamSlots:
    """How many streams one server process serves at once. A stream holds one of the worker's
    connections for its whole life, so a cap well below the connections a worker accepts keeps room
    for REST calls; beyond it a client is told to come back later."""

    def __init__(self, limit: int):
        self.limit = limit
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                return False
            self.active += 1
            self.peak = max(self.peak, self.active)
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1


# A tenant's streams are leases in one sorted set, scored by when each expires (Redis's clock, so that
# API hosts need not agree on the time). Acquiring drops the expired leases, then adds one if the
# tenant is below its cap; renewing pushes a lease's expiry on (and puts it back if Redis lost it).
_ACQUIRE_LEASE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""


_RENEW_LEASE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


class TenantStreams:
    """How many streams each tenant holds at once over every API process, so that one tenant can only
    exhaust its own share. Each stream holds a lease in Redis and renews it while it runs; a process
    that dies stops renewing, and its leases expire after `lease_seconds` instead of leaking."""

    def __init__(self, redis: Redis, limit: int, *, lease_seconds: float = 60.0):
        self.redis = redis
        self.limit = limit
        self.lease_seconds = lease_seconds
        self._acquire = redis.register_script(_ACQUIRE_LEASE)
        self._renew = redis.register_script(_RENEW_LEASE)

    @staticmethod
    def key(tenant_id: str) -> str:
        return f"pc:streams:{tenant_id}"

    def acquire(self, tenant_id: str) -> StreamLease | None:
        """A lease on one of the tenant's streams, or None when it already holds `limit` of them."""
        lease = StreamLease(self, tenant_id, uuid.uuid4().hex)
        if not self._acquire(keys=[self.key(tenant_id)], args=[lease.id, self.limit, self.lease_ms]):
            return None
        return lease

    def renew(self, tenant_id: str, lease_id: str) -> None:
        self._renew(keys=[self.key(tenant_id)], args=[lease_id, self.lease_ms])

    def release(self, tenant_id: str, lease_id: str) -> None:
        try:
            self.redis.zrem(self.key(tenant_id), lease_id)
        except RedisError:  # Redis is gone: the lease expires by itself
            log.warning("could not release a stream lease; it expires within %s s", self.lease_seconds)

    def held(self, tenant_id: str) -> int:
        """The tenant's streams whose leases have not expired."""
        seconds, micros = self.redis.time()
        return self.redis.zcount(self.key(tenant_id), f"({seconds * 1000 + micros // 1000}", "+inf")

    @property
    def lease_ms(self) -> int:
        return int(self.lease_seconds * 1000)


@dataclass
class StreamLease:
    """One stream's share of its tenant's cap; renew it while the stream runs, release it at the end."""

    streams: TenantStreams
    tenant_id: str
    id: str
    renewed: float = field(default_factory=time.monotonic)

    def keep(self) -> None:
        """Renew the lease once a third of its time has passed (cheap to call on every poll)."""
        if time.monotonic() - self.renewed >= self.streams.lease_seconds / 3:
            self.streams.renew(self.tenant_id, self.id)
            self.renewed = time.monotonic()

    def release(self) -> None:
        self.streams.release(self.tenant_id, self.id)
