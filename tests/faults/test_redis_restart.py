"""Redis restarted mid-scan, losing everything it held (no persistence): queues, unacknowledged
messages, chord counters, progress counters, pub/sub subscriptions and RedBeat entries. PostgreSQL
keeps every result: the scan still ends with exactly what an undisturbed scan finds, a websocket
client is never left hanging, and schedules come back from PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta

import pytest
from simple_websocket import ConnectionClosed
from sqlalchemy import select, update

from shared.scans.models import Scan, ScanShard
from tests.api.test_schedules import create, entry
from tests.api.test_stream import connect, serve
from tests.conftest import wait_for_scan
from tests.faults.conftest import (
    CELERY,
    LONG_REGION,
    REPO,
    SLOW,
    outcome,
    shard_row,
    start_scan,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.e2e


class Listener(threading.Thread):
    """Reads a websocket until the server closes it: every message, then the close code."""

    def __init__(self, ws):
        super().__init__(daemon=True)
        self.ws, self.messages, self.code = ws, [], None

    def run(self) -> None:
        try:
            while True:
                data = self.ws.receive()
                if data is not None:
                    self.messages.append(json.loads(data))
        except ConnectionClosed as closed:
            self.code = closed.reason


def reap_after_its_quiet_period(svc, celery_app, scan_id: str) -> dict:
    """Run `scans-reap` (beat sends it every minute) as it runs once the scan has been quiet for the
    reaper's threshold: the scan's and its shards' clocks are moved back by that much, the way the
    housekeeping tests make time pass, instead of the test waiting minutes."""
    quiet = timedelta(seconds=svc.settings.shard_time_limit + 300 + 60)
    with svc.db.session() as session:
        session.execute(update(Scan).where(Scan.id == scan_id).values(started_at=Scan.started_at - quiet))
        session.execute(
            update(ScanShard)
            .where(ScanShard.scan_id == scan_id)
            .values(started_at=ScanShard.started_at - quiet, completed_at=ScanShard.completed_at - quiet)
        )
    return celery_app.send_task("scans-reap").get(timeout=60)


def statuses(svc, scan_id: str) -> dict[str, str]:
    with svc.db.session() as session:
        rows = session.execute(select(ScanShard.region, ScanShard.status).where(ScanShard.scan_id == scan_id))
        return dict(rows.all())


class Beat:
    """`celery -A workers.main beat` as a real process, started again the way its supervisor would."""

    def __init__(self, settings, log_path):
        self.settings, self.log_path, self.process = settings, log_path, None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [str(CELERY), "-A", "workers.main", "beat", "--loglevel", "INFO"],
                cwd=REPO,
                env=worker_env(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)


def test_a_redis_restart_mid_scan(worker, client, app, svc, celery_app, settings, estate, private_redis, fault_dir):
    tenant = estate.tenant
    schedule = create(client, tenant)
    before = entry(svc, schedule["id"])
    due = svc.redis.zscore(svc.celery.redbeat_conf.schedule_key, before.key)
    beat = Beat(settings, fault_dir / "beat.log")
    beat.start()
    estate.cloud.delay = SLOW
    try:
        with serve(app) as server:
            scan_id = start_scan(client, tenant)
            listener = Listener(connect(server, scan_id, tenant.key))
            listener.start()
            wait_for(lambda: listener.messages, what="the stream's snapshot")
            wait_for(lambda: svc.redis.exists(svc.celery.redbeat_conf.lock_key), timeout=60, what="beat's lock")
            wait_for(
                lambda: (row := shard_row(svc, scan_id, LONG_REGION)) and row.resources_scanned > 0,
                what="the long shard's first pages written",
            )
            # Every shard has been taken by the worker: a shard message still queued in Redis would
            # go with it, and only the reaper's lease check (a minute later) would run it again.
            wait_for(lambda: "queued" not in statuses(svc, scan_id).values(), what="every shard started")
            private_redis.restart()
            assert entry(svc, schedule["id"]) is None  # gone with everything else Redis held

            # A client connecting now gets a fresh snapshot from PostgreSQL, then the events to the end.
            again = Listener(connect(server, scan_id, tenant.key))
            again.start()
            snapshot = wait_for(lambda: again.messages, what="a snapshot after reconnecting")[0]
            assert snapshot["type"] == "snapshot" and snapshot["scan"]["id"] == scan_id

            # Beat finds the lock Redis forgot, takes it again and reconciles PostgreSQL into RedBeat,
            # without a restart (beat.scheduler.Scheduler; stock RedBeat would exit here).
            wait_for(lambda: svc.redis.exists(svc.celery.redbeat_conf.lock_key), timeout=60, what="beat's new lock")
            assert beat.process.poll() is None

            # The shards finish (their writes go to PostgreSQL), but the chord that would run finalize
            # was lost with Redis: the scan waits for the reaper, which finalizes it from PostgreSQL.
            wait_for(lambda: set(statuses(svc, scan_id).values()) == {"completed"}, timeout=60, what="shards done")
            # kombu 5.7 sometimes fails to close a Redis channel that still has unacknowledged messages
            # when the broker goes away (AttributeError in restore_unacked): the worker's main process
            # gives up once its running tasks end, and its supervisor starts it again.
            worker.supervise()
            worker.ready()
            assert client.get(f"/v1/scans/{scan_id}", headers=tenant.headers).get_json()["status"] == "running"
            assert reap_after_its_quiet_period(svc, celery_app, scan_id) == {"resumed": []}
            scan = wait_for_scan(client, tenant, scan_id)
            listener.join(30)
            again.join(30)
            after = wait_for(lambda: entry(svc, schedule["id"]), timeout=60, what="the schedule's RedBeat entry")
    finally:
        beat.stop()

    assert scan["status"] == "completed" and scan["status_reason"] is None
    assert outcome(client, svc, tenant, scan_id) == estate.undisturbed
    # The client connected across the restart was not left hanging: its subscription died with Redis
    # and the stream closed with 1011 and a reason ("reconnect for a fresh snapshot"), or the stream
    # went on and ended normally with the scan. The client connected after the restart saw the end.
    assert listener.code in (1000, 1011)
    for follower in [again] + ([listener] if listener.code == 1000 else []):
        assert follower.code == 1000
        completed = follower.messages[-1]
        assert completed["type"] == "completed" and completed["status"] == "completed"
        assert {name: completed["results"][name] for name in scan["results"]} == scan["results"]
    # The schedule is back as it was: the same next occurrence, due at the same time.
    assert after.task == "schedule-fire" and after.args == before.args
    assert svc.redis.zscore(svc.celery.redbeat_conf.schedule_key, after.key) == pytest.approx(due, abs=2)
