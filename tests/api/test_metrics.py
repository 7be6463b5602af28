"""GET /metrics: public, not rate limited, no tenant data; scan, shard, resource, violation and
request metrics move during a real scan; queue depth counts waiting tasks; several processes (two
gunicorn workers) sharing POLICYCORTEX_METRICS_DIR answer with the same sums."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from api.app import create_app
from devkit.estates import DEMO_POLICIES, seed_demo_estate
from shared.platform.metrics import StateCollector, queue_keys
from shared.scans.models import Scan
from tests.conftest import free_port, scan_body, wait_for_scan
from tests.fakes import SlowCloud

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGIONS = ("us-east-1", "eu-west-1")


def parse(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(response.get_data(as_text=True))


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict, name: str, **labels) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def test_metrics_move_during_a_real_scan(client, worker, svc, tenant, make_account, moto):
    seed_demo_estate(moto, regions=REGIONS)
    before = scrape(client)
    with SlowCloud(moto, delay=0.05) as slow:
        account = make_account(tenant, endpoint_url=slow.url, regions=REGIONS)
        body = scan_body(scope={"include_policies": list(DEMO_POLICIES)}, execution={"parallel_execution": False})
        response = client.post("/v1/scans", json=body, headers=tenant.headers)
        assert response.status_code == 202, response.get_json()
        scan_id = response.get_json()["id"]

        # Mid-scan: a shard has finished and been counted while the scan is still running.
        deadline = time.monotonic() + 60
        while True:
            during = scrape(client)
            status = client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()["status"]
            shards_done = total(during, "policycortex_shard_duration_seconds_count") - total(
                before, "policycortex_shard_duration_seconds_count"
            )
            if shards_done >= 1:
                break
            assert status == "running" and time.monotonic() < deadline, f"no shard counted; scan {status}"
            time.sleep(0.05)
        assert status == "running", "the scan ended before a shard was seen in the metrics: slow the cloud down"
        assert value(during, "policycortex_scans", status="running") >= 1
        assert total(during, "policycortex_scans_finished_total") == total(before, "policycortex_scans_finished_total")

        scan = wait_for_scan(client, tenant, scan_id)
    assert scan["status"] == "completed", scan
    after = scrape(client)

    def delta(name: str, **labels) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    with svc.db.session() as session:
        resources = session.get(Scan, scan_id).resources_scanned
    assert resources > 0
    assert delta("policycortex_scans_finished_total", status="completed", scan_type="full") >= 1
    assert delta("policycortex_scan_duration_seconds_count", status="completed", scan_type="full") >= 1
    assert delta("policycortex_scan_duration_seconds_sum", status="completed", scan_type="full") > 0
    assert delta("policycortex_shard_duration_seconds_count", status="completed") >= 3  # two regions and global
    assert delta("policycortex_resources_scanned_total", status="completed") >= resources
    for severity, count in scan["results"]["violation_breakdown"].items():
        assert delta("policycortex_violations_found_total", severity=severity) >= count
    assert scan["results"]["total_violations"] > 0
    # Request latency by route template, never by raw path.
    assert delta("policycortex_api_request_duration_seconds_count", method="POST", route="/v1/scans", status="202") >= 1
    detail = {"method": "GET", "route": "/v1/scans/<scan_id>", "status": "200"}
    assert delta("policycortex_api_request_duration_seconds_count", **detail) >= 2
    assert {value(after, "policycortex_queue_depth", queue=q) >= 0 for q in ("scans", "shards")} == {True}
    assert {labels for name, labels in after if name == "policycortex_queue_depth"} == {
        frozenset({("queue", q)}) for q in ("scans", "shards", "notifications", "housekeeping")
    }
    # Public endpoint: no tenant, scan, account or resource names in it.
    text = client.get("/metrics").get_data(as_text=True)
    for private in (tenant.id, tenant.name, scan_id, account["id"], account["name"], "demo-"):
        assert private not in text


def test_queue_depth_counts_waiting_tasks_of_every_priority(svc, celery_app, redis_client):
    queue = f"pc-test-depth-{uuid.uuid4().hex[:8]}"  # a queue no worker consumes
    collector = StateCollector(svc, [queue])
    try:
        for priority in (None, None, 9):
            celery_app.send_task("scans-reap", queue=queue, priority=priority)
        assert redis_client.llen(queue_keys(queue)[-1]) == 1  # the priority 9 message has its own list
        depth = {m.name: m.samples for m in collector.collect()}["policycortex_queue_depth"]
        assert [(s.labels, s.value) for s in depth] == [({"queue": queue}, 3)]
    finally:
        redis_client.delete(*queue_keys(queue), f"_kombu.binding.{queue}")


def test_metrics_is_public_unlimited_and_not_in_openapi(settings, celery_app):
    app = create_app(replace(settings, rate_limit="2/minute", auth_failure_limit="2/minute"), celery=celery_app)
    client = app.test_client()
    caller = {"REMOTE_ADDR": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    assert [client.get("/metrics", environ_base=caller).status_code for _ in range(4)] == [200] * 4
    # The limit itself is live for the same caller.
    assert [client.get("/v1/scans", environ_base=caller).status_code for _ in range(3)][-1] == 429
    assert "/metrics" not in client.get("/v1/openapi.json").get_json()["paths"]


def test_unmatched_paths_and_invented_methods_share_one_label(client):
    path = f"/no-such-{uuid.uuid4().hex}"
    assert client.get(path).status_code == 404
    assert client.open("/healthz", method="BREW").status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    assert path not in text and "BREW" not in text
    samples = parse(text)
    assert value(samples, "policycortex_api_request_duration_seconds_count", method="GET", route="<unmatched>",
                 status="404") >= 1  # fmt: skip
    assert value(samples, "policycortex_api_request_duration_seconds_count", method="OTHER", route="<unmatched>",
                 status="405") >= 1  # fmt: skip


def test_notification_deliveries_are_counted_by_outcome(settings, celery_app, tenant):
    def receiver(environ, start_response):  # a webhook endpoint that accepts /ok and fails the rest
        status = "204 No Content" if environ["PATH_INFO"] == "/ok" else "503 Service Unavailable"
        start_response(status, [])
        return [b""]

    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app = create_app(replace(settings, outbound_allowlist=("127.0.0.1",)), celery=celery_app)
        client = app.test_client()
        before = scrape(client)
        for name, path in (("up", "/ok"), ("down", "/broken")):
            body = {"type": "webhook", "name": name, "config": {"url": f"http://127.0.0.1:{server.server_port}{path}"}}
            channel = client.post("/v1/notifications/channels", json=body, headers=tenant.headers).get_json()
            client.post(f"/v1/notifications/channels/{channel['id']}/test", headers=tenant.headers)
        after = scrape(client)
    finally:
        server.shutdown()
    for outcome in ("delivered", "failed"):
        name, labels = "policycortex_notification_deliveries_total", {"channel": "webhook", "outcome": outcome}
        assert value(after, name, **labels) - value(before, name, **labels) == 1


def env_for(settings, **extra) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "POLICYCORTEX_SECRET_KEYS": ",".join(settings.secret_keys),
        **extra,
    }


REQUESTS_IN_A_PROCESS = """
import sys
from api.wsgi import app
from shared.platform import metrics

