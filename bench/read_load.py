"""Reads as history grows: GET /v1/scans, GET /v1/scans/<id> and GET /v1/scans/<id>/violations
over 10,000 scans and 1,000,000 violations of one tenant (plus noise tenants), under a steady load.

A dedicated database (policycortex_bench_reads) is rebuilt by the migrations and seeded with COPY;
the real API runs under gunicorn; N clients call a mix of list, detail and violation pages (first
and deep keyset pages, with filters) at a steady rate for a fixed time. It prints p50/p95/p99 per
request variant and per endpoint, and, per variant, the SQL statements it runs, its time in process
and EXPLAIN ANALYZE of each query.

    python -m bench.read_load [--scans 10000] [--violations 1000000] [--clients 8] [--rate 40] [--seconds 30]
                              [--reuse]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import random
import re
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import requests
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from bench.api_load import percentile
from devkit.devstack import DevStack, say
from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog
from shared.migrations.commands import upgrade
from shared.platform.crypto import CredentialVault
from shared.platform.db import Database, ensure_database, new_id, utcnow
from shared.platform.settings import Settings
from shared.scans.models import Scan
from shared.tenants.apikeys import create_key
from shared.tenants.models import Tenant

DATABASE = "policycortex_bench_reads"
TENANT = "bench-reads"
ENVIRONMENTS = ("production", "staging", "development")
SCAN_TYPES = ("full", "incremental", "policy_specific")
ENDED = {"completed": 0.92, "failed": 0.03, "cancelled": 0.03, "timed_out": 0.02}


@dataclass
class Seeded:
    tenant_id: str
    headers: dict[str, str]
    big_scan: str  # the scan with the most violations: deep keyset pages
    typical_scan: str
    running_scan: str


def text_value(value) -> str:
    """One field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value)
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class LineStream:
    """A file-like reader over generated lines: COPY streams them while Python makes the next ones,
    so PostgreSQL and the generator work side by side and nothing is held in memory."""

    def __init__(self, lines: Iterator[str]):
        self.lines, self.buffer = lines, ""

    def read(self, size: int = -1) -> str:
        chunks, length = [self.buffer], len(self.buffer)
        for line in self.lines:
            chunks.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        data = "".join(chunks)
        cut = len(data) if size < 0 else size
        self.buffer = data[cut:]
        return data[:cut]

    readline = read


