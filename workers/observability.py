"""Celery signal receivers: the ids of the running task (task name and id, scan, shard, tenant) on
every log line it emits, and the metrics its small result dict reports. Tasks stay unaware of both."""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from contextvars import Token
from typing import Any

from celery.signals import task_postrun, task_prerun
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from shared.notifications.models import NotificationDelivery
from shared.platform.context import Services
from shared.platform.logs import bind, unbind
from shared.platform.metrics import (
    RESOURCES_SCANNED,
    SCAN_DURATION,
    SCANS_FINISHED,
    SHARD_DURATION,
    VIOLATIONS_FOUND,
)
from shared.scans.models import Scan
from shared.schedules.models import Schedule

_tokens: dict[str, Token] = {}
# A scan finishes once, but the tasks that report it may run twice (redelivery): count it once.
FINISHED_MARK = "pc:metrics:scan-finished:{}"
FINISHED_MARK_TTL = 7 * 24 * 3600
_task_starts: dict[str, float] = {}
# Task arguments that name what a task works on (tasks take ids only), stamped on its log lines.
TASK_IDS = ("scan_id", "shard_id", "schedule_id", "delivery_id")


def task_ids(svc: Services, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The ids among a task's arguments, and the tenant that owns them (one primary-key read):
    task arguments are ids only, so the tenant is looked up rather than passed along."""
    ids = {name: arguments[name] for name in TASK_IDS if arguments.get(name) is not None}
    owners = {"scan_id": Scan, "schedule_id": Schedule, "delivery_id": NotificationDelivery}
    name = next((name for name in owners if name in ids), None)
    if name:
        try:
            with svc.db.session() as session:
                model = owners[name]
                ids["tenant_id"] = session.scalar(select(model.tenant_id).where(model.id == ids[name]))
        except SQLAlchemyError:  # the task itself will meet and report the outage; its lines keep the ids
            pass
    return ids


def task_started(task_id: str) -> None:
    _task_starts[task_id] = time.perf_counter()


def task_finished(svc: Services, name: str, task_id: str, result: Any) -> None:
    """Observe what a finished task reports in its small result dict (tasks stay unaware of metrics)."""
    started = _task_starts.pop(task_id, None)
    if not isinstance(result, dict):  # raised or retried: the next run reports
        return
    if name == "scan-shard" and started is not None:
        status = str(result.get("status", "unknown"))
        SHARD_DURATION.labels(status).observe(time.perf_counter() - started)
        RESOURCES_SCANNED.labels(status).inc(result.get("resources_scanned", 0))
    elif name == "scan-finalize" or (name == "scan-plan" and result.get("shards") == 0):
        scan_finished(svc, result["scan_id"])  # scan-plan finalizes a scan with nothing to run


def scan_finished(svc: Services, scan_id: str) -> None:
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
    if scan is None or scan.results is None:  # not final (yet)
        return
    if not svc.redis.set(FINISHED_MARK.format(scan_id), 1, nx=True, ex=FINISHED_MARK_TTL):
        return
    SCANS_FINISHED.labels(scan.status, scan.scan_type).inc()
    ended = scan.completed_at or scan.cancelled_at
    if scan.started_at and ended:
        SCAN_DURATION.labels(scan.status, scan.scan_type).observe((ended - scan.started_at).total_seconds())
    for severity, count in (scan.results.get("violation_breakdown") or {}).items():
        VIOLATIONS_FOUND.labels(severity).inc(count)


def _arguments(task, args, kwargs) -> dict:
    try:
        return inspect.signature(task.run).bind_partial(*args, **kwargs).arguments
    except TypeError:  # arguments that do not fit: the task itself will say so
        return {}


def _task_prerun(task_id=None, task=None, args=(), kwargs=None, **_):
    ids = task_ids(task.app.services, _arguments(task, args or (), kwargs or {}))
    _tokens[task_id] = bind(task=task.name, task_id=task_id, **ids)
    task_started(task_id)


def _task_postrun(task_id=None, task=None, retval=None, **_):
    try:
        task_finished(task.app.services, task.name, task_id, retval)
    finally:
        token = _tokens.pop(task_id, None)
        if token is not None:
            unbind(token)


def connect_signals() -> None:
    """Once per process however many Celery apps it builds (dispatch_uid), so nothing counts twice."""
    task_prerun.connect(_task_prerun, dispatch_uid="policycortex-task-prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="policycortex-task-postrun", weak=False)
