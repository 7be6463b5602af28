"""Celery signal receivers: the ids of the running task (task name and id, scan, shard, tenant) on
every log line it emits, and the metrics its small result dict reports. Tasks stay unaware of both."""

from __future__ import annotations

import inspect
from contextvars import Token

from celery.signals import task_postrun, task_prerun

from shared import metrics
from shared.logs import bind, task_ids, unbind

_tokens: dict[str, Token] = {}


def _arguments(task, args, kwargs) -> dict:
    try:
        return inspect.signature(task.run).bind_partial(*args, **kwargs).arguments
    except TypeError:  # arguments that do not fit: the task itself will say so
        return {}


def _task_prerun(task_id=None, task=None, args=(), kwargs=None, **_):
    ids = task_ids(task.app.services, _arguments(task, args or (), kwargs or {}))
    _tokens[task_id] = bind(task=task.name, task_id=task_id, **ids)
    metrics.task_started(task_id)


def _task_postrun(task_id=None, task=None, retval=None, **_):
    try:
        metrics.task_finished(task.app.services, task.name, task_id, retval)
    finally:
        token = _tokens.pop(task_id, None)
        if token is not None:
            unbind(token)


def connect_signals() -> None:
    """Once per process however many Celery apps it builds (dispatch_uid), so nothing counts twice."""
    task_prerun.connect(_task_prerun, dispatch_uid="policycortex-task-prerun", weak=False)
    task_postrun.connect(_task_postrun, dispatch_uid="policycortex-task-postrun", weak=False)
