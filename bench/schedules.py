"""How many enabled schedules one RedBeat beat sustains, and how late their scans are created.

10,000 schedules are mirrored into RedBeat (timing the reconcile), a RedBeat scheduler ticks over
them (timing a tick), then 50 of them are pinned to the next minute and a real beat and worker fire
them: the delay between each fire's due time and its scan's creation is printed (p50, p99, max).

    python -m bench.schedules [--schedules 10000] [--due 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
import types
from datetime import timedelta

import requests
from celery.beat import EmbeddedService
from redbeat import RedBeatScheduler
from redbeat.schedulers import acquire_distributed_beat_lock
from sqlalchemy import delete, insert, select

from devkit.devstack import DevStack, say
from devkit.estates import DEMO_CREDENTIALS
from shared.platform.context import Services
from shared.platform.db import new_id, utcnow
from shared.platform.settings import Settings
from shared.scans.models import Scan
from shared.schedules.models import Schedule
from shared.schedules.redbeat import reconcile, write_entry
from workers.celery_app import create_celery

SCAN_CONFIG = {
    "scan_type": "full",
    "environment": "bench-schedules",
    "cloud_providers": ["aws"],
    "frameworks": [],
    "scope": {"include_policies": ["pol_s3_versioning"], "include_resources": [], "exclude_resources": []},
    "execution": {"immediate": True, "parallel_execution": True, "timeout": None},
    "remediation": {"auto_remediate": False, "dry_run": False, "actions": [], "max_actions": 100},
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=50)
    args = parser.parse_args()
    settings = Settings.from_env()
    celery = create_celery(settings)
    svc: Services = celery.services
    with DevStack(settings) as stack:
        stack.start_worker()
        stack.start_api()
        headers = stack.api_key(f"bench-schedules-{int(time.time())}", max_concurrent=100, max_queued=1000)
        requests.post(
            f"{stack.api_url}/v1/accounts",
            headers=headers,
            timeout=30,
            json={
                "provider": "aws",
                "name": "bench",
                "environment": "bench-schedules",
                "regions": ["us-east-1"],
                "credentials": DEMO_CREDENTIALS,
                "endpoint_url": "http://127.0.0.1:9",
            },
        ).raise_for_status()
        with svc.db.session() as session:
            tenant_id = _tenant_of(session, headers)
            session.execute(delete(Schedule).where(Schedule.name.like("bench %")))  # earlier runs' leftovers
            # Weekly schedules spread over the week, as users create them.
            now = utcnow()
            session.execute(
                insert(Schedule),
                [
                    {
                        "id": new_id("sch"),
                        "tenant_id": tenant_id,
                        "name": f"bench {i}",
                        "description": "",
                        "cron": f"{i % 60} {i % 24} * * {i % 7}",
                        "timezone": "Europe/Berlin",
                        "scan_config": SCAN_CONFIG,
                        "notifications": {},
                        "triggers": {},
                        "enabled": True,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(args.schedules)
                ],
            )
            ids = list(session.scalars(select(Schedule.id).where(Schedule.tenant_id == tenant_id)))
        started = time.perf_counter()
        result = reconcile(svc)
        reconcile_seconds = time.perf_counter() - started

        scheduler = RedBeatScheduler(app=celery, lazy=True)
        scheduler.setup_schedule()
        acquire_distributed_beat_lock(types.SimpleNamespace(scheduler=scheduler))  # what beat does at start
        ticks = []
        for _ in range(20):
            started = time.perf_counter()
            scheduler.tick()
            ticks.append(time.perf_counter() - started)
        scheduler.lock.release()  # for the real beat below

        # Beat runs first (its start-up reconcile is not a fire delay); then 50 schedules are
        # pinned to a minute boundary at least a minute away and beat fires them.
        started = time.perf_counter()
        steady = reconcile(svc)  # what beat does when it starts, with every entry already in place
        steady_seconds = time.perf_counter() - started
        say(f"reconcile with every entry in place: {steady_seconds:.1f} s ({steady})")
        beat = EmbeddedService(celery, thread=True, scheduler_cls="beat.scheduler:Scheduler")
        beat.start()
        try:
            lead = timedelta(seconds=90 + 2 * steady_seconds)  # beat's own start-up reconcile comes first
            boundary = (utcnow() + lead + timedelta(minutes=1)).replace(second=0, microsecond=0)
            due = ids[: args.due]
            for schedule_id in due:
                write_entry(svc, schedule_id, boundary)
            say(f"{len(due)} schedules due at {boundary.isoformat()}; waiting for beat to fire them")
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                with svc.db.session() as session:
                    created = list(session.scalars(select(Scan.created_at).where(Scan.schedule_id.in_(due))))
                if len(created) >= len(due):
                    break
                time.sleep(0.5)
        finally:
            beat.stop()
            beat.join(10)
        delays = [(moment - boundary).total_seconds() for moment in created]
        with svc.db.session() as session:
            session.execute(delete(Schedule).where(Schedule.tenant_id == tenant_id))
        reconcile(svc)

    print()
    print(
        f"Schedules: {len(ids):,} enabled, mirrored into RedBeat by one reconcile in {reconcile_seconds:.1f} s "
        f"({len(ids) / reconcile_seconds:,.0f} schedules/s; {result})"
    )
    print(f"Reconcile with every entry already in place (beat start, then every 5 min): {steady_seconds:.1f} s")
    print(
        f"RedBeat tick over {len(ids):,} entries: median {statistics.median(ticks) * 1000:.1f} ms, "
        f"max {max(ticks) * 1000:.1f} ms (beat wakes at most every 5 s)"
    )
    if delays:
        print(
            f"Fire delay, due time -> scan created, {len(delays)} of {len(due)} due schedules: "
            f"p50 {percentile(delays, 0.5):.2f} s, p99 {percentile(delays, 0.99):.2f} s, max {max(delays):.2f} s"
        )
    else:
        print("No scheduled scan was created: see .run/worker.log")


def _tenant_of(session, headers: dict) -> str:
    from shared.tenants.apikeys import hash_key
    from shared.tenants.models import ApiKey

    key = headers["Authorization"].split()[1]
    return session.scalar(select(ApiKey.tenant_id).where(ApiKey.key_hash == hash_key(key)))


if __name__ == "__main__":
    main()
