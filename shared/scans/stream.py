"""A scan's live feed for the websocket stream: subscribe, snapshot, then normalised events until it ends."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.client import PubSub

from shared.platform.context import Services
from shared.policies.severities import SEVERITIES
from shared.scans import render, service
from shared.scans.progress import ScanProgress, channel, estimate_total, running_percentage
from shared.scans.schemas import TERMINAL_STATUSES

log = logging.getLogger(__name__)

# Close codes of the stream. 4xxx is the range RFC 6455 leaves to applications; the last three
# digits echo the HTTP status a REST call would get, so clients can map them the same way.
CLOSE_NORMAL = 1000
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_KEY = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

# Browsers cannot set headers on a websocket; they offer the sub-protocols ["bearer", "bearer.<key>"]
# instead and the server echoes only "bearer", so the key never reaches a URL or an access log.
BEARER_PROTOCOL = "bearer"
BEARER_PREFIX = BEARER_PROTOCOL + "."


def key_from_subprotocols(header: str | Iterable[str] | None) -> str | None:
    """The API key offered as the sub-protocol `bearer.<key>`, if any."""
    if not header:
        return None
    offered = header.split(",") if isinstance(header, str) else header
    for protocol in offered:
        protocol = protocol.strip()
        if protocol.startswith(BEARER_PREFIX) and len(protocol) > len(BEARER_PREFIX):
            return protocol[len(BEARER_PREFIX) :]
    return None


class StreamSlots:
    """How many streams one server process serves at once. A stream holds a server thread for its whole
    life, so a cap below the thread count keeps threads free for REST calls; beyond it a client is
    told to come back later instead of waiting for a thread."""

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


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ScanView:
    """What the stream knows of a scan at one moment."""

    details: dict[str, Any]  # exactly what GET /v1/scans/<id> renders
    counters: dict[str, Any]  # the Redis counters (zeros once they are gone)
    estimated_resources: int | None
    shards_total: int
    finished: bool  # nothing more will be published on the scan's channel


def is_finished(status: str, started_at: datetime | None, finalized: bool) -> bool:
    """Finalized scans publish nothing more, nor do scans that ended without ever running (a
    cancelled pending scan). A running scan that was cancelled still has its `completed` to come."""
    return finalized or (status in TERMINAL_STATUSES and started_at is None)


def load_view(svc: Services, redis: Redis, tenant_id: str, scan_id: str, base_url: str) -> ScanView:
    """The scan as the tenant may see it; NotFound for an unknown scan or another tenant's. `redis` is
    the stream's own connection pool: a burst of connecting clients must not drain the shared one."""
    with svc.db.session() as session:
        scan = service.get_scan(session, tenant_id, scan_id)
        position = service.queue_position(session, scan)
    counters = ScanProgress(redis, scan.id).snapshot()
    counts = render.LiveCounts(scan, counters)
    return ScanView(
        details=render.details(scan, counts, queue_position=position, base_url=base_url),
        counters=counters,
        estimated_resources=scan.estimated_resources,
        shards_total=scan.shards_total,
        finished=is_finished(scan.status, scan.started_at, scan.results is not None),
    )


@dataclass
class ProgressTracker:
    """Counters as one client has seen them. Shards publish their totals concurrently, so events can
    arrive out of order, and the total is re-estimated as shards finish: keeping the maximum of
    each counter and of the percentage is what makes the stream's progress never go backwards."""

    estimated_resources: int | None = None
    shards_total: int = 0
    scanned: int = 0
    shards_done: int = 0
    violations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    percentage: float = 0.0

    @classmethod
    def from_view(cls, view: ScanView) -> ProgressTracker:
        tracker = cls(view.estimated_resources, view.shards_total)
        tracker.observe(view.counters["scanned"], view.counters["shards_done"], view.counters["violations"])
        tracker.percentage = max(tracker.percentage, view.details["progress"]["percentage"])
        return tracker

    def observe(self, scanned: int, shards_done: int, violations: dict[str, int]) -> dict[str, Any]:
        """Fold in one set of counters; returns the progress fields of a `progress` message."""
        self.scanned = max(self.scanned, int(scanned or 0))
        self.shards_done = max(self.shards_done, int(shards_done or 0))
        for severity in SEVERITIES:
            self.violations[severity] = max(self.violations[severity], int((violations or {}).get(severity, 0)))
        total = estimate_total(self.scanned, self.estimated_resources, self.shards_done, self.shards_total)
        # The same measure GET /v1/scans/<id> shows while the scan runs, floored by what was already sent.
        self.percentage = max(
            self.percentage, running_percentage(self.scanned, total, self.shards_done, self.shards_total)
        )
        return {
            "scanned": self.scanned,
            "total": total,
            "percentage": self.percentage,
            "shards_done": self.shards_done,
            "shards_total": self.shards_total,
            "violations": dict(self.violations),
            "total_violations": sum(self.violations.values()),
        }

    def final(self, progress: dict[str, Any]) -> dict[str, Any]:
        """The finalized scan's progress block (100 for a completed scan), never below what was sent."""
        self.percentage = max(self.percentage, progress["percentage"])
        return {**progress, "percentage": self.percentage}