def copy_rows(connection, table: str, rows: Iterable[dict]) -> None:
    """COPY dict rows (all with the same keys) into a table."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    lines = ("\t".join(map(text_value, row.values())) + "\n" for row in itertools.chain([first], rows))
    copy_lines(connection, table, list(first), lines)


def copy_lines(connection, table: str, columns: list[str], lines: Iterator[str]) -> None:
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", LineStream(lines))


@contextmanager
def secondary_indexes_dropped(connection, tables: tuple[str, ...]):
    """A bulk load's usual trick: drop a table's secondary indexes, unique and foreign keys, load,
    then build each again in one pass (checking and maintaining them row by row is ten times slower)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT format('ALTER TABLE %%I ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                             pg_get_constraintdef(c.oid)),
                      format('ALTER TABLE %%I DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname)
               FROM pg_constraint c WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('u', 'f')
               UNION ALL
               SELECT i.indexdef, format('DROP INDEX %%I', i.indexname)
               FROM pg_indexes i WHERE i.tablename = ANY(%s) AND i.schemaname = 'public'
                 AND i.indexname NOT IN (SELECT conname FROM pg_constraint)""",
            (list(tables), list(tables)),
        )
        statements = cursor.fetchall()
        for _, drop in statements:
            cursor.execute(drop)
    connection.commit()  # the drops lock the referenced tables too: release them before loading
    yield
    with connection.cursor() as cursor:
        for create, _ in statements:
            cursor.execute(create)
    connection.commit()


def statuses(rng: random.Random, scans: int) -> list[str]:
    """Oldest first: ended scans, then three waiting in the queue and one running."""
    ended = rng.choices(list(ENDED), weights=list(ENDED.values()), k=scans - 4)
    return [*ended, "pending", "pending", "pending", "running"][-scans:]


def violation_counts(rng: random.Random, states: list[str], violations: int, big: int) -> list[int]:
    """Violations per scan: `big` large scans of 5% of the total each among the latest ones, the
    rest spread at random over the others; pending scans have none."""
    large = violations // 20
    chosen = {len(states) - 10 * (k + 2) for k in range(big)}
    others = [i for i, state in enumerate(states) if state != "pending" and i not in chosen]
    weights = [rng.random() for _ in others]
    rest, total = violations - large * len(chosen), sum(weights)
    counts = dict.fromkeys(range(len(states)), 0) | dict.fromkeys(chosen, large)
    for index, weight in zip(others, weights, strict=True):
        counts[index] = int(rest * weight / total)
    counts[others[0]] += rest - sum(counts[i] for i in others)
    return [counts[i] for i in range(len(states))]


def seed_tenant(raw, db: Database, settings: Settings, name: str, scans: int, violations: int, rng, *, big: int = 0):
    """One tenant with accounts, inventory, scans (ended, a few running and pending), two shards per
    scan and violations whose policies, severities and sentences are the built-in catalogue's."""
    policies = sorted(Catalog.builtin().policies.values(), key=lambda p: p.id)
    with db.session() as session:
        tenant = Tenant(name=name, max_concurrent=10, max_queued=50)
        session.add(tenant)
        session.flush()
        _, key = create_key(session, tenant, name="bench")
        accounts = [
            CloudAccount(tenant_id=tenant.id, provider=p, name=f"{p}-{env}", environment=env, regions=["us-east-1"])
            for env in ENVIRONMENTS
            for p in ("aws", "azure", "gcp")
        ]
        session.add_all(accounts)
        session.flush()
        account_of = {(a.environment, a.provider): a.id for a in accounts}
    resources = 25_000 if big else 2_000  # inventory: the noise tenants are small estates

    def policy_at(i: int, scan_index: int):
        return policies[(i + scan_index) % len(policies)]

    now = utcnow()
    states = statuses(rng, scans)
    counts = violation_counts(rng, states, violations, big)
    scopes = [(env, stype) for env in ENVIRONMENTS for stype in SCAN_TYPES]
    scan_rows, shard_rows, ids = [], [], []
    shard_id = raw.cursor()
    shard_id.execute("SELECT nextval('scan_shards_id_seq') FROM generate_series(1, %s)", (2 * scans,))
    shard_ids = [row[0] for row in shard_id.fetchall()]
    for index in range(scans):
        env, stype = scopes[index % len(scopes)]
        created = now - timedelta(hours=scans - index, minutes=rng.randint(0, 50))
        status = states[index]
        started = created + timedelta(seconds=5) if status != "pending" else None
        ended = created + timedelta(minutes=rng.randint(2, 50)) if status in ENDED else None
        n = counts[index]
        scan_id = new_id("scan")
        ids.append((scan_id, env, n))
        breakdown = dict.fromkeys(("critical", "high", "medium", "low"), 0)
        breakdown.update(Counter(policy_at(i, index).severity for i in range(n)))
        results = (
            {
                "compliance_score": round(rng.uniform(60, 99), 1),
                "previous_score": round(rng.uniform(60, 99), 1),
                "total_violations": n,
                "new_violations": n // 10,
                "resolved_violations": n // 12,
                "violation_breakdown": breakdown,
                "errors": [],
                "carried_forward": 0,
                "remediation": {
                    "auto_remediated": 0,
                    "manual_required": n,
                    "estimated_effort": f"{n * 0.5:.1f}h",
                    "failed_actions": 0,
                },
            }
            if status in ENDED
            else None
        )
        scan_rows.append(
            {
                "id": scan_id,
                "tenant_id": tenant.id,
                "name": f"{env.title()} {stype} scan",
                "scan_type": stype,
                "status": status,
                "status_reason": None,
                "environment": env,
                "cloud_providers": ["aws", "azure"],
                "frameworks": ["soc2", "iso27001"],
                "policy_ids": [p.id for p in policies],
                "account_ids": [account_of[(env, "aws")], account_of[(env, "azure")]],
                "scope": {"include_policies": [], "include_resources": [], "exclude_resources": []},
                "execution": {"immediate": True, "parallel_execution": True, "timeout": None},
                "notifications": {"on_completion": False, "on_critical_findings": False, "channels": []},
                "remediation": {"auto_remediate": False, "dry_run": False, "actions": [], "max_actions": 100},
                "scope_key": hashlib.sha256(f"{tenant.id}|{env}|{stype}".encode()).hexdigest(),
                "trigger": "schedule",
                "created_at": created,
                "started_at": started,
                "completed_at": ended if status != "cancelled" else None,
                "cancelled_at": ended if status == "cancelled" else None,
                "estimated_resources": resources,
                "shards_total": 2,
                "resources_scanned": resources if status in ENDED else resources // 2,
                "total_resources": resources,
                "compliance_score": results["compliance_score"] if results else None,
                "total_violations": n,
                "results": results,
            }
        )
        for offset, provider in enumerate(("aws", "azure")):
            shard_rows.append(
                {
                    "id": shard_ids[2 * index + offset],
                    "scan_id": scan_id,
                    "account_id": account_of[(env, provider)],
                    "provider": provider,
                    "region": "us-east-1" if provider == "aws" else "global",
                    "resource_types": sorted({p.resource_type for p in policies if p.provider == provider}),
                    "status": "completed" if status in ENDED else "running",
                    "attempts": 1,
                    "resources_scanned": resources // 2,
                    "violations_found": n // 2,
                    "policy_stats": {p.id: [200, 20] for p in policies if p.provider == provider},
                    "errors": [],
                    "started_at": started,
                    "completed_at": ended,
                }
            )
    copy_rows(raw, "scans", scan_rows)
    copy_rows(raw, "scan_shards", shard_rows)
    copy_rows(
        raw,
        "resources",
        (
            {
                "tenant_id": tenant.id,
                "account_id": account_of[("production", "aws")],
                "provider": "aws",
                "region": "us-east-1",
                "resource_type": policies[number % len(policies)].resource_type,
                "resource_uid": f"arn:aws:bench:us-east-1:123456789012:res/{number:06d}",
                "name": f"res-{number:06d}",
                "config": {"Name": f"res-{number:06d}", "Tags": [{"Key": "team", "Value": "bench"}]},
                "config_hash": hashlib.sha256(str(number).encode()).hexdigest(),
                "config_changed_at": now,
                "first_seen": now,
                "last_seen": now,
            }
            for number in range(resources)
        ),
    )
    columns = [
        "scan_id", "shard_id", "fingerprint", "policy_id", "severity", "provider", "account_id", "region",
        "resource_type", "resource_uid", "resource_name", "status_extended", "effort_minutes", "is_new", "created_at",
    ]  # fmt: skip

    def violation_lines() -> Iterator[str]:
        for scan_index, (scan_id, env, n) in enumerate(ids):
            base = rng.randrange(resources)
            created = text_value(scan_rows[scan_index]["completed_at"] or scan_rows[scan_index]["created_at"])
            shard = shard_ids[2 * scan_index]
            for i in range(n):
                # Distinct (policy, resource) pairs within a scan, as the unique fingerprint requires.
                number = (base + i * 7919) % resources
                policy = policy_at(i, scan_index)
                account = account_of[(env, policy.provider if policy.provider in ("aws", "azure", "gcp") else "aws")]
                name, uid = f"res-{number:06d}", f"arn:aws:bench:us-east-1:123456789012:res/{number:06d}"
                fingerprint = hashlib.sha1(f"{policy.id}|{account}|{uid}".encode()).hexdigest()
                sentence = text_value(policy.status_extended(True, name=name, id=uid))
                yield (
                    f"{scan_id}\t{shard}\t{fingerprint}\t{policy.id}\t{policy.severity}\t{policy.provider}\t"
                    f"{account}\tus-east-1\t{policy.resource_type}\t{uid}\t{name}\t{sentence}\t"
                    f"{policy.effort_minutes}\t{'t' if i % 10 == 0 else 'f'}\t{created}\n"
                )

    copy_lines(raw, "violations", columns, violation_lines())
    raw.commit()
    by_size = sorted((n, scan_id) for scan_id, _, n in ids)
    return tenant.id, {"Authorization": f"Bearer {key}"}, by_size, ids[-1][0]


def fresh_database(url: str):
    """The bench's own database, emptied and migrated: (engine, Database)."""
    ensure_database(url)
    engine = create_engine(make_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    upgrade(url)
    return engine, Database(url)


def seed(url: str, settings: Settings, args) -> Seeded:
    engine, db = fresh_database(url)
    rng = random.Random(8)
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        with secondary_indexes_dropped(raw, ("violations", "resources")):
            tenant_id, headers, by_size, running = seed_tenant(
                raw, db, settings, TENANT, args.scans, args.violations, rng, big=5
            )
            for number in range(args.noise_tenants):
                seed_tenant(raw, db, settings, f"bench-noise-{number}", 500, 25_000, rng)
            copied = time.perf_counter() - started
    finally:
        raw.close()
    indexed = time.perf_counter() - started - copied
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
        totals = conn.execute(
            text("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in ("scans", "violations", "resources")))
        ).one()
    say(
        f"seeded {totals[0]:,} scans, {totals[1]:,} violations, {totals[2]:,} resources: COPY {copied:.1f} s, "
        f"indexes and keys {indexed:.1f} s, VACUUM ANALYZE {time.perf_counter() - started - copied - indexed:.1f} s"
    )
    engine.dispose()
    db.dispose()
    return Seeded(tenant_id, headers, by_size[-1][1], by_size[len(by_size) // 2][1], running)


def load_seeded(url: str) -> Seeded:
    """The data of an earlier run (--reuse), with a fresh key."""
    db = Database(url)
    with db.session() as session:
        tenant = session.scalar(select(Tenant).where(Tenant.name == TENANT))
        _, key = create_key(session, tenant, name="bench")
        rows = session.execute(
            select(Scan.id, Scan.total_violations, Scan.status)
            .where(Scan.tenant_id == tenant.id)
            .order_by(Scan.total_violations, Scan.id)
        ).all()
    db.dispose()
    running = next(r.id for r in rows if r.status == "running")
    return Seeded(tenant.id, {"Authorization": f"Bearer {key}"}, rows[-1].id, rows[len(rows) // 2].id, running)


def variants(url: str, seeded: Seeded) -> list[tuple[str, str, str]]:
    """(endpoint, variant, path) of the mix every client cycles through."""
    engine = create_engine(url)
    with engine.connect() as conn:

        def deep_cursor(where: str) -> int:
            """The id 80% of the way through the scan's matching violations."""
            return conn.execute(
                text(
                    f"SELECT id FROM violations WHERE {where} ORDER BY id "
                    f"OFFSET (SELECT count(*) * 4 / 5 FROM violations WHERE {where}) LIMIT 1"
                ),
                {"s": seeded.big_scan},
            ).scalar()

        deep = deep_cursor("scan_id = :s")
        deep_high = deep_cursor("scan_id = :s AND severity = 'high'")
        policy = conn.execute(
            text("SELECT policy_id FROM violations WHERE scan_id = :s GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"),
            {"s": seeded.big_scan},
        ).scalar()
        month_ago = conn.execute(text("SELECT to_char(now() - interval '30 days', 'YYYY-MM-DD')")).scalar()
    engine.dispose()
    scans, big, typical = "/v1/scans", f"/v1/scans/{seeded.big_scan}", f"/v1/scans/{seeded.typical_scan}"
    return [
        ("GET /v1/scans", "first page", f"{scans}"),
        ("GET /v1/scans", "limit=100", f"{scans}?limit=100"),
        ("GET /v1/scans", "offset=9000", f"{scans}?limit=20&offset=9000"),
        ("GET /v1/scans", "status=completed", f"{scans}?status=completed"),
        ("GET /v1/scans", "status=failed offset=100", f"{scans}?status=failed&offset=100"),
        ("GET /v1/scans", "environment=staging", f"{scans}?environment=staging"),
        ("GET /v1/scans", "scan_type+environment", f"{scans}?scan_type=incremental&environment=production"),
        ("GET /v1/scans", "created_after 30 days", f"{scans}?created_after={month_ago}T00:00:00Z"),
        ("GET /v1/scans/<id>", "completed", big),
        ("GET /v1/scans/<id>", "running (live counts)", f"/v1/scans/{seeded.running_scan}"),
        ("GET /v1/scans/<id>/violations", "typical scan", f"{typical}/violations"),
        ("GET /v1/scans/<id>/violations", "big scan, first page", f"{big}/violations"),
        ("GET /v1/scans/<id>/violations", "big scan, limit=500", f"{big}/violations?limit=500"),
        ("GET /v1/scans/<id>/violations", "big scan, deep cursor", f"{big}/violations?cursor=vio_{deep}"),
        (
            "GET /v1/scans/<id>/violations",
            "severity=high deep",
            f"{big}/violations?severity=high&cursor=vio_{deep_high}",
        ),
        ("GET /v1/scans/<id>/violations", "policy=", f"{big}/violations?policy={policy}"),
        ("GET /v1/scans/<id>/violations", "framework=hipaa", f"{big}/violations?framework=hipaa"),
        ("GET /v1/scans/<id>/violations", "new=true", f"{big}/violations?new=true"),
        ("GET /v1/scans/<id>/violations", "resource glob", f"{big}/violations?resource=res-0001*"),
    ]


def explain(settings: Settings, seeded: Seeded, mix: list[tuple[str, str, str]]) -> None:
    """Each variant once, in process: its SQL statements, and EXPLAIN ANALYZE of each SELECT."""
    from api.app import create_app

    app = create_app(settings)
    engine = app.extensions["policycortex"].db.engine
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    client = app.test_client()
    print("\nPer request: SQL statements, time in process; EXPLAIN ANALYZE of each query (time, plan):")
    raw = engine.raw_connection()
    try:
        for endpoint, name, path in mix:
            timings, cpu = [], []
            for _ in range(5):
                began, began_cpu = time.perf_counter(), time.process_time()
                client.get(path, headers=seeded.headers)
                timings.append(time.perf_counter() - began)
                cpu.append(time.process_time() - began_cpu)
            seen.clear()
            status = client.get(path, headers=seeded.headers).status_code
            statements = [(s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT") and "api_keys" not in s]
            print(
                f"  {endpoint} [{name}]: HTTP {status}, {len(seen)} statements, "
                f"{statistics.median(timings) * 1000:.1f} ms in process ({statistics.median(cpu) * 1000:.1f} ms of "
                "it the API's own CPU; median of 5, no HTTP)"
            )
            for statement, parameters in statements:
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                    plan = cursor.fetchone()[0][0]
                node, nodes = plan["Plan"], []
                while node:
                    nodes.append(node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else ""))
                    node = (node.get("Plans") or [None])[0]
                summary = " > ".join(nodes)
                table = re.search(r"FROM\s+(\w+)", statement).group(1)
                print(f"      {plan['Execution Time']:7.2f} ms  {table:<12} {summary}")
        raw.rollback()
    finally:
        raw.close()
    app.extensions["policycortex"].db.dispose()


def run_load(
    base: str, seeded: Seeded, mix, clients: int, seconds: float, rate: float
) -> dict[tuple[str, str], list[float]]:
    """`clients` threads cycle through the mix. With a `rate` (requests/s, all clients together)
    each sends on a fixed schedule and latency counts from the scheduled moment, so a slow answer
    also delays the next ones (no coordinated omission); without, each sends as soon as it can."""
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter()
    interval = clients / rate if rate else 0.0

    def client(index: int) -> None:
        session = requests.Session()
        turn, due = index, start + index * interval / clients
        while due < start + seconds and time.perf_counter() < start + seconds:
            endpoint, name, path = mix[turn % len(mix)]
            turn += clients
            time.sleep(max(0.0, due - time.perf_counter()))
            began = due if rate else time.perf_counter()
            response = session.get(f"{base}{path}", headers=seeded.headers, timeout=30)
            elapsed = time.perf_counter() - began
            due += interval
            with lock:
                if response.status_code != 200:
                    errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                latencies[(endpoint, name)].append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, first: {errors[0]}")
    return latencies


def report(latencies: dict[tuple[str, str], list[float]], clients: int, seconds: float, rate: float) -> None:
    def line(label: str, values: list[float]) -> str:
        p50, p95, p99 = (percentile(values, q) * 1000 for q in (0.5, 0.95, 0.99))
        return f"  {label:<58} {len(values):>6}  {p50:7.1f} {p95:7.1f} {p99:7.1f}"

    total = sum(len(v) for v in latencies.values())
    pace = f"a steady {rate:.0f} requests/s" if rate else "as fast as they can"
    print(f"\nLoad: {clients} clients at {pace} for {seconds:.0f} s: {total:,} requests ({total / seconds:.0f}/s)")
    print(f"  {'request':<58} {'count':>6}  {'p50 ms':>7} {'p95':>7} {'p99':>7}")
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    for (endpoint, name), values in sorted(latencies.items()):
        print(line(f"{endpoint} [{name}]", values))
        by_endpoint[endpoint].extend(values)
    print("  per endpoint:")
    for endpoint, values in by_endpoint.items():
        print(line(endpoint, values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scans", type=int, default=10_000, help="scans of the measured tenant")
    parser.add_argument("--violations", type=int, default=1_000_000, help="violations of the measured tenant")
    parser.add_argument("--noise-tenants", type=int, default=4, help="other tenants, 500 scans each")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s of all clients; 0: as fast as they can")
    parser.add_argument("--reuse", action="store_true", help="keep the data of the previous run")
    args = parser.parse_args()
    os.environ.setdefault("POLICYCORTEX_SECRET_KEYS", CredentialVault.generate_key())
    # One key's load; its rate limit is not what is measured here.
    os.environ["POLICYCORTEX_RATE_LIMIT"] = "100000000/minute"
    url = make_url(Settings.from_env().database_url).set(database=DATABASE).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url  # for the gunicorn processes too
    settings = Settings.from_env()
    seeded = load_seeded(url) if args.reuse else seed(url, settings, args)
    mix = variants(url, seeded)
    explain(settings, seeded, mix)
    with DevStack(settings) as stack:
        base = stack.start_api()
        run_load(base, seeded, mix, args.clients, 3, args.rate)  # warm-up: connection pools, caches
        latencies = run_load(base, seeded, mix, args.clients, args.seconds, args.rate)
    report(latencies, args.clients, args.seconds, args.rate)


if __name__ == "__main__":
    main()
