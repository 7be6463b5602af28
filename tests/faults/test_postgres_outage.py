"""PostgreSQL stopped mid-scan: the API answers 503 in the envelope at once, the workers' tasks retry
with capped, jittered exponential back-off instead of failing the scan, and when PostgreSQL returns
everything recovers without a restart and the scan ends with exactly what an undisturbed scan finds."""

from __future__ import annotations

import json
import time

import pytest

from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan
from tests.faults.conftest import LONG_REGION, POLICIES, SLOW, outcome, shard_row, start_scan, wait_for

pytestmark = pytest.mark.e2e


def retries_seen(redis_client) -> list[dict]:
    """Task states in the result backend that say RETRY (result_extended: with name and count)."""
    states = (redis_client.get(key) for key in redis_client.scan_iter("celery-task-meta-*"))
    return [meta for meta in map(json.loads, filter(None, states)) if meta["status"] == "RETRY"]


def test_a_postgresql_outage_mid_scan_is_503_then_retried_then_recovered(
    worker, client, svc, redis_client, estate, private_postgres
):
    tenant = estate.tenant
    estate.cloud.delay = SLOW
    scan_id = start_scan(client, tenant)
    long_shard = wait_for(
        lambda: (row := shard_row(svc, scan_id, LONG_REGION)) and row.resources_scanned > 0 and row,
        what="the long shard's first pages written",
    )
    private_postgres.stop()
    try:
        # The API: the documented envelope at once, for reads and writes alike; never a 500 or a hang.
        for method, path, body in (
            ("GET", f"/v1/scans/{scan_id}", None),
            ("GET", "/v1/scans", None),
            ("POST", "/v1/scans", scan_body(scope={"include_policies": list(POLICIES)})),
        ):
            started = time.monotonic()
            response = client.open(path, method=method, json=body, headers=tenant.headers)
            assert time.monotonic() - started < 10  # the connect timeout (5 s) at worst
            assert_envelope(response, 503, "SRV_503")
            assert response.headers["Retry-After"] == "5"
        # The worker: the long shard's task is retried, again and again, rather than failed (its own
        # retries: another shard's could be seen first while the long one is still between pages).
        retried = wait_for(
            lambda: [
                m
                for m in retries_seen(redis_client)
                if m["name"] == "scan-shard" and m["retries"] >= 2 and long_shard.id in (m.get("args") or [])
            ],
            timeout=60,
            what="the long shard's task retried three times",
        )
        assert retried[0]["result"]["exc_type"] == "OperationalError"
    finally:
        private_postgres.start()
    # Nothing is restarted: the same API process and the same worker carry on.
    scan = wait_for_scan(client, tenant, scan_id)

    assert scan["status"] == "completed" and scan["status_reason"] is None
    assert outcome(client, svc, tenant, scan_id) == estate.undisturbed
    assert shard_row(svc, scan_id, LONG_REGION).attempts == 2  # the outage cost the shard one attempt
