"""A scan's live feed for the websocket stream: subscribe, snapshot, then normalised events until it ends."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError

from shared.platform.context import Services
from shared.policies.severities import SEVERITIES
from shared.scans import render, service
from shared.scans.progress import RUNNING_CAP, ScanProgress, channel, estimate_total
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
    arrive out of order: keeping the maximum of each counter and of the percentage (which shards
    compute from the scan's own weights, shared.scans.progress) is what makes the stream's progress
    never go backwards."""

    estimated_resources: int | None = None
    shards_total: int = 0
    scanned: int = 0
    shards_done: int = 0
    violations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    percentage: float = 0.0
    basis: str = "shards"

    @classmethod
    def from_view(cls, view: ScanView) -> ProgressTracker:
        tracker = cls(view.estimated_resources, view.shards_total)
        progress = view.details["progress"]
        tracker.observe(
            {
                **view.counters,
                "percentage": progress["percentage"],
                "basis": progress.get("basis", "shards"),
            }
        )
        return tracker

    def observe(self, counters: dict[str, Any]) -> dict[str, Any]:
        """Fold in one event's counters; returns the progress fields of a `progress` message."""
        self.scanned = max(self.scanned, int(counters.get("scanned") or 0))
        self.shards_done = max(self.shards_done, int(counters.get("shards_done") or 0))
        violations = counters.get("violations") or {}
        for severity in SEVERITIES:
            self.violations[severity] = max(self.violations[severity], int(violations.get(severity, 0)))
        if "percentage" in counters:
            self.percentage = max(self.percentage, min(RUNNING_CAP, float(counters["percentage"])))
            self.basis = counters.get("basis", self.basis)
        return {
            "scanned": self.scanned,
            "total": estimate_total(self.scanned, self.estimated_resources),
            "percentage": self.percentage,
            "basis": self.basis,
            "shards_done": self.shards_done,
            "shards_total": self.shards_total,
            "violations": dict(self.violations),
            "total_violations": sum(self.violations.values()),
        }

    def final(self, progress: dict[str, Any]) -> dict[str, Any]:
        """The finalized scan's progress block: 100 for a completed scan, else what its work came to
        (never below what was sent: a stopped scan's bar does not shrink, nor fill)."""
        self.percentage = 100.0 if progress["percentage"] >= 100 else max(self.percentage, progress["percentage"])
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


class ScanChannels:
    """The scan channels that the streams of one process follow, over one Redis subscription: each event
    is read and decoded once, then handed to every stream of its scan (a subscription per stream made
    Redis send, and each stream parse, the same event once per client). A reader thread (a greenlet
    under gevent) runs while at least one stream listens.

    If the subscription fails (Redis restarted), every stream listening gets the error, so each closes
    with 1011 and its client reconnects for a fresh snapshot; the next stream opens a new subscription.
    """

    def __init__(self, redis: Redis, *, poll_seconds: float = 1.0, confirm_seconds: float = 10.0):
        self.redis = redis
        self.poll_seconds = poll_seconds
        self.confirm_seconds = confirm_seconds
        self._lock = threading.Lock()
        self._confirmed = threading.Condition(self._lock)
        self._inboxes: dict[str, set[queue.SimpleQueue]] = {}
        # SUBSCRIBE commands sent per channel and their confirmations read: a stream waits until every
        # SUBSCRIBE sent for its channel so far is confirmed.
        self._sent: dict[str, int] = {}
        self._confirmations: dict[str, int] = {}
        self._pubsub: PubSub | None = None
        self._failure: BaseException | None = None

    def listen(self, scan_id: str) -> Subscription:
        """Start receiving the scan's events. Returns once Redis has confirmed the subscription, so that
        nothing published after this returns can be missed."""
        name = channel(scan_id)
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            pubsub = self._pubsub or self._start()
            inboxes = self._inboxes.setdefault(name, set())
            inboxes.add(inbox)
            try:
                if len(inboxes) == 1:
                    pubsub.subscribe(name)
                    self._sent[name] = self._sent.get(name, 0) + 1
                wanted, deadline = self._sent[name], time.monotonic() + self.confirm_seconds
                while self._confirmations.get(name, 0) < wanted:
                    if self._pubsub is not pubsub:
                        raise ConnectionError("the subscription to Redis failed") from self._failure
                    if not self._confirmed.wait(deadline - time.monotonic()) and time.monotonic() >= deadline:
                        raise TimeoutError(f"Redis did not confirm the subscription to {name}")
            except BaseException:
                self._leave(name, inbox)
                raise
        return Subscription(self, name, inbox)

    def listeners(self, scan_id: str) -> int:
        with self._lock:
            return len(self._inboxes.get(channel(scan_id), ()))

    def _start(self) -> PubSub:
        self._pubsub = pubsub = self.redis.pubsub()
        self._sent.clear()
        self._confirmations.clear()
        threading.Thread(target=self._read, args=(pubsub,), name="scan-channels", daemon=True).start()
        return pubsub

    def _leave(self, name: str, inbox: queue.SimpleQueue) -> None:
        """Called with the lock held."""
        inboxes = self._inboxes.get(name)
        if inboxes is None or inbox not in inboxes:
            return
        inboxes.discard(inbox)
        if inboxes:
            return
        del self._inboxes[name]
        if self._pubsub is not None:
            try:
                self._pubsub.unsubscribe(name)
            except RedisError:  # the reader sees the failure too, and ends the other streams
                log.debug("unsubscribe from %s failed", name, exc_info=True)

    def _read(self, pubsub: PubSub) -> None:
        """Hand each event to the streams of its scan, until no stream listens or the subscription fails."""
        try:
            while True:
                with self._lock:
                    if self._pubsub is not pubsub:
                        return
                    if not self._inboxes:  # nobody listens: close; the next stream opens a new subscription
                        self._pubsub = None
                        return
                try:
                    message = pubsub.get_message(timeout=self.poll_seconds)
                except Exception as exc:  # Redis is gone or restarted: every stream must reconnect
                    self._fail(pubsub, exc)
                    return
                if message is not None:
                    self._dispatch(message)
        finally:
            pubsub.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        name = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
        if message["type"] == "subscribe":
            with self._lock:
                self._confirmations[name] = self._confirmations.get(name, 0) + 1
                self._confirmed.notify_all()
        elif message["type"] == "message":
            event = decode(message["data"])  # shared by every stream of the scan: read-only
            if event is None:
                return
            with self._lock:
                inboxes = list(self._inboxes.get(name, ()))
            for inbox in inboxes:
                inbox.put(event)

    def _fail(self, pubsub: PubSub, exc: BaseException) -> None:
        log.warning("the scan channels' subscription failed; its streams end", exc_info=True)
        with self._lock:
            if self._pubsub is not pubsub:
                return
            self._pubsub, self._failure = None, exc
            for inboxes in self._inboxes.values():
                for inbox in inboxes:
                    inbox.put(exc)
            self._inboxes.clear()
            self._confirmed.notify_all()


