"""Celery Flower, as operators run it (`make flower`, the compose `flower` service): behind basic auth,
showing our worker and a real scan's tasks by their readable names and id arguments."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devkit.estates import seed_demo_estate
from tests.conftest import free_port, scan_body, wait_for_scan

AUTH = ("operator", "flower-test-password")


@pytest.fixture(scope="module")
def flower(settings, worker, tmp_path_factory):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
        "FLOWER_BASIC_AUTH": ":".join(AUTH),
    }
    log = tmp_path_factory.mktemp("flower") / "flower.log"
    celery = Path(sys.executable).parent / "celery"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [str(celery), "-A", "workers.main", "flower", "--address=127.0.0.1", f"--port={port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthcheck", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_flower_requires_basic_auth(flower):
    assert requests.get(f"{flower}/", timeout=5).status_code == 401
    assert requests.get(f"{flower}/api/workers", timeout=5).status_code == 401
    assert requests.get(f"{flower}/", auth=("operator", "wrong"), timeout=5).status_code == 401
    assert requests.get(f"{flower}/", auth=AUTH, timeout=5).status_code == 200


def test_flower_shows_a_scans_tasks_by_name_with_id_arguments(flower, client, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    created = client.post("/v1/scans", json=scan_body(), headers=tenant.headers).get_json()
    assert wait_for_scan(client, tenant, created["id"])["status"] == "completed"

    deadline = time.monotonic() + 30
    while True:  # Flower learns of tasks from the workers' events, a moment after they happen
        tasks = requests.get(f"{flower}/api/tasks", auth=AUTH, params={"limit": 1000}, timeout=5).json()
        ours = [t for t in tasks.values() if created["id"] in (t.get("args") or "")]
        names = {t["name"] for t in ours}
        done = all(t["state"] == "SUCCESS" for t in ours)  # the succeeded events come last
        if ({"scan-plan", "scan-shard", "scan-finalize"} <= names and done) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {"scan-plan", "scan-shard", "scan-finalize"} <= names, names
    shards = [t for t in ours if t["name"] == "scan-shard"]
    assert all(t["state"] == "SUCCESS" for t in ours)
    # Arguments are ids only (the scan id and a shard number): never credentials.
    assert all(t["args"].startswith(f"('{created['id']}', ") for t in shards), [t["args"] for t in shards]
    assert not any("secret" in (t.get("args") or "") + (t.get("kwargs") or "") for t in ours)
