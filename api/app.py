"""The Flask app factory: extensions and blueprints are bound here, nothing at import time."""

from __future__ import annotations

from flask import Flask

from shared.platform.settings import Settings


def create_app(settings: Settings | None = None, *, celery=None) -> Flask:
    from api import (
        accounts,
        attestations,
        events,
        findings,
        notifications,
        policies,
        reports,
        resources,
        scans,
        schedules,
        stream,
    )
    from api.auth import register_auth
    from api.errors import register_error_handlers, register_input_guard
    from api.limits import init_limits
    from api.observability import init_observability
    from api.openapi import register_openapi
    from workers.celery_app import create_celery

    settings = settings or Settings.from_env()
    celery = celery or create_celery(settings)
    app = Flask("policycortex")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    app.json.sort_keys = False  # keep the field order of the API reference
    app.extensions["policycortex"] = celery.services
    register_error_handlers(app)
    register_auth(app, settings)  # first: callers without a valid key are limited per address here
    init_limits(app, settings)  # then every key's own budget, over all routes together
    init_observability(app)  # after auth, to bind the tenant; its request id and clock start before every hook
    register_input_guard(app)
    app.register_blueprint(schedules.bp)  # before scans: /v1/scans/schedules is not a scan id
    app.register_blueprint(scans.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(resources.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(notifications.bp)
    stream.init_app(app, settings)
    register_openapi(app)
    app.register_blueprint(policies.policies)
    app.register_blueprint(policies.frameworks)
    app.register_blueprint(attestations.bp)
    app.register_blueprint(findings.findings)
    app.register_blueprint(findings.mute_rules)

    @app.get("/healthz")
    def healthz():
        """The process is up (liveness)."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        """PostgreSQL, Redis and at least one worker are reachable (readiness)."""
        from shared.platform.health import readiness

        report = readiness(app.extensions["policycortex"])
        return report, 200 if report["status"] == "ready" else 503

    return app
