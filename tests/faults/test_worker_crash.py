"""A worker process killed (SIGKILL) in the middle of a shard: the shard runs again and the scan ends
with exactly what an undisturbed scan of the same estate finds; a shard that kills its worker every
time fails after the capped attempts, with its reason, and the scan still ends."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import wait_for_scan
from tests.faults.conftest import LONG_REGION, SLOW, outcome, shard_row, start_scan, wait_for

pytestmark = pytest.mark.e2e


def kill_child_running(worker, scan_id: str, shard_id: int) -> int:
    """SIGKILL the worker child that runs the shard, and wait until the worker has replaced it."""
    pid = wait_for(lambda: worker.pid_running("scan-shard", [scan_id, shard_id]), what="the shard's worker child")
    assert pid in worker.children()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: pid not in worker.children() and len(worker.children()) == 2, what="a replacement child")
    return pid


def test_a_killed_shard_runs_again_and_the_scan_finds_exactly_the_same(worker, client, svc, estate):
    estate.cloud.delay = SLOW  # slowly enough to kill a shard half-way through its pages
    scan_id = start_scan(client, estate.tenant)
    shard = wait_for(
        lambda: (row := shard_row(svc, scan_id, LONG_REGION)) and row.resources_scanned > 0 and row,
        what="the long shard's first pages written",
    )
    assert shard.status == "running" and shard.attempts == 1
    kill_child_running(worker, scan_id, shard.id)
    scanned_when_killed = shard_row(svc, scan_id, LONG_REGION).resources_scanned
    scan = wait_for_scan(client, estate.tenant, scan_id)

    assert scan["status"] == "completed" and scan["status_reason"] is None
    assert outcome(client, svc, estate.tenant, scan_id) == estate.undisturbed
    rerun = shard_row(svc, scan_id, LONG_REGION)
    assert rerun.attempts == 2  # it really ran twice: killed once, then to the end
    assert 0 < scanned_when_killed < rerun.resources_scanned  # killed mid-listing, after some pages


def test_a_shard_that_kills_its_worker_every_time_fails_after_the_capped_attempts(
    worker, client, svc, settings, estate
):
    estate.cloud.delay = SLOW
    scan_id = start_scan(client, estate.tenant)
    for attempt in range(1, settings.max_shard_attempts + 1):
        shard = wait_for(
            lambda n=attempt: (
                (row := shard_row(svc, scan_id, LONG_REGION)) and row.status == "running" and row.attempts == n and row
            ),
            what=f"attempt {attempt} of the poison shard",
        )
        kill_child_running(worker, scan_id, shard.id)
    scan = wait_for_scan(client, estate.tenant, scan_id)

    poison = shard_row(svc, scan_id, LONG_REGION)
    assert poison.status == "failed" and poison.attempts == settings.max_shard_attempts
    gave_up = {
        "code": "TooManyAttempts",
        "message": f"gave up after {settings.max_shard_attempts} attempts",
        "resource_type": None,
        "region": LONG_REGION,
    }
    assert poison.errors == [gave_up]
    # The scan ended, with the poison shard's reason in its results and the other shards' findings.
    assert scan["status"] == "completed"
    assert scan["status_reason"] == "Completed with errors in 1 of 3 shards; see results.errors"
    assert scan["results"]["errors"] == [gave_up]
    shards = outcome(client, svc, estate.tenant, scan_id)["shards"]
    healthy = {region: shards[region] for region in ("global", "us-east-1")}
    assert healthy == {region: estate.undisturbed["shards"][region] for region in healthy}
    assert scan["results"]["total_violations"] == sum(shard["violations"] for shard in healthy.values()) > 0


def test_a_whole_worker_killed_mid_scan_is_resumed_within_minutes(worker, client, svc, celery_app, estate, capsys):
    """The worker's main process and its children die together (a host lost, an OOM kill of the
    container): no task of it comes back before the broker's visibility timeout. The running shard's
    lease lapses instead, and housekeeping (scans-reap, every 30 s from beat) relaunches it once a
    worker is there again; the scan then finds exactly what an undisturbed scan finds."""
    estate.cloud.delay = SLOW
    scan_id = start_scan(client, estate.tenant)
    wait_for(
        lambda: (row := shard_row(svc, scan_id, LONG_REGION)) and row.resources_scanned > 0,
        what="the long shard's first pages written",
    )
    worker.stop()  # SIGKILL to the worker's whole process group
    worker.start().ready()
    available = time.monotonic()
    last_reap = None
    while (scan := client.get(f"/v1/scans/{scan_id}", headers=estate.tenant.headers).get_json())["status"] == "running":
        assert time.monotonic() - available < 300, "the scan was not resumed"
        if last_reap is None or time.monotonic() - last_reap >= 30:  # what beat's scans-reap entry does
            celery_app.send_task("scans-reap")
            last_reap = time.monotonic()
        time.sleep(0.5)
    recovered = time.monotonic() - available
    with capsys.disabled():
        print(f"\n[recovery] scan completed {recovered:.0f} s after a worker was available again")
    assert scan["status"] == "completed"
    assert outcome(client, svc, estate.tenant, scan_id) == estate.undisturbed
    assert shard_row(svc, scan_id, LONG_REGION).attempts == 2