def snapshot_message(view: ScanView) -> dict[str, Any]:
    return {"type": "snapshot", "scan_id": view.details["id"], "timestamp": _now(), "scan": view.details}


def decode(data: bytes | str) -> dict[str, Any] | None:
    """A published event, or None for anything that is not a JSON object (logged, then skipped)."""
    try:
        event = json.loads(data)
    except ValueError:
        log.warning("skipping an event that is not JSON")
        return None
    return event if isinstance(event, dict) else None


def progress_message(scan_id: str, progress: dict[str, Any]) -> dict[str, Any]:
    return {"type": "progress", "scan_id": scan_id, "timestamp": _now(), **progress}


class ScanFeed:
    """The messages a stream client receives: a snapshot, then the scan's events, normalised, until the
    scan ends. Use it as a context manager: the subscription is released however the stream ends.

    Pub/sub is at-most-once, so the feed subscribes (and waits for Redis to confirm) before it takes
    the snapshot: an event published in between is then delivered, never lost. When no event arrives
    for `recheck_seconds` the feed re-reads the scan, so a lost `completed` cannot hold a stream open.
    """

    def __init__(
        self,
        redis: Redis,
        scan_id: str,
        load: Callable[[], ScanView],
        *,
        poll_seconds: float = 1.0,
        recheck_seconds: float = 15.0,
    ):
        self.redis = redis
        self.scan_id = scan_id
        self.load = load
        self.poll_seconds = poll_seconds
        self.recheck_seconds = recheck_seconds
        self.pubsub: PubSub | None = None

    def __enter__(self) -> ScanFeed:
        self.pubsub = self.redis.pubsub()
        try:
            self.pubsub.subscribe(channel(self.scan_id))
            deadline = time.monotonic() + 10
            while True:
                message = self.pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message and message["type"] == "subscribe":
                    break
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"Redis did not confirm the subscription to {channel(self.scan_id)}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unsubscribe and drop the connection; safe to call twice and when Redis is gone."""
        pubsub, self.pubsub = self.pubsub, None
        if pubsub is None:
            return
        try:
            pubsub.unsubscribe()
        except Exception:  # closing below releases the subscription anyway
            log.debug("unsubscribe failed; closing the connection", exc_info=True)
        finally:
            pubsub.close()

    def messages(self, client_open: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """Yield messages while `client_open()` is true; returns after the terminal message."""
        if self.pubsub is None:
            raise RuntimeError("use ScanFeed as a context manager")
        view = self.load()
        tracker = ProgressTracker.from_view(view)
        yield snapshot_message(view)
        if view.finished:
            return
        quiet_since = time.monotonic()
        while client_open():
            raw = self.pubsub.get_message(timeout=self.poll_seconds)
            if raw is None or raw["type"] != "message":
                if time.monotonic() - quiet_since >= self.recheck_seconds:
                    quiet_since = time.monotonic()
                    view = self.load()
                    if view.finished:
                        yield snapshot_message(view)
                        return
                continue
            quiet_since = time.monotonic()
            event = decode(raw["data"])
            if event is None:
                continue
            done = yield from self._relay(event, tracker)
            if done:
                return

    def _relay(self, event: dict[str, Any], tracker: ProgressTracker) -> Iterator[dict[str, Any]]:
        """Yield the message(s) for one event; returns True when it ended the scan."""
        kind = event.get("type")
        if kind in ("progress", "shard") and not tracker.shards_total:
            # Connected before the scan was planned: its shard count exists now that shards report.
            view = self.load()
            tracker.estimated_resources, tracker.shards_total = view.estimated_resources, view.shards_total
        if kind == "progress":
            counters = tracker.observe(event.get("scanned", 0), event.get("shards_done", 0), event.get("violations"))
            yield {**event, **counters}
            return False
        if kind == "completed":
            final = self.load()
            yield {**event, "progress": tracker.final(final.details["progress"])}
            return True
        yield event
        if kind == "shard" and event.get("state") != "started":
            # A finished shard bumps shards_done without a progress event of its own: read the counters,
            # unless the event carries them.
            counters = event if "shards_done" in event else ScanProgress(self.redis, self.scan_id).snapshot()
            progress = tracker.observe(counters.get("scanned", 0), counters["shards_done"], counters.get("violations"))
            yield progress_message(self.scan_id, progress)
        if kind == "status" and event.get("status") in TERMINAL_STATUSES:
            return self.load().finished
        return False
