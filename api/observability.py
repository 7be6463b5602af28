"""What the API tells operators: a request id per request (echoed in X-Request-ID and on every log
line of the request), one JSON access log line, request latency metrics, and GET /metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request, request_started
from prometheus_client import CONTENT_TYPE_LATEST

from api.context import services
from shared.platform import metrics
from shared.platform.logs import bind, unbind

access_log = logging.getLogger("policycortex.access")
# An incoming X-Request-ID is kept when it is a plain token (a proxy's or the caller's id);
# anything else could forge log fields or carry data, so it is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Method labels are a closed set: a client inventing methods must not invent metric series.
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"  # the route label of 404s and 405s, whatever path was asked for


def request_id() -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def init_observability(app: Flask) -> None:
    """Register after the auth hook: the tenant is bound once the caller is known. The request id
    and the clock start on request_started, before any before_request hook (limits, auth) runs."""

    def _started(sender, **_):
        g.started = time.perf_counter()
        g.request_id = request_id()
        ids = {name: str(value)[:64] for name, value in (request.view_args or {}).items() if name.endswith("_id")}
        g.log_token = bind(request_id=g.request_id, **ids)

    request_started.connect(_started, app, weak=False)

    @app.before_request
    def _bind_tenant():
        principal = g.get("principal")
        if principal is not None:
            bind(tenant_id=principal.tenant_id)  # undone with the request's token at teardown

    @app.after_request
    def _observe(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else UNMATCHED
        method = request.method if request.method in METHODS else "OTHER"
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.observe_request(method, route, response.status_code, seconds)
        response.headers["X-Request-ID"] = g.get("request_id") or request_id()
        line = {
            "method": method,
            "path": request.path,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
            "remote_addr": request.remote_addr,
        }
        if g.get("principal") is not None:  # also when its scope was refused, before the tenant was bound
            line["tenant_id"] = g.principal.tenant_id
        access_log.info("%s %s %s", method, request.path, response.status_code, extra=line)
        return response

    @app.teardown_request
    def _unbind(_exc):
        token = g.pop("log_token", None)
        if token is not None:
            unbind(token)

    @app.get("/metrics")
    def metrics_public():
        """Prometheus metrics of every API and worker process of this host (no key needed, like
        /healthz: labels are closed sets, never a tenant, a resource or a raw path)."""
        svc = services()
        queues = [queue.name for queue in svc.celery.conf.task_queues]
        return Response(metrics.exposition(svc, queues), content_type=CONTENT_TYPE_LATEST)
