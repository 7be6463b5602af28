"""Live scan state in Redis: progress counters, the cancel flag, and events on `scan:<id>`.

Pub/sub is at-most-once; the counters are the snapshot a late subscriber starts from. PostgreSQL
stays the source of truth: everything here can be lost without losing a result.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from shared.policies.severities import SEVERITIES

TTL_SECONDS = 7 * 24 * 3600


def channel(scan_id: str) -> str:
    return f"scan:{scan_id}"


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def parse_snapshot(raw: dict) -> dict[str, Any]:
    """The counters hash (as HGETALL returns it) as numbers, zero where absent."""
    number = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
    return {
        "scanned": number.get("scanned", 0),
        "shards_done": number.get("shards_done", 0),
        "violations": {s: number.get(s, 0) for s in SEVERITIES},
    }


def estimate_total(scanned: int, estimated: int | None, shards_done: int, shards_total: int) -> int:
    """Resources a scan will cover: what its shards scanned so far, extrapolated over the shards
    not yet done, or the history-based estimate, whichever is larger."""
    extrapolated = round(scanned * shards_total / shards_done) if 0 < shards_done < shards_total else scanned
    return max(scanned, estimated or 0, extrapolated)


def running_percentage(scanned: int, total: int, shards_done: int, shards_total: int) -> float:
    """Monotonic while the scan runs (both measures only grow), and never 100 before the end."""
    by_resources = scanned / total if total else 0.0
    by_shards = shards_done / shards_total if shards_total else 0.0
    return min(99.9, round(100 * max(by_resources, by_shards), 1))


class ScanProgress:
    """Counters and events of one scan."""

    def __init__(self, redis: Redis, scan_id: str):
        self.redis = redis
        self.scan_id = scan_id
        self.key = f"pc:scan:{scan_id}:progress"
        self.cancel_key = f"pc:scan:{scan_id}:cancel"

    def add(self, *, scanned: int = 0, violations: dict[str, int] | None = None, shards_done: int = 0) -> dict:
        """Bump the counters in one round trip and return the new totals."""
        pipe = self.redis.pipeline()
        pipe.hincrby(self.key, "scanned", scanned)
        pipe.hincrby(self.key, "shards_done", shards_done)
        for severity in SEVERITIES:
            pipe.hincrby(self.key, severity, (violations or {}).get(severity, 0))
        pipe.expire(self.key, TTL_SECONDS)
        values = pipe.execute()
        return {
            "scanned": values[0],
            "shards_done": values[1],
            "violations": dict(zip(SEVERITIES, values[2:6], strict=True)),
        }

    def snapshot(self) -> dict[str, Any]:
        return parse_snapshot(self.redis.hgetall(self.key))

    def publish(self, event_type: str, **payload: Any) -> None:
        event = {"type": event_type, "scan_id": self.scan_id, "timestamp": _iso_now(), **payload}
        self.redis.publish(channel(self.scan_id), json.dumps(event, default=str))

    def request_cancel(self) -> None:
        self.redis.set(self.cancel_key, "1", ex=TTL_SECONDS)

    def cancel_requested(self) -> bool:
        return bool(self.redis.exists(self.cancel_key))

    def reset(self) -> None:
        self.redis.delete(self.key, self.cancel_key)
