"""The websocket stream: a real server thread and real websocket clients, for real and synthetic scans."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from policycortex_client.stream import close_code
from simple_websocket import Client, ConnectionClosed
from sqlalchemy import update
from werkzeug.serving import make_server
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Ping, Request

from api.stream import REDIS_CLIENT_NAME
from devkit.estates import DEMO_POLICIES, seed_demo_estate
from shared.platform.db import utcnow
from shared.scans import service
from shared.scans.models import Scan
from shared.scans.progress import ScanProgress
from shared.scans.stream import ProgressTracker, is_finished, key_from_subprotocols
from shared.scans.stream_limits import TenantStreams
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body
from tests.fakes import SlowCloud

REGIONS = ("us-east-1", "eu-west-1")
NO_VIOLATIONS = {"critical": 0, "high": 0, "medium": 0, "low": 0}


# --- helpers shared with tests/cli/test_scans.py -------------------------------------------


def stream_enabled_app(settings, celery_app):
    """A fresh app with the stream bound (whether or not the factory binds it already): Flask refuses
    new routes on an app that has served requests, and the session's app has."""
    from api.app import create_app
    from api.stream import init_app

    app = create_app(settings, celery=celery_app)
    if "stream" not in app.blueprints:
        init_app(app, settings)
    # Pings often enough that a server-side socket thread never outlives its client for long.
    app.config["SOCK_SERVER_OPTIONS"] = {**app.config["SOCK_SERVER_OPTIONS"], "ping_interval": 5}
    return app


