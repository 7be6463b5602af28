"""How tasks fail: only an unavailable database is retried (with capped, jittered exponential
back-off); any other crash of a shard is recorded on its row at once, so its scan still ends."""

from __future__ import annotations

import psycopg2
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from shared.scans.models import ScanShard
from tests.api.test_stream import make_scan
from workers.tasks import database_unavailable, db_retry_countdown


def test_back_off_is_exponential_jittered_and_capped():
    for retries in range(12):
        delays = [db_retry_countdown(retries, cap=60) for _ in range(200)]
        assert all(0 <= delay <= min(60, 2**retries) for delay in delays)
    late = [db_retry_countdown(10, cap=60) for _ in range(200)]
    assert max(late) > 30 and len(set(late)) > 20  # spread over the whole window, up to the cap
    assert max(db_retry_countdown(30, cap=2) for _ in range(200)) <= 2


def test_only_an_unavailable_database_is_retried():
    refused = psycopg2.OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    assert database_unavailable(OperationalError("SELECT 1", {}, refused))
    assert database_unavailable(DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True))
    assert not database_unavailable(IntegrityError("INSERT", {}, psycopg2.IntegrityError("duplicate key")))
    assert not database_unavailable(ValueError("a bug"))


def test_a_shard_that_crashes_on_a_bug_fails_at_once_with_its_error(worker, celery_app, svc, tenant, make_account):
    account = make_account(tenant, endpoint_url="http://127.0.0.1:9", regions=("us-east-1",))  # never called
    scan_id = make_scan(svc, tenant, shards_total=1)
    with svc.db.session() as session:
        shard = ScanShard(
            scan_id=scan_id,
            account_id=account["id"],
            provider="aws",
            region="us-east-1",
            resource_types=["aws.no-such.type"],  # no collector knows it: a KeyError deep in the shard
            status="queued",
            errors=[],
            policy_stats={},
        )
        session.add(shard)
        session.flush()
        shard_id = shard.id
    result = celery_app.send_task("scan-shard", args=[scan_id, shard_id]).get(timeout=60)
    assert result == {"shard_id": shard_id, "scan_id": scan_id, "status": "failed"}
    with svc.db.session() as session:
        row = session.get(ScanShard, shard_id)
    assert row.attempts == 1  # not retried
    [error] = row.errors
    # The exception's own text stays in the worker's log: it may quote what an endpoint answered.
    assert error["code"] == "KeyError" and error["message"].startswith("The shard stopped on an unexpected KeyError")
    assert "aws.no-such.type" not in error["message"]
    assert error["region"] == "us-east-1"
