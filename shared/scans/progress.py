"""Live scan state in Redis: progress counters, the cancel flag, and events on `scan:<id>`.

Pub/sub is at-most-once; the counters are the snapshot a late subscriber starts from. PostgreSQL
stays the source of truth: everything here can be lost without losing a result.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from shared.policies.severities import SEVERITIES

TTL_SECONDS = 7 * 24 * 3600


def channel(scan_id: str) -> str:
    return f"scan:{scan_id}"


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


# Until a scan has ended its percentage stays below this, in every rounding (a bar at "100%" while a
# shard still runs is a lie); a completed scan is 100, a scan that ended otherwise keeps its fraction.
RUNNING_CAP = 99.0
# A running shard is credited with at most this share of its expected resources: the listing may
# find more than the inventory knew, and a shard is done only when it says so.
SHARD_CAP = 0.95


def parse_snapshot(raw: dict) -> dict[str, Any]:
    """The counters hash (as HGETALL returns it): totals, and each shard's expected resources (-1:
    unknown), resources scanned and whether it is done."""
    number = {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
    shards: dict[int, dict[str, int]] = {}
    for name, value in number.items():
        field, _, shard_id = name.partition(":")
        if shard_id.isdigit() and field in ("expected", "scanned", "done"):
            shards.setdefault(int(shard_id), {"expected": -1, "scanned": 0, "done": 0})[field] = value
    return {
        "scanned": number.get("scanned", 0),
        "shards_done": number.get("shards_done", 0),
        "violations": {s: number.get(s, 0) for s in SEVERITIES},
        "shards": shards,
    }


def work_done(shards: dict[int, dict[str, int]]) -> tuple[float, str]:
    """The fraction of a scan's work that is done, and its basis. Weighted by each shard's expected
    resources when the inventory knows them all ("inventory": it then tracks resources scanned over
    resources expected), else each shard counts the same ("shards"). A done shard counts whole, a
    running one by its resources scanned over expected (at most SHARD_CAP), or nothing when its
    expectation is unknown: every term only grows, so the fraction never falls."""
    if not shards:
        return 0.0, "shards"
    by_inventory = all(s["expected"] > 0 for s in shards.values())
    done = total = 0.0
    for shard in shards.values():
        weight = shard["expected"] if by_inventory else 1.0
        if shard["done"]:
            part = 1.0
        elif shard["expected"] > 0:
            part = min(SHARD_CAP, shard["scanned"] / shard["expected"])
        else:
            part = 0.0
        done += weight * part
        total += weight
    return done / total, "inventory" if by_inventory else "shards"


def running_percentage(fraction: float) -> float:
    return min(RUNNING_CAP, round(100 * fraction, 1))


def estimate_total(scanned: int, estimated: int | None) -> int:
    """Resources a running scan will cover: its estimate (history, inventory or heuristic), or what
    it has already scanned when that is more. A count only, never extrapolated."""
    return max(scanned, estimated or 0)


# A running shard renews its lease every LEASE_RENEW seconds; one whose lease lapsed lost its worker
# (the whole worker process was killed), and housekeeping relaunches it within a minute or two.
LEASE_SECONDS = 45
LEASE_RENEW = 10


def lease_key(shard_id: int) -> str:
    return f"pc:shard:{shard_id}:lease"


class ShardLease:
    """While a shard runs, a Redis key with a short expiry says so (and which delivery holds it),
    renewed by a daemon thread."""

    def __init__(self, redis: Redis, shard_id: int, holder: str):
        self.redis, self.key, self.holder = redis, lease_key(shard_id), holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{shard_id}", daemon=True)

    def __enter__(self) -> ShardLease:
        self.redis.set(self.key, self.holder, ex=LEASE_SECONDS)
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_RENEW):
            try:
                self.redis.set(self.key, self.holder, ex=LEASE_SECONDS)
            except RedisError:  # Redis restarting: the next renewal, or the reaper's patience, covers it
                pass

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            self.redis.delete(self.key)
        except RedisError:
            pass


def lease_holders(redis: Redis, shard_ids: list[int]) -> dict[int, str | None]:
    """Who holds each shard's lease (the delivery running it), None where it lapsed; one round trip."""
    pipe = redis.pipeline(transaction=False)
    for shard_id in shard_ids:
        pipe.get(lease_key(shard_id))
    return {shard_id: v.decode() if v else None for shard_id, v in zip(shard_ids, pipe.execute(), strict=True)}


class ScanProgress:
    """Counters and events of one scan."""

    def __init__(self, redis: Redis, scan_id: str):
        self.redis = redis
        self.scan_id = scan_id
        self.key = f"pc:scan:{scan_id}:progress"
        self.cancel_key = f"pc:scan:{scan_id}:cancel"

    def plan(self, expected: dict[int, int | None]) -> None:
        """Each shard's expected resources (None: unknown), from the planner: the weights of the
        percentage. Written once; a redelivered plan writes the same."""
        values = {f"expected:{shard_id}": -1 if count is None else count for shard_id, count in expected.items()}
        if values:
            pipe = self.redis.pipeline()
            pipe.hset(self.key, mapping=values)
            pipe.expire(self.key, TTL_SECONDS)
            pipe.execute()

    def add(self, shard_id: int, *, scanned: int = 0, violations: dict[str, int] | None = None) -> dict:
        """Bump the counters of a page and return the scan's new totals."""
        pipe = self.redis.pipeline()
        pipe.hincrby(self.key, "scanned", scanned)
        pipe.hincrby(self.key, f"scanned:{shard_id}", scanned)
        for severity in SEVERITIES:
            pipe.hincrby(self.key, severity, (violations or {}).get(severity, 0))
        pipe.expire(self.key, TTL_SECONDS)
        pipe.execute()
        return self.totals()

    def restart_shard(self, shard_id: int) -> None:
        """A shard run again (its worker died) counts its resources anew: take its last run's out."""
        previous = int(self.redis.hget(self.key, f"scanned:{shard_id}") or 0)
        if previous:
            pipe = self.redis.pipeline()
            pipe.hincrby(self.key, "scanned", -previous)
            pipe.hset(self.key, f"scanned:{shard_id}", 0)
            pipe.execute()

    def shard_done(self, shard_id: int) -> None:
        """Once per shard, however often its end is reported (HSETNX)."""
        if self.redis.hsetnx(self.key, f"done:{shard_id}", 1):
            self.redis.hincrby(self.key, "shards_done", 1)

    def snapshot(self) -> dict[str, Any]:
        return parse_snapshot(self.redis.hgetall(self.key))

    def totals(self) -> dict[str, Any]:
        """The scan's counters and its running percentage, for a progress event."""
        snapshot = self.snapshot()
        fraction, basis = work_done(snapshot["shards"])
        return {
            "scanned": snapshot["scanned"],
            "shards_done": snapshot["shards_done"],
            "violations": snapshot["violations"],
            "percentage": running_percentage(fraction),
            "basis": basis,
        }

    def publish(self, event_type: str, **payload: Any) -> None:
        event = {"type": event_type, "scan_id": self.scan_id, "timestamp": _iso_now(), **payload}
        self.redis.publish(channel(self.scan_id), json.dumps(event, default=str))

    def request_cancel(self) -> None:
        self.redis.set(self.cancel_key, "1", ex=TTL_SECONDS)

    def cancel_requested(self) -> bool:
        return bool(self.redis.exists(self.cancel_key))

    def reset(self) -> None:
        self.redis.delete(self.key, self.cancel_key)
