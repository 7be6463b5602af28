"""Prometheus metrics: every definition in one place, the events the API and the workers observe,
the state read at scrape time, and the multiprocess mode that lets any API process answer for all
the processes of its host."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from shared.platform.context import Services
    from shared.platform.settings import Settings

log = logging.getLogger(__name__)

# /metrics is public to whoever reaches it, so labels are small closed sets (statuses, severities,
# route templates, queue names), never a tenant, a resource or a raw path. Every metric has labels:
# its values are then created at first use, after `configure` chose where they live.
SCANS_FINISHED = Counter("policycortex_scans_finished", "Scans that reached a final status", ["status", "scan_type"])
SCAN_DURATION = Histogram(
    "policycortex_scan_duration_seconds",
    "Wall time of finished scans, from start to final status",
    ["status", "scan_type"],
    buckets=(10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400),
)
SHARD_DURATION = Histogram(
    "policycortex_shard_duration_seconds",
    "Run time of scan-shard tasks, by the shard's outcome",
    ["status"],
    buckets=(0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800),
)
RESOURCES_SCANNED = Counter(
    "policycortex_resources_scanned", "Resources evaluated by shards, by the shard's outcome", ["status"]
)
VIOLATIONS_FOUND = Counter("policycortex_violations_found", "Violations found by finished scans", ["severity"])
API_REQUESTS = Histogram(
    "policycortex_api_request_duration_seconds",
    "API request latency by route template, method and status",
    ["method", "route", "status"],
)
NOTIFICATION_DELIVERIES = Counter(
    "policycortex_notification_deliveries",
    "Notification delivery attempts by channel type and outcome (delivered, failed, retrying)",
    ["channel", "outcome"],
)



def configure(settings: Settings) -> None:
    """Entry points call this once, before the first sample. With POLICYCORTEX_METRICS_DIR set,
    every process writes its samples to files there and /metrics sums them over all processes."""
    if not settings.metrics_dir:
        return
    os.makedirs(settings.metrics_dir, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.metrics_dir
    if not getattr(values.ValueClass, "_multiprocess", False):
        # prometheus-client picks its value class from the environment at import time, which is
        # too early for our settings; metrics with labels create their values later, through this.
        host = _host()  # asked for on every sample: no system call in it
        values.ValueClass = values.MultiProcessValue(process_identifier=lambda: f"{host}-{os.getpid()}")


def _host() -> str:
    # In the names of a process's files with its pid: containers sharing the directory (the API's
    # and the worker's) each number their processes from 1.
    return socket.gethostname().replace("_", "-")


def process_exited(settings: Settings, pid: int) -> None:
    """Bookkeeping for a dead process (gunicorn worker_exit, Celery worker_process_shutdown)."""
    if settings.metrics_dir:
        multiprocess.mark_process_dead(f"{_host()}-{pid}", settings.metrics_dir)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    API_REQUESTS.labels(method, route, str(status)).observe(seconds)


def delivery_finished(channel: str, outcome: str) -> None:
    NOTIFICATION_DELIVERIES.labels(channel, outcome).inc()


def queue_keys(queue: str) -> list[str]:
    """The Redis lists kombu keeps for one queue: the queue itself and one per priority step."""
    return [queue] + [f"{queue}{RedisChannel.sep}{step}" for step in PRIORITY_STEPS if step]


class StateCollector(Collector):
    """Gauges of state, read at scrape time so they are right whichever process answers: scans
    waiting or running (index probes per tenant, bounded by the tenants' queue limits, not by
    history) and the depth of each Celery queue (LLEN in one round trip)."""

    def __init__(self, svc: Services, queues: list[str]):
        self.svc, self.queues = svc, queues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._scans()
        yield from self._queues()

    def _scans(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.svc.db.session() as session:
                session.execute(text("SET LOCAL statement_timeout = 2000"))
                counts = dict(
                    session.execute(
                        text(
                            "SELECT s.status, count(*) FROM tenants t CROSS JOIN LATERAL"
                            " (SELECT status FROM scans WHERE scans.tenant_id = t.id"
                            " AND scans.status IN ('pending', 'running')) s GROUP BY s.status"
                        )
                    ).all()
                )
        except SQLAlchemyError as exc:
            log.warning("metrics: scans by status unavailable: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily("policycortex_scans", "Scans waiting (pending) or running now", labels=["status"])
        for status in ("pending", "running"):
            gauge.add_metric([status], counts.get(status, 0))
        yield gauge

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.svc.redis.pipeline(transaction=False) as pipe:
                for queue in self.queues:
                    for key in queue_keys(queue):
                        pipe.llen(key)
                lengths = iter(pipe.execute())
        except RedisError as exc:
            log.warning("metrics: queue depth unavailable: %s", type(exc).__name__)
            return
        gauge = GaugeMetricFamily("policycortex_queue_depth", "Messages waiting in each Celery queue", labels=["queue"])
        for queue in self.queues:
            gauge.add_metric([queue], sum(next(lengths) for _ in queue_keys(queue)))
        yield gauge


def exposition(svc: Services, queues: list[str]) -> bytes:
    """The text for GET /metrics: this host's event metrics (every process's, in multiprocess
    mode) followed by the state gauges."""
    if svc.settings.metrics_dir:
        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events, path=svc.settings.metrics_dir)
    else:
        events = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector(svc, queues))
    return generate_latest(events) + generate_latest(state)
