"""Readiness: can this process reach PostgreSQL and Redis, and is at least one worker listening?"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import text

from shared.platform.context import Services


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # any failure means "not ready"; the type says which
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round(1000 * (time.perf_counter() - started), 1), **(detail or {})}


def readiness(svc: Services, *, worker_timeout: float = 1.0) -> dict[str, Any]:
    def database():
        with svc.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def redis():
        svc.redis.ping()

    def workers():
        answers = svc.celery.control.ping(timeout=worker_timeout) or []
        if not answers:
            raise LookupError("no worker answered")
        return {"workers": sorted(name for answer in answers for name in answer)}

    checks = {"postgresql": _timed(database), "redis": _timed(redis), "workers": _timed(workers)}
    return {"status": "ready" if all(c["ok"] for c in checks.values()) else "not_ready", "checks": checks}
