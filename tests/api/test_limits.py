"""Rate limits per API key, answered in the envelope with Retry-After, and security headers;
a PostgreSQL that cannot be reached is a 503 in the envelope, not a 500 or a hang."""

from __future__ import annotations

import time
from dataclasses import replace

from api.app import create_app
from api.limits import SECURITY_HEADERS
from tests.api.test_auth import assert_envelope
from tests.conftest import free_port


def test_rate_limit_per_key_is_429_with_retry_after(settings, celery_app, make_tenant):
    app = create_app(replace(settings, rate_limit="5/minute"), celery=celery_app)
    client = app.test_client()
    limited, other = make_tenant(), make_tenant()
    answers = [client.get("/v1/scans", headers=limited.headers) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    body = assert_envelope(answers[5], 429, "REQ_429")
    assert body["error"] == "rate_limited"
    assert 0 < int(answers[5].headers["Retry-After"]) <= 60
    # Another key has its own budget.
    assert client.get("/v1/scans", headers=other.headers).status_code == 200


def test_security_headers_on_every_response(client, tenant):
    for response in (
        client.get("/v1/scans", headers=tenant.headers),
        client.get("/v1/scans"),
        client.get("/nowhere"),
        client.get("/healthz"),
    ):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


def test_unreachable_postgresql_is_503_in_the_envelope(settings, celery_app, tenant):
    from workers.celery_app import create_celery

    down = replace(settings, database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing")
    app = create_app(down, celery=create_celery(down))
    started = time.monotonic()
    response = app.test_client().get("/v1/scans", headers=tenant.headers)
    assert_envelope(response, 503, "SRV_503")
    assert response.headers["Retry-After"] == "5"
    assert time.monotonic() - started < 15  # connect_timeout, not a hang


def test_readiness_reports_each_dependency(client, worker, settings, celery_app):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    checks = ready.get_json()["checks"]
    assert checks["postgresql"]["ok"] and checks["redis"]["ok"] and checks["workers"]["workers"]
    assert client.get("/healthz").get_json() == {"status": "ok"}

    from workers.celery_app import create_celery

    down = replace(settings, database_url=f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing")
    report = create_app(down, celery=create_celery(down)).test_client().get("/readyz")
    assert report.status_code == 503
    assert report.get_json()["checks"]["postgresql"] == {"ok": False, "error": "OperationalError"}
