"""Test fixtures: real PostgreSQL (own database), real Redis (own db number), a real Celery worker
and a real moto server. Tests isolate by tenant: each gets a fresh one from the factories."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass

import pytest
import requests
from celery.contrib.testing.worker import start_worker
from redis import Redis
from sqlalchemy import create_engine

from devkit.fakes.local_aws import LocalAws
from shared.migrations.commands import upgrade
from shared.platform.crypto import CredentialVault
from shared.platform.settings import Settings
from shared.tenants.apikeys import create_key
from shared.tenants.service import create_tenant

TERMINAL = ("completed", "failed", "cancelled", "timed_out")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def test_slot():
    """A Redis database number (8-15) of our own, so test sessions running side by side (several
    developers, CI) never share a broker, a result backend or a database."""
    admin = Redis.from_url("redis://127.0.0.1:6379/0")
    for number in range(15, 7, -1):
        key = f"pc:test-slot:{number}"
        if admin.set(key, os.getpid(), nx=True, ex=6 * 3600):
            yield number
            admin.delete(key)
            return
    pytest.fail("all Redis test databases 8-15 are taken by other test sessions")


@pytest.fixture(scope="session")
def settings(test_slot) -> Settings:
    database_url = os.environ.get(
        "POLICYCORTEX_TEST_DATABASE_URL", f"postgresql+psycopg2://postgres@127.0.0.1:5432/policycortex_test_{test_slot}"
    )
    redis_url = os.environ.get("POLICYCORTEX_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{test_slot}")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=(CredentialVault.generate_key(),),
        shard_soft_time_limit=120,
        shard_time_limit=150,
        page_size=5,  # small pages, so tests exercise paging and between-page checks
        outbound_allowlist=("127.0.0.1", "localhost"),  # moto and the cloud fakes are loopback servers
        # Every test client is 127.0.0.1 and the fuzz test sends thousands of requests with one key: the
        # limits themselves are tested with their own settings (tests/api/test_hostile_input.py).
        rate_limit="100000/minute",
        auth_failure_limit="100000/minute",
    )


@pytest.fixture(scope="session")
def database(settings):
    """A fresh schema per test session, built by the real migrations."""
    from shared.platform.db import ensure_database

    ensure_database(settings.database_url)
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    upgrade(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
def redis_client(settings) -> Redis:
    client = Redis.from_url(settings.redis_url)
    client.flushdb()
    return client


@pytest.fixture(scope="session")
def celery_app(settings, database, redis_client):
    from workers.celery_app import create_celery

    return create_celery(settings)


@pytest.fixture(scope="session")
def svc(celery_app):
    return celery_app.services


@pytest.fixture(scope="session")
def worker(celery_app):
    """A real worker consuming every queue from the real Redis, in threads of this process."""
    with start_worker(
        celery_app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30
    ) as running:
        yield running


@pytest.fixture(scope="session")
def app(settings, celery_app):
    from api.app import create_app

    return create_app(settings, celery=celery_app)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def moto_server():
    """moto, with the local IAM Access Analyzer moto lacks (devkit.fakes.local_aws)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = LocalAws().start()
    yield server.url
    server.stop()


@pytest.fixture()
def moto(moto_server):
    """The moto server, emptied for this test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    return moto_server


@dataclass
class TenantHandle:
    id: str
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture()
def make_tenant(svc, request):
    counter = iter(range(1_000_000))

    def factory(*, max_concurrent: int = 10, max_queued: int = 50, scopes=("read", "write")) -> TenantHandle:
        name = f"{request.node.name[:60]}-{next(counter)}-{time.monotonic_ns()}"
        with svc.db.session() as session:
            tenant = create_tenant(session, svc.settings, name, max_concurrent=max_concurrent, max_queued=max_queued)
            _, key = create_key(session, tenant, scopes=scopes)
        return TenantHandle(tenant.id, name, key)

    return factory


@pytest.fixture()
def tenant(make_tenant) -> TenantHandle:
    return make_tenant()


@pytest.fixture()
def make_account(client):
    def factory(
        tenant: TenantHandle,
        *,
        endpoint_url: str | None = None,
        provider: str = "aws",
        environment: str = "production",
        regions=("us-east-1", "eu-west-1"),
        name: str | None = None,
        credentials: dict | None = None,
    ) -> dict:
        from devkit.estates import DEMO_CREDENTIALS

        body = {
            "provider": provider,
            "name": name or f"{provider}-{environment}-{time.monotonic_ns()}",
            "environment": environment,
            "regions": list(regions),
            "credentials": DEMO_CREDENTIALS if credentials is None else credentials,
            "endpoint_url": endpoint_url,
        }
        response = client.post("/v1/accounts", json=body, headers=tenant.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return factory


def scan_body(**overrides) -> dict:
    body = {
        "name": "Production Full Compliance Scan",
        "scan_type": "full",
        "environment": "production",
        "cloud_providers": ["aws"],
        "frameworks": ["soc2"],
    }
    body.update(overrides)
    return body


# What each provider's account needs to be registered (never contacted: no scan runs on these).
PLACEHOLDER_CREDENTIALS = {
    "aws": {"access_key_id": "AKIAPLACEHOLDER", "secret_access_key": "placeholder"},
    "azure": {"subscription_id": "00000000-0000-0000-0000-000000000000", "access_token": "placeholder"},
    "gcp": {"project_id": "placeholder-project"},
    "hybrid": {},
}
PLACEHOLDER_CHANNELS = {
    "email": {"recipients": ["ops@example.com"]},
    "slack": {"webhook_url": "https://localhost/slack/T000/B000/XXXX"},
    "webhook": {"url": "https://localhost/hook"},
}


def provision(client, tenant: TenantHandle, body: dict) -> None:
    """What a scan or schedule body asks of its tenant, when the tenant lacks it: an account of each
    provider in its environment and an enabled channel of each notification type. A request whose
    targets or channels do not exist is refused (400), as it should be."""
    config = body.get("scan_config", body)
    environment = config["environment"]
    listed = client.get(f"/v1/accounts?environment={environment}&limit=200", headers=tenant.headers).get_json()
    have = {a["provider"] for a in listed["accounts"]}
    for provider in set(config["cloud_providers"]) - have:
        account = {
            "provider": provider,
            "name": f"placeholder-{provider}-{environment}",
            "environment": environment,
            "credentials": PLACEHOLDER_CREDENTIALS[provider],
        }
        assert client.post("/v1/accounts", headers=tenant.headers, json=account).status_code == 201
    kinds = {c["type"] for c in client.get("/v1/notifications/channels", headers=tenant.headers).get_json()["channels"]}
    for kind in set((body.get("notifications") or {}).get("channels") or ()) - kinds:
        channel = {"type": kind, "name": f"placeholder-{kind}", "config": PLACEHOLDER_CHANNELS[kind]}
        assert client.post("/v1/notifications/channels", headers=tenant.headers, json=channel).status_code == 201


def wait_for_scan(client, tenant: TenantHandle, scan_id: str, *, timeout: float = 90, statuses=TERMINAL) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        scan = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()
        if scan["status"] in statuses:
            return scan
        if time.monotonic() > deadline:
            raise AssertionError(f"scan {scan_id} still {scan['status']} after {timeout}s: {scan}")
        time.sleep(0.1)
