"""Reads of findings at scale: GET /v1/findings (filters, deep keyset pages) and GET
/v1/findings/<id> over 1,000,000 findings of one tenant (plus noise tenants), under a steady load,
by the read-path bench's method (bench/read_load.py): a dedicated database (policycortex_bench_findings)
built by the migrations and seeded with COPY, the real API under gunicorn, N clients on a fixed
schedule, p50/p95/p99 per request variant, and each variant's SQL with EXPLAIN ANALYZE.

    python -m bench.findings_read [--findings 1000000] [--clients 8] [--rate 40] [--seconds 30] [--reuse]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.read_load import (
    copy_lines,
    explain,
    fresh_database,
    report,
    run_load,
    secondary_indexes_dropped,
    text_value,
)
from devkit.devstack import DevStack, say
from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog
from shared.findings.models import finding_id
from shared.platform.crypto import CredentialVault
from shared.platform.db import Database, new_id, utcnow
from shared.platform.settings import Settings
from shared.tenants.apikeys import create_key
from shared.tenants.models import Tenant

DATABASE = "policycortex_bench_findings"
TENANT = "bench-findings"
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
# Resource names as teams write them (team-app-env-n): what a resource glob searches in.
TEAMS = ("payments", "ledger", "search", "identity", "billing", "growth", "mobile", "platform", "data", "risk")
APPS = ("api", "worker", "ingest", "reports", "cache", "web", "events", "export", "audit", "sync", "gateway", "batch")
ENVS = ("prod", "staging", "dev", "sandbox")
# Most findings are fixed in time: a long history is mostly resolved, some open, a few muted.
STATUSES = {"resolved": 0.60, "open": 0.38, "muted": 0.02}
FINDING_COLUMNS = [
    "public_id", "tenant_id", "fingerprint", "account_id", "provider", "region", "resource_type", "resource_uid",
    "resource_name", "policy_id", "severity", "status", "status_extended", "muted_by", "first_seen_at",
    "last_seen_at", "status_changed_at", "resolved_at", "first_scan_id", "last_scan_id",
]  # fmt: skip
EVENT_COLUMNS = ["finding_id", "tenant_id", "status", "reason", "scan_id", "at"]


@dataclass
class Seeded:
    tenant_id: str
    headers: dict[str, str]
    finding: str  # a finding's public id, for the detail view
    account: str


def seed_tenant(raw, db: Database, name: str, findings: int, rng: random.Random) -> tuple[str, dict, str, str]:
    """A tenant whose `findings` spread over 3 accounts, 4 regions and every built-in policy, with
    one status event each (two for resolved ones), and a last scan whose violations name a share of them."""
    policies = sorted(Catalog.builtin().policies.values(), key=lambda p: p.id)
    with db.session() as session:
        tenant = Tenant(name=name, max_concurrent=10, max_queued=50)
        session.add(tenant)
        session.flush()
        _, key = create_key(session, tenant, name="bench")
        accounts = [
            CloudAccount(tenant_id=tenant.id, provider=p, name=f"{p}-prod", environment="production", regions=[])
            for p in ("aws", "azure", "gcp")
        ]
        session.add_all(accounts)
        session.flush()
        account_of = {a.provider: a.id for a in accounts}
    now = utcnow()
    scans = [new_id("scan") for _ in range(50)]
    statuses = rng.choices(list(STATUSES), weights=list(STATUSES.values()), k=findings)

    def finding_lines() -> Iterator[str]:
        for number in range(findings):
            policy = policies[number % len(policies)]
            provider = policy.provider if policy.provider in account_of else "aws"
            account = account_of[provider]
            serial = number // len(policies)
            name = f"{TEAMS[serial % 10]}-{APPS[serial // 10 % 12]}-{ENVS[serial // 120 % 4]}-{serial:05d}"
            uid = f"arn:aws:{policy.resource_type.split('.')[1]}:{REGIONS[number % 4]}:123456789012:{name}"
            fingerprint = hashlib.sha1(f"{policy.id}|{account}|{uid}".encode()).hexdigest()
            first = now - timedelta(days=365 * number / findings)
            seen = first + timedelta(days=3)
            status = statuses[number]
            values = (
                finding_id(fingerprint), tenant.id, fingerprint, account, provider, REGIONS[number % 4],
                policy.resource_type, uid, name, policy.id, policy.severity, status,
                policy.status_extended(True, name=name, id=uid), "mute_bench" if status == "muted" else None, first,
                seen, seen, seen if status == "resolved" else None, scans[number % 50], scans[(number + 7) % 50],
            )  # fmt: skip
            yield "\t".join(map(text_value, values)) + "\n"

    copy_lines(raw, "findings", FINDING_COLUMNS, finding_lines())
    raw.commit()
    with raw.cursor() as cursor:  # one event per finding, a second for resolved ones
        cursor.execute(
            """INSERT INTO finding_events (finding_id, tenant_id, status, reason, scan_id, at)
               SELECT id, tenant_id, 'open', 'First seen by scan ' || first_scan_id, first_scan_id, first_seen_at
               FROM findings WHERE tenant_id = %s
               UNION ALL
               SELECT id, tenant_id, 'resolved', 'Not found by scan ' || last_scan_id, last_scan_id, resolved_at
               FROM findings WHERE tenant_id = %s AND status = 'resolved'""",
            (tenant.id, tenant.id),
        )
    raw.commit()
    sample = rng.randrange(findings)
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT public_id FROM findings WHERE tenant_id = %s ORDER BY id OFFSET %s LIMIT 1", (tenant.id, sample)
        )
        public = cursor.fetchone()[0]
    return tenant.id, {"Authorization": f"Bearer {key}"}, public, account_of["aws"]


def seed(url: str, args) -> Seeded:
    engine, db = fresh_database(url)
    rng = random.Random(20)
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        with secondary_indexes_dropped(raw, ("findings", "finding_events")):
            seeded = seed_tenant(raw, db, TENANT, args.findings, rng)
            for number in range(args.noise_tenants):
                seed_tenant(raw, db, f"bench-findings-noise-{number}", args.findings // 20, rng)
            copied = time.perf_counter() - started
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        totals = conn.execute(
            text("SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM finding_events)")
        ).one()
    say(
        f"seeded {totals[0]:,} findings and {totals[1]:,} events: COPY {copied:.1f} s, "
        f"with indexes and VACUUM ANALYZE {time.perf_counter() - started:.1f} s"
    )
    engine.dispose()
    db.dispose()
    return Seeded(*seeded)


def load_seeded(url: str) -> Seeded:
    db = Database(url)
    with db.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.name == TENANT))
        _, key = create_key(session, tenant, name="bench")
        public, account = session.execute(
            text("SELECT public_id, account_id FROM findings WHERE tenant_id = :t ORDER BY id OFFSET 1000 LIMIT 1"),
            {"t": tenant.id},
        ).one()
    db.dispose()
    return Seeded(tenant.id, {"Authorization": f"Bearer {key}"}, public, account)


def variants(url: str, seeded: Seeded, vault: CredentialVault) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        deep = conn.execute(
            text(
                "SELECT id FROM findings WHERE tenant_id = :t ORDER BY id "
                "OFFSET (SELECT count(*) * 4 / 5 FROM findings WHERE tenant_id = :t) LIMIT 1"
            ),
            {"t": seeded.tenant_id},
        ).scalar()
        policy = conn.execute(
            text("SELECT policy_id FROM findings WHERE tenant_id = :t GROUP BY 1 ORDER BY count(*) LIMIT 1"),
            {"t": seeded.tenant_id},
        ).scalar()
    engine.dispose()
    cursor = "cur_" + vault.encrypt({"findings": seeded.tenant_id, "after": deep}).decode()
    base = "/v1/findings"
    month_ago = (utcnow() - timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z")
    return [
        ("GET /v1/findings", "first page", base),
        ("GET /v1/findings", "limit=500", f"{base}?limit=500"),
        ("GET /v1/findings", "deep cursor", f"{base}?cursor={cursor}"),
        ("GET /v1/findings", "status=open", f"{base}?status=open"),
        ("GET /v1/findings", "status=muted (2%)", f"{base}?status=muted"),
        ("GET /v1/findings", "status=open deep", f"{base}?status=open&cursor={cursor}"),
        ("GET /v1/findings", "severity=critical", f"{base}?severity=critical"),
        ("GET /v1/findings", "policy (rarest)", f"{base}?policy={policy}"),
        ("GET /v1/findings", "account_id", f"{base}?account_id={seeded.account}"),
        ("GET /v1/findings", "region", f"{base}?region=eu-west-1"),
        ("GET /v1/findings", "provider=gcp open", f"{base}?provider=gcp&status=open"),
        ("GET /v1/findings", "framework=hipaa", f"{base}?framework=hipaa"),
        ("GET /v1/findings", "framework+control", f"{base}?framework=cis-aws&control=1.4"),
        ("GET /v1/findings", "first seen in 30 days", f"{base}?first_seen_after={month_ago}"),
        ("GET /v1/findings", "resource glob, 1 in 480", f"{base}?resource=*ledger-audit-staging*"),
        ("GET /v1/findings", "resource glob, 1 in 4", f"{base}?resource=*-prod-*"),
        ("GET /v1/findings/<id>", "detail with history", f"{base}/{seeded.finding}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=1_000_000, help="findings of the measured tenant")
    parser.add_argument("--noise-tenants", type=int, default=4, help="other tenants, a twentieth as many each")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s of all clients; 0: as fast as they can")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    args = parser.parse_args()
    os.environ.setdefault("POLICYCORTEX_SECRET_KEYS", CredentialVault.generate_key())
    os.environ["POLICYCORTEX_RATE_LIMIT"] = "100000000/minute"  # one key's load; its limit is not measured
    url = make_url(Settings.from_env().database_url).set(database=DATABASE).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url  # for the gunicorn processes too
    settings = Settings.from_env()
    seeded = load_seeded(url) if args.reuse else seed(url, args)
    mix = variants(url, seeded, CredentialVault(settings.secret_keys))
    explain(settings, seeded, mix)
    with DevStack(settings) as stack:
        base = stack.start_api()
        run_load(base, seeded, mix, args.clients, 3, args.rate)  # warm-up: connection pools, caches
        latencies = run_load(base, seeded, mix, args.clients, args.seconds, args.rate)
    report(latencies, args.clients, args.seconds, args.rate)
    worst = max(
        (
            sorted(v)[max(0, int(len(v) * 0.99) - 1)]
            for (endpoint, _), v in latencies.items()
            if endpoint == "GET /v1/findings"
        ),
        default=0.0,
    )
    say(f"GET /v1/findings: worst variant p99 {worst * 1000:.1f} ms (target < 50 ms) at {args.findings:,} findings")


if __name__ == "__main__":
    main()