@dataclass
class Subscription:
    """One stream's share of the scan channels: the events of its scan, in the order Redis sent them."""

    channels: ScanChannels
    name: str
    inbox: queue.SimpleQueue

    def get(self, timeout: float) -> dict[str, Any] | None:
        """The next event, None when there was none for `timeout` seconds; raises when the subscription
        failed."""
        try:
            item = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            raise ConnectionError("the subscription to Redis failed") from item
        return item

    def close(self) -> None:
        with self.channels._lock:
            self.channels._leave(self.name, self.inbox)


class ScanFeed:
    """The messages a stream client receives: a snapshot, then the scan's events, normalised, until the
    scan ends. Use it as a context manager: the subscription is released however the stream ends.

    Pub/sub is at-most-once, so the feed subscribes (and waits for Redis to confirm) before it takes
    the snapshot: an event published in between is then delivered, never lost. When no event arrives
    for `recheck_seconds` the feed re-reads the scan, so a lost `completed` cannot hold a stream open.
    """

    def __init__(
        self,
        channels: ScanChannels,
        scan_id: str,
        load: Callable[[], ScanView],
        *,
        poll_seconds: float = 1.0,
        recheck_seconds: float = 15.0,
    ):
        self.channels = channels
        self.redis = channels.redis
        self.scan_id = scan_id
        self.load = load
        self.poll_seconds = poll_seconds
        self.recheck_seconds = recheck_seconds
        self.subscription: Subscription | None = None

    def __enter__(self) -> ScanFeed:
        self.subscription = self.channels.listen(self.scan_id)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Leave the scan's channel; safe to call twice and when Redis is gone."""
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            subscription.close()

    def messages(self, client_open: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """Yield messages while `client_open()` is true; returns after the terminal message."""
        if self.subscription is None:
            raise RuntimeError("use ScanFeed as a context manager")
        view = self.load()
        tracker = ProgressTracker.from_view(view)
        yield snapshot_message(view)
        if view.finished:
            return
        quiet_since = time.monotonic()
        while client_open():
            event = self.subscription.get(timeout=self.poll_seconds)
            if event is None:
                if time.monotonic() - quiet_since >= self.recheck_seconds:
                    quiet_since = time.monotonic()
                    view = self.load()
                    if view.finished:
                        yield snapshot_message(view)
                        return
                continue
            quiet_since = time.monotonic()
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
            yield {**event, **tracker.observe(event)}
            return False
        if kind == "completed":
            final = self.load()
            yield {**event, "progress": tracker.final(final.details["progress"])}
            return True
        yield event
        if kind == "shard" and event.get("state") != "started":
            # A finished shard's event carries the scan's counters after it: a progress message too.
            yield progress_message(self.scan_id, tracker.observe(event))
        if kind == "status" and event.get("status") in TERMINAL_STATUSES:
            return self.load().finished
        return False