@contextmanager
def serve(app) -> Iterator[str]:
    """The app on a real threaded HTTP server, as `http://127.0.0.1:<port>`."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def make_scan(svc, tenant, *, status: str = "running", started: bool = True, **values: Any) -> str:
    """A scan row of the tenant without any worker behind it: the test publishes its events."""
    with svc.db.session() as session:
        scan = Scan(
            tenant_id=tenant.id,
            name="stream test",
            scan_type="full",
            status=status,
            environment="production",
            cloud_providers=["aws"],
            frameworks=["soc2"],
            policy_ids=[],
            account_ids=[],
            scope={"include_policies": [], "include_resources": [], "exclude_resources": []},
            execution={"immediate": True, "parallel_execution": True, "timeout": None},
            notifications={"on_completion": False, "on_failure": False, "channels": []},
            scope_key=f"stream-test-{time.monotonic_ns()}",
            created_at=utcnow(),
            started_at=utcnow() if started else None,
            shards_total=values.pop("shards_total", 4),
            **values,
        )
        session.add(scan)
        session.flush()
        return scan.id


def wait_until(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.05)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_app(settings, celery_app):
    return stream_enabled_app(settings, celery_app)


@pytest.fixture(scope="module")
def server(stream_app) -> Iterator[str]:
    with serve(stream_app) as url:
        yield url


def connect(server: str, scan_id: str, key: str | None = None, subprotocols: list[str] | None = None) -> Client:
    url = f"ws://{server.removeprefix('http://')}/v1/scans/{scan_id}/stream"
    headers = {"Authorization": f"Bearer {key}"} if key else None
    return Client.connect(url, headers=headers, subprotocols=subprotocols)


def receive(ws: Client, timeout: float = 30) -> dict:
    data = ws.receive(timeout=timeout)
    assert data is not None, f"no message within {timeout}s"
    return json.loads(data)


def read_to_close(ws: Client, timeout: float = 90) -> tuple[list[dict], int]:
    """Every message until the server closes, and its close code."""
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            data = ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            assert data is not None, f"still open after {timeout}s; got {[m['type'] for m in messages]}"
            messages.append(json.loads(data))
    except ConnectionClosed as closed:
        return messages, close_code(ws, closed)[0]


def subscribers(redis_client, scan_id: str) -> int:
    return dict(redis_client.pubsub_numsub(f"scan:{scan_id}"))[f"scan:{scan_id}".encode()]


# --- pure parts ---------------------------------------------------------------------------------------


def test_key_from_subprotocols():
    assert key_from_subprotocols("bearer, bearer.sk_live_abc") == "sk_live_abc"
    assert key_from_subprotocols(["bearer.sk_test_x"]) == "sk_test_x"
    assert key_from_subprotocols("bearer") is None
    assert key_from_subprotocols("bearer.") is None
    assert key_from_subprotocols(None) is None


def test_finished_means_nothing_more_will_be_published():
    assert is_finished("completed", utcnow(), finalized=True)
    assert is_finished("cancelled", None, finalized=False)  # cancelled while pending: never ran
    assert not is_finished("cancelled", utcnow(), finalized=False)  # its `completed` is still to come
    assert not is_finished("running", utcnow(), finalized=False)


def test_tracker_never_goes_backwards_on_out_of_order_events():
    tracker = ProgressTracker(estimated_resources=None, shards_total=3)
    seen = [
        tracker.observe({"scanned": 10, "shards_done": 0, "violations": {"high": 1}, "percentage": 3.0}),
        tracker.observe({"scanned": 110, "shards_done": 0, "violations": {"high": 2}, "percentage": 30.0}),
        # an older total from another shard, delivered late
        tracker.observe({"scanned": 60, "shards_done": 0, "violations": {"high": 1}, "percentage": 20.0}),
        tracker.observe({"scanned": 110, "shards_done": 1, "violations": {"high": 2}, "percentage": 40.0}),
        tracker.observe({"scanned": 160, "shards_done": 2, "violations": {"high": 3}, "percentage": 100.0}),
    ]
    percentages = [p["percentage"] for p in seen]
    assert percentages == [3.0, 30.0, 30.0, 40.0, 99.0]  # never back, never 100 before the end
    assert [p["scanned"] for p in seen] == [10, 110, 110, 110, 160]
    assert seen[2]["violations"]["high"] == 2 and seen[-1]["total_violations"] == 3
    assert tracker.final({"total_resources": 160, "scanned_resources": 160, "percentage": 100})["percentage"] == 100
    stopped = ProgressTracker(shards_total=2, percentage=50.0)
    assert stopped.final({"total_resources": 10, "scanned_resources": 4, "percentage": 40.0})["percentage"] == 50.0


# --- a real scan ----------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_snapshot_then_events_then_normal_close(server, client, worker, svc, tenant, make_account, moto, redis_client):
    seed_demo_estate(moto, regions=REGIONS)
    with SlowCloud(moto, delay=0.1) as slow:
        make_account(tenant, endpoint_url=slow.url, regions=REGIONS)
        # The demo estate's policies: buckets (one global shard) and security groups (two regions).
        body = scan_body(scan_type="policy_specific", scope={"include_policies": list(DEMO_POLICIES)})
        created = client.post("/v1/scans", json=body, headers=tenant.headers).get_json()
        ws = connect(server, created["id"], tenant.key)
        messages, code = read_to_close(ws)
    assert code == 1000
    final = client.get(f"/v1/scans/{created['id']}", headers=tenant.headers).get_json()
    snapshot, *events, completed = messages

    assert snapshot["type"] == "snapshot" and snapshot["scan_id"] == created["id"]
    assert set(snapshot["scan"]) == set(final)  # the same document as GET /v1/scans/<id>
    assert snapshot["scan"]["status"] == "running"

    finished_shards = {(e["provider"], e["region"]) for e in events if e["type"] == "shard" and e["state"] != "started"}
    assert finished_shards == {("aws", "global"), ("aws", "us-east-1"), ("aws", "eu-west-1")}
    assert {e["state"] for e in events if e["type"] == "shard"} <= {"started", "completed"}

    progress = [e for e in events if e["type"] == "progress"]
    assert len(progress) >= 3
    percentages = [snapshot["scan"]["progress"]["percentage"]] + [p["percentage"] for p in progress]
    assert percentages == sorted(percentages), percentages
    assert all(p < 100 for p in percentages)
    assert [p["scanned"] for p in progress] == sorted(p["scanned"] for p in progress)
    assert progress[-1]["shards_total"] == 3 and progress[-1]["shards_done"] == 3
    assert progress[-1]["violations"] == final["results"]["violation_breakdown"]

    assert completed["type"] == "completed" and completed["status"] == "completed"
    assert completed["progress"] == final["progress"] and final["progress"]["percentage"] == 100
    for name in ("compliance_score", "total_violations", "new_violations", "violation_breakdown"):
        assert completed["results"][name] == final["results"][name]
    assert completed["duration"] == final["duration"]
    wait_until(lambda: subscribers(redis_client, created["id"]) == 0, what="no subscriber left")

    # Connecting after the end: the snapshot of the finished scan, then a normal close.
    late, code = read_to_close(connect(server, created["id"], tenant.key))
    assert code == 1000
    assert [m["type"] for m in late] == ["snapshot"]
    assert late[0]["scan"]["status"] == "completed" and late[0]["scan"]["progress"]["percentage"] == 100


# --- synthetic scans: the test publishes what the workers would ------------------------------------------


def test_events_are_normalised_and_progress_is_monotonic(server, svc, tenant):
    scan_id = make_scan(svc, tenant, shards_total=2, estimated_resources=100)
    progress = ScanProgress(svc.redis, scan_id)
    progress.plan({1: 50, 2: 50})  # the inventory knew both shards: the percentage follows resources
    ws = connect(server, scan_id, tenant.key)
    assert receive(ws)["type"] == "snapshot"

    progress.publish("shard", state="started", shard_id=1, provider="aws", region="us-east-1")
    progress.publish("progress", shard_id=1, **progress.add(1, scanned=40, violations={"high": 2}))
    late = {"scanned": 30, "shards_done": 0, "violations": {"high": 1}, "percentage": 30.0, "basis": "inventory"}
    progress.publish("progress", shard_id=2, **late)  # an older total from the other shard, delivered late
    progress.add(1, scanned=20, violations={"high": 1, "low": 1})
    progress.shard_done(1)
    progress.publish("shard", **progress.totals(), state="failed", shard_id=1, provider="aws", region="us-east-1")
    messages = [receive(ws) for _ in range(5)]
    ws.close()

    assert [m["type"] for m in messages] == ["shard", "progress", "progress", "shard", "progress"]
    assert messages[0] == {**messages[0], "state": "started", "provider": "aws", "region": "us-east-1"}
    _, first, behind, failed, after_shard = messages
    # 40 of the first shard's 50 (credited at most 95%) of 100 expected in all.
    assert (first["scanned"], first["total"], first["percentage"], first["basis"]) == (40, 100, 40.0, "inventory")
    assert (behind["scanned"], behind["percentage"], behind["violations"]["high"]) == (40, 40.0, 2)
    assert failed["state"] == "failed"
    # A finished shard is followed by the scan's counters after it: its half of the work is done.
    assert (after_shard["shards_done"], after_shard["total"], after_shard["percentage"]) == (1, 100, 50.0)
    assert after_shard["violations"] == {"critical": 0, "high": 3, "medium": 0, "low": 1}


def test_a_finished_shard_event_carries_the_totals_and_never_shows_100(server, svc, tenant):
    scan_id = make_scan(svc, tenant, shards_total=2)
    ws = connect(server, scan_id, tenant.key)
    assert receive(ws)["type"] == "snapshot"
    totals = {"scanned": 8, "shards_done": 2, "violations": {"low": 5}, "percentage": 100.0, "basis": "shards"}
    ScanProgress(svc.redis, scan_id).publish(
        "shard", state="completed", shard_id=1, provider="aws", region="global", **totals
    )
    shard, progress = receive(ws), receive(ws)
    ws.close()
    assert shard["state"] == "completed"
    # Every shard is done, but the scan is not finalized: not 100 yet.
    assert (progress["scanned"], progress["shards_done"], progress["percentage"]) == (8, 2, 99.0)
    assert progress["violations"]["low"] == 5


def test_finished_scan_gets_snapshot_and_normal_close(server, svc, tenant):
    results = {"compliance_score": 90.0, "total_violations": 0, "violation_breakdown": NO_VIOLATIONS}
    scan_id = make_scan(svc, tenant, status="completed", completed_at=utcnow(), results=results)
    messages, code = read_to_close(connect(server, scan_id, tenant.key))
    assert code == 1000
    assert [m["type"] for m in messages] == ["snapshot"]
    assert messages[0]["scan"]["results"]["compliance_score"] == 90.0


def test_cancelling_a_pending_scan_ends_the_stream(server, svc, tenant):
    scan_id = make_scan(svc, tenant, status="pending", started=False)
    ws = connect(server, scan_id, tenant.key)
    assert receive(ws)["scan"]["status"] == "pending"
    service.cancel_scan(svc, tenant.id, scan_id)
    messages, code = read_to_close(ws)
    assert code == 1000
    assert [(m["type"], m["status"]) for m in messages] == [("status", "cancelled")]


def test_cancelled_running_scan_streams_until_its_completed_event(server, svc, tenant):
    scan_id = make_scan(svc, tenant)
    ws = connect(server, scan_id, tenant.key)
    assert receive(ws)["type"] == "snapshot"
    service.cancel_scan(svc, tenant.id, scan_id)
    assert receive(ws)["status"] == "cancelled"
    # Shards still stop and report, and finalize publishes the partial results: the stream stays open.
    progress = ScanProgress(svc.redis, scan_id)
    progress.publish("progress", shard_id=1, scanned=3, shards_done=1, violations={})
    assert receive(ws)["scanned"] == 3
    progress.publish("completed", status="cancelled", reason="Cancelled by request", duration="2s", results={})
    messages, code = read_to_close(ws)
    assert code == 1000
    assert [(m["type"], m["status"]) for m in messages] == [("completed", "cancelled")]


def test_a_lost_completed_event_is_caught_by_the_recheck(stream_app, server, svc, tenant, monkeypatch):
    monkeypatch.setitem(stream_app.config, "STREAM_RECHECK_SECONDS", 0.2)
    scan_id = make_scan(svc, tenant)
    ws = connect(server, scan_id, tenant.key)
    assert receive(ws)["scan"]["status"] == "running"
    with svc.db.session() as session:  # finalized, but its event never published
        session.execute(
            update(Scan)
            .where(Scan.id == scan_id)
            .values(status="completed", completed_at=utcnow(), results={"violation_breakdown": NO_VIOLATIONS})
        )
    messages, code = read_to_close(ws)
    assert code == 1000
    assert [(m["type"], m["scan"]["status"]) for m in messages] == [("snapshot", "completed")]


# --- authentication and authorization ----------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "sk_live_" + "0" * 48, "not-a-key"])
def test_bad_key_closes_with_4401(server, svc, tenant, key):
    scan_id = make_scan(svc, tenant)
    messages, code = read_to_close(connect(server, scan_id, key))
    assert (messages, code) == ([], 4401)


def test_key_without_read_scope_closes_with_4403(server, svc, make_tenant):
    tenant = make_tenant(scopes=("write",))
    messages, code = read_to_close(connect(server, make_scan(svc, tenant), tenant.key))
    assert (messages, code) == ([], 4403)


def test_unknown_and_other_tenants_scans_close_with_4404(server, svc, tenant, make_tenant, redis_client):
    other = make_tenant()
    others_scan = make_scan(svc, other)
    for scan_id in ("scan_0000000000000000", others_scan):
        ws = connect(server, scan_id, tenant.key)
        messages, code = read_to_close(ws)
        assert (messages, code) == ([], 4404)
    wait_until(lambda: subscribers(redis_client, others_scan) == 0, what="no subscriber left")


def test_browser_subprotocol_carries_the_key(server, svc, tenant):
    scan_id = make_scan(svc, tenant)
    ws = connect(server, scan_id, subprotocols=["bearer", f"bearer.{tenant.key}"])
    assert ws.subprotocol == "bearer"  # only the name is echoed, never the key
    assert receive(ws)["scan"]["id"] == scan_id
    ws.close()
    bad = connect(server, scan_id, subprotocols=["bearer", "bearer.sk_live_" + "0" * 48])
    assert bad.subprotocol == "bearer"
    assert read_to_close(bad) == ([], 4401)


def test_plain_http_on_the_stream_url_is_an_envelope(stream_app, tenant):
    client = stream_app.test_client()
    assert_envelope(client.get("/v1/scans/scan_x/stream"), 401, "AUTH_001")
    assert_envelope(client.get("/v1/scans/scan_x/stream", headers=tenant.headers), 400, "REQ_400")


def test_server_error_closes_with_1011(server, svc, tenant, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("shared.scans.stream.load_view", broken)
    assert read_to_close(connect(server, make_scan(svc, tenant), tenant.key)) == ([], 1011)


# --- liveness and leaks ---------------------------------------------------------------------------------------


def test_idle_stream_is_pinged(stream_app, server, svc, tenant, monkeypatch):
    options = {**stream_app.config["SOCK_SERVER_OPTIONS"], "ping_interval": 0.2}
    monkeypatch.setitem(stream_app.config, "SOCK_SERVER_OPTIONS", options)
    scan_id = make_scan(svc, tenant)
    host, port = server.removeprefix("http://").split(":")
    conn = WSConnection(ConnectionType.CLIENT)
    # A bare protocol client, because simple_websocket answers pings without telling anyone.
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        headers = [("Authorization", f"Bearer {tenant.key}")]
        sock.sendall(conn.send(Request(host=host, target=f"/v1/scans/{scan_id}/stream", extra_headers=headers)))
        accepted, pings = False, 0
        while pings < 3:
            conn.receive_data(sock.recv(65536))
            for event in conn.events():
                accepted = accepted or isinstance(event, AcceptConnection)
                if isinstance(event, Ping):
                    pings += 1
                    sock.sendall(conn.send(event.response()))
    assert accepted and pings == 3


def test_streams_beyond_the_process_cap_are_told_to_retry(stream_app, server, svc, tenant, monkeypatch):
    slots = stream_app.extensions["policycortex_stream"].slots
    wait_until(lambda: slots.active == 0, what="no stream left from earlier tests")
    monkeypatch.setattr(slots, "limit", 1)
    scan_id = make_scan(svc, tenant)
    first = connect(server, scan_id, tenant.key)
    assert receive(first)["type"] == "snapshot"
    assert read_to_close(connect(server, scan_id, tenant.key)) == ([], 1013)
    first.close()
    wait_until(lambda: slots.active == 0, what="the slot released")
    again = connect(server, scan_id, tenant.key)
    assert receive(again)["type"] == "snapshot"
    again.close()


def test_disconnects_release_subscriptions_and_threads(stream_app, server, svc, tenant, redis_client):
    extension = stream_app.extensions["policycortex_stream"]
    slots, channels = extension.slots, extension.channels
    scan_id = make_scan(svc, tenant)
    progress = ScanProgress(svc.redis, scan_id)
    wait_until(lambda: subscribers(redis_client, scan_id) == 0, what="no subscription left from earlier tests")
    baseline = threading.active_count()
    for batch in range(3):  # 120 connections, 40 open at a time
        clients = [connect(server, scan_id, tenant.key) for _ in range(40)]
        assert all(receive(ws)["type"] == "snapshot" for ws in clients)
        # 40 streams of the process share one subscription: Redis sends each event to the process once.
        assert channels.listeners(scan_id) == 40 and subscribers(redis_client, scan_id) == 1
        progress.publish("progress", shard_id=1, scanned=batch + 1, shards_done=0, violations={})
        assert all(receive(ws)["scanned"] == batch + 1 for ws in clients)
        for index, ws in enumerate(clients):
            if index % 2:
                ws.close()  # a polite close frame
            else:
                ws.sock.shutdown(socket.SHUT_RDWR)  # the network drops: no close frame at all
        wait_until(lambda: channels.listeners(scan_id) == 0, what="every stream left the channel")
        wait_until(lambda: subscribers(redis_client, scan_id) == 0, what="the subscription released")
    # The server's threads end with their streams, and the channels' reader once no stream listens.
    wait_until(lambda: threading.active_count() <= baseline, what=f"thread count back to {baseline}")
    assert slots.active == 0 and slots.peak >= 40


def test_a_failed_subscription_ends_every_stream_with_1011_and_the_next_stream_subscribes_again(
    stream_app, server, svc, tenant, redis_client
):
    channels = stream_app.extensions["policycortex_stream"].channels
    scan_id = make_scan(svc, tenant)
    streams = [connect(server, scan_id, tenant.key) for _ in range(3)]
    assert all(receive(ws)["type"] == "snapshot" for ws in streams)
    # Redis drops the subscription's connection, as a restart would (only this session's: others share Redis).
    db = str(redis_client.connection_pool.connection_kwargs.get("db", 0))
    for client in redis_client.client_list(_type="pubsub"):
        if client["name"] == REDIS_CLIENT_NAME and client["db"] == db:
            redis_client.client_kill_filter(_id=client["id"])
    assert all(read_to_close(ws)[1] == 1011 for ws in streams)
    again = connect(server, scan_id, tenant.key)
    assert receive(again)["type"] == "snapshot"
    ScanProgress(svc.redis, scan_id).publish("progress", shard_id=1, scanned=7, shards_done=0, violations={})
    assert receive(again)["scanned"] == 7
    again.close()
    wait_until(lambda: channels.listeners(scan_id) == 0, what="the stream left the channel")


# --- a tenant's share ---------------------------------------------------------------------------------------


def test_a_tenant_at_its_cap_is_told_to_retry_while_another_tenant_connects(
    stream_app, server, settings, celery_app, svc, make_tenant, monkeypatch
):
    tenants = stream_app.extensions["policycortex_stream"].tenants
    monkeypatch.setattr(tenants, "limit", 2)
    greedy, other = make_tenant(), make_tenant()
    greedy_scan, other_scan = make_scan(svc, greedy), make_scan(svc, other)
    # A second API process (its own app and Redis pool): the cap counts the tenant's streams on both.
    second_app = stream_enabled_app(replace(settings, max_streams_per_tenant=2), celery_app)
    with serve(second_app) as second_server:
        held = [connect(server, greedy_scan, greedy.key), connect(second_server, greedy_scan, greedy.key)]
        assert all(receive(ws)["type"] == "snapshot" for ws in held)
        for url in (server, second_server):
            assert read_to_close(connect(url, greedy_scan, greedy.key)) == ([], 1013)
        others = connect(second_server, other_scan, other.key)
        assert receive(others)["type"] == "snapshot"  # the greedy tenant exhausted only its own share
        others.close()
        held.pop().close()
        wait_until(lambda: tenants.held(greedy.id) == 1, what="the closed stream's lease released")
        again = connect(server, greedy_scan, greedy.key)
        assert receive(again)["type"] == "snapshot"
        for ws in [again, *held]:
            ws.close()
    wait_until(lambda: tenants.held(greedy.id) == 0, what="every lease released")


def test_leases_of_a_dead_process_expire_and_live_ones_are_renewed(redis_client):
    streams = TenantStreams(redis_client, 1, lease_seconds=0.6)
    tenant_id = f"ten_lease_{time.monotonic_ns()}"
    crashed = streams.acquire(tenant_id)
    assert crashed is not None and streams.acquire(tenant_id) is None
    # The process holding it died: nobody renews or releases it, and the slot comes back by itself.
    wait_until(lambda: streams.held(tenant_id) == 0, timeout=10, what="the lease expired")
    alive = streams.acquire(tenant_id)
    assert alive is not None
    until = time.monotonic() + 1.5
    while time.monotonic() < until:  # a running stream keeps its lease well past lease_seconds
        alive.keep()
        time.sleep(0.05)
    assert streams.acquire(tenant_id) is None
    alive.release()
    assert streams.acquire(tenant_id) is not None
