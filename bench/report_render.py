"""Scan reports of large scans: time, throughput and memory of each format (json, csv, ocsf, html),
rendered through shared.reports exactly as GET /v1/scans/<id>/report streams them.

A dedicated database (policycortex_bench_reports) is rebuilt by the migrations; two completed scans
of one tenant are seeded with COPY, a small one and one ten times larger, with violations whose
policies, severities and sentences are the built-in catalogue's. Each report is consumed chunk by
chunk as a client would; a second pass under tracemalloc gives the peak Python heap, which should
not grow with the scan (the violations come through one server-side cursor).

    python -m bench.report_render [--violations 200000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
import tracemalloc
from collections import Counter

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.read_load import copy_rows
from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog
from shared.migrations.commands import upgrade
from shared.platform.context import Services
from shared.platform.crypto import CredentialVault
from shared.platform.db import ensure_database, utcnow
from shared.platform.durations import format_effort
from shared.platform.settings import Settings
from shared.reports.service import FORMATS, render_report
from shared.scans.models import Scan, ScanShard
from shared.tenants.models import Tenant

DATABASE = "policycortex_bench_reports"
FRAMEWORKS = ["soc2", "hipaa", "iso27001"]


def seed_scan(svc: Services, tenant_id: str, account_id: str, violations: int, rng: random.Random) -> str:
    """A completed AWS scan with `violations` violations over the built-in AWS policies."""
    catalog = Catalog.builtin()
    policies = sorted((p for p in catalog.policies.values() if p.provider == "aws"), key=lambda p: p.id)
    chosen = [policies[i % len(policies)] for i in range(violations)]
    breakdown = dict.fromkeys(("critical", "high", "medium", "low"), 0) | Counter(p.severity for p in chosen)
    failed = Counter(p.id for p in chosen)
    now = utcnow()
    with svc.db.session() as session:
        scan = Scan(
            tenant_id=tenant_id,
            name=f"bench report {violations}",
            scan_type="full",
            status="completed",
            environment="production",
            cloud_providers=["aws"],
            frameworks=FRAMEWORKS,
            policy_ids=[p.id for p in policies],
            account_ids=[account_id],
            scope={"include_policies": [], "include_resources": [], "exclude_resources": []},
            execution={"immediate": True, "parallel_execution": True, "timeout": None},
            notifications={"on_completion": False, "on_failure": False, "channels": []},
            scope_key=f"bench-{violations}",
            created_at=now,
            started_at=now,
            completed_at=now,
            resources_scanned=violations * 2,
            total_resources=violations * 2,
            compliance_score=50.0,
            total_violations=violations,
            results={
                "compliance_score": 50.0,
                "previous_score": None,
                "total_violations": violations,
                "new_violations": violations,
                "resolved_violations": 0,
                "violation_breakdown": breakdown,
                "errors": [],
                "carried_forward": 0,
                "remediation": {
                    "auto_remediated": 0,
                    "manual_required": violations,
                    "estimated_effort": format_effort(sum(p.effort_minutes for p in chosen)),
                    "failed_actions": 0,
                },
            },
        )
        session.add(scan)
        session.flush()
        shard = ScanShard(
            scan_id=scan.id,
            account_id=account_id,
            provider="aws",
            region="us-east-1",
            resource_types=[],
            status="completed",
            resources_scanned=violations * 2,
            violations_found=violations,
            policy_stats={p.id: [2 * failed[p.id] + 1, failed[p.id]] for p in policies},
        )
        session.add(shard)
        session.flush()
        scan_id, shard_id = scan.id, shard.id

    def rows():
        for index, policy in enumerate(chosen):
            name = f"bench-bucket-{index:07d}"
            uid = f"arn:aws:s3:::{name}"
            yield {
                "scan_id": scan_id,
                "shard_id": shard_id,
                "fingerprint": hashlib.sha1(f"{policy.id}|{account_id}|{uid}".encode()).hexdigest(),
                "policy_id": policy.id,
                "severity": policy.severity,
                "provider": "aws",
                "account_id": account_id,
                "region": rng.choice(("us-east-1", "eu-west-1")),
                "resource_type": policy.resource_type,
                "resource_uid": uid,
                "resource_name": name,
                "status_extended": policy.status_extended(True, name=name, id=uid, region="us-east-1"),
                "effort_minutes": policy.effort_minutes,
                "is_new": True,
                "created_at": now,
            }

    raw = svc.db.engine.raw_connection()
    try:
        copy_rows(raw.driver_connection, "violations", rows())
        raw.driver_connection.commit()
    finally:
        raw.close()
    return scan_id


def consume(svc: Services, tenant_id: str, scan_id: str, fmt: str) -> tuple[float, float, int]:
    """Seconds to the first chunk and to the last, and bytes, as a client reading the stream."""
    started = time.perf_counter()
    report = render_report(svc, tenant_id, scan_id, fmt, base_url="http://bench.invalid")
    first, size = None, 0
    for chunk in report.chunks:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk.encode())
    return first or 0.0, time.perf_counter() - started, size


def peak_heap(svc: Services, tenant_id: str, scan_id: str, fmt: str) -> int:
    tracemalloc.start()
    try:
        for _ in render_report(svc, tenant_id, scan_id, fmt, base_url="http://bench.invalid").chunks:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--violations", type=int, default=200_000, help="violations of the large scan")
    args = parser.parse_args()
    url = make_url("postgresql+psycopg2://postgres@127.0.0.1:5432/x").set(database=DATABASE)
    url = url.render_as_string(hide_password=False)
    ensure_database(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    upgrade(url)
    settings = Settings(database_url=url, secret_keys=(CredentialVault.generate_key(),))
    svc = Services(settings)
    rng = random.Random(7)
    with svc.db.session() as session:
        tenant = Tenant(name="bench-reports", max_concurrent=10, max_queued=50)
        session.add(tenant)
        session.flush()
        account = CloudAccount(
            tenant_id=tenant.id, provider="aws", name="bench-aws", environment="production", regions=["us-east-1"]
        )
        session.add(account)
        session.flush()
        tenant_id, account_id = tenant.id, account.id
    sizes = (args.violations // 10, args.violations)
    seeding = time.perf_counter()
    scans = {size: seed_scan(svc, tenant_id, account_id, size, rng) for size in sizes}
    print(f"seeded scans of {sizes[0]:,} and {sizes[1]:,} violations in {time.perf_counter() - seeding:.1f}s\n")

    print(f"{'format':<7}{'violations':>11}{'first chunk':>13}{'total':>9}{'rows/s':>10}{'size':>10}{'MB/s':>7}"
          f"{'peak heap':>11}")  # fmt: skip
    peaks: dict[str, list[int]] = {}
    for fmt in FORMATS:
        for size, scan_id in scans.items():
            first, total, size_bytes = consume(svc, tenant_id, scan_id, fmt)
            peak = peak_heap(svc, tenant_id, scan_id, fmt)
            peaks.setdefault(fmt, []).append(peak)
            print(
                f"{fmt:<7}{size:>11,}{first * 1000:>11.0f}ms{total:>8.2f}s{size / total:>10,.0f}"
                f"{size_bytes / 1e6:>8.1f}MB{size_bytes / 1e6 / total:>7.1f}{peak / 1e6:>9.1f}MB"
            )
    print("\npeak heap, large scan / small scan (1.0 = flat memory; the scan is 10x larger):")
    for fmt, (small, large) in peaks.items():
        print(f"  {fmt:<6}{large / small:.2f}")
    svc.db.engine.dispose()


if __name__ == "__main__":
    main()