client = app.test_client()
for _ in range(int(sys.argv[1])):
    assert client.get("/healthz").status_code == 200
metrics.delivery_finished("webhook", "delivered")
"""


def test_processes_sharing_the_metrics_dir_are_summed(settings, tmp_path):
    env = env_for(settings, POLICYCORTEX_METRICS_DIR=str(tmp_path))
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", REQUESTS_IN_A_PROCESS, str(count)], env=env, cwd=REPO, check=True)
    assert len(list(tmp_path.glob("histogram_*.db"))) == 2  # one file per process

    # Any API process reading the directory reports both processes' samples (and not only its own).
    client = create_app(replace(settings, metrics_dir=str(tmp_path))).test_client()
    samples = scrape(client)
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(samples, "policycortex_api_request_duration_seconds_count", **healthz) == 7
    assert value(samples, "policycortex_notification_deliveries_total", channel="webhook", outcome="delivered") == 2
    assert value(samples, "policycortex_queue_depth", queue="scans") >= 0  # state gauges as well


@pytest.fixture()
def gunicorn(settings, tmp_path):
    """The API as `make up` runs it, with two sync workers (one request at a time each)."""
    port = free_port()
    metrics_dir, log = tmp_path / "metrics", tmp_path / "api.log"
    command = [str(BIN / "gunicorn"), "-c", "python:api.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--worker-class", "sync", "--error-logfile", str(log), "api.wsgi:app"]
    process = subprocess.Popen(command, cwd=REPO, env=env_for(settings, POLICYCORTEX_METRICS_DIR=str(metrics_dir)))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"gunicorn exited:\n{log.read_text() if log.exists() else ''}"
            try:
                requests.get(f"{url}/metrics", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):  # still importing the app
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        yield url, port, metrics_dir, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_gunicorn_workers_report_the_same_sums(gunicorn):
    url, port, metrics_dir, log = gunicorn
    # A request left half sent holds one sync worker, so the next requests go to the other one.
    held = socket.create_connection(("127.0.0.1", port))
    held.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Request-ID: held-1\r\n")
    time.sleep(0.5)
    answers = [requests.get(f"{url}/healthz", timeout=10) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    held.sendall(b"\r\n")
    assert held.recv(4096).startswith(b"HTTP/1.1 200")
    held.close()
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2  # both workers served requests

    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    for _ in range(6):  # whichever worker answers the scrape, it reports all six requests
        samples = parse(requests.get(f"{url}/metrics", timeout=10).text)
        assert value(samples, "policycortex_api_request_duration_seconds_count", **healthz) == 6

    # The access log is ours, in JSON, with the request id echoed to the caller.
    assert answers[0].headers["X-Request-ID"]
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "policycortex.access" and line["path"] == "/healthz"]
    assert {line["request_id"] for line in access} >= {"held-1", answers[0].headers["X-Request-ID"]}
    assert any(line["logger"] == "gunicorn.error" for line in lines)  # gunicorn's own lines are JSON too
