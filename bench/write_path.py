"""The scan's write path against a bare COPY: N resources and N violations written page by page as
a shard writes them (staging COPY, then INSERT ... ON CONFLICT into the real tables), and the same
rows COPYed straight into tables of the same shape (same columns, indexes and defaults, no
conflict handling). Prints both rates and their ratio (the goal is at least 0.5).

    python -m bench.write_path [--rows 200000] [--page 1000]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

from shared.accounts.models import CloudAccount
from shared.inventory.collectors.base import CollectedResource
from shared.inventory.resources import upsert_resources
from shared.platform.bulk import copy_text
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.settings import Settings
from shared.scans.models import Scan
from shared.scans.runner import fingerprint, insert_violations
from shared.tenants.service import create_tenant

RESOURCE_COLUMNS = (
    "tenant_id",
    "account_id",
    "provider",
    "region",
    "resource_type",
    "resource_uid",
    "name",
    "config",
    "config_hash",
    "config_changed_at",
    "first_seen",
    "last_seen",
    "last_scan_id",
)
VIOLATION_COLUMNS = (
    "scan_id",
    "shard_id",
    "fingerprint",
    "policy_id",
    "severity",
    "provider",
    "account_id",
    "region",
    "resource_type",
    "resource_uid",
    "resource_name",
    "status_extended",
    "effort_minutes",
    "created_at",
)


def make_resources(count: int, subscription: str) -> list[CollectedResource]:
    """Storage accounts shaped as Resource Graph returns them (about 700 bytes of JSON each)."""
    resources = []
    for index in range(count):
        group = f"/subscriptions/{subscription}/resourceGroups/rg-bench"
        uid = f"{group}/providers/Microsoft.Storage/storageAccounts/st{index:07d}"
        document = {
            "id": uid,
            "name": f"st{index:07d}",
            "type": "microsoft.storage/storageaccounts",
            "location": ("westeurope", "eastus", "southeastasia")[index % 3],
            "resourceGroup": "rg-bench",
            "subscriptionId": subscription,
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "tags": {"env": "bench", "owner": f"team-{index % 17}"},
            "properties": {
                "supportsHttpsTrafficOnly": index % 4 != 0,
                "minimumTlsVersion": "TLS1_2",
                "allowBlobPublicAccess": False,
                "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": []},
                "encryption": {"keySource": "Microsoft.Storage", "services": {"blob": {"enabled": True}}},
                "primaryEndpoints": {"blob": f"https://st{index:07d}.blob.core.windows.net/"},
                "provisioningState": "Succeeded",
            },
        }
        resources.append(
            CollectedResource(
                uid=uid,
                id=uid,
                name=document["name"],
                resource_type="azure.storage.account",
                region=document["location"],
                document=document,
                volatile=("properties.provisioningState",),
            )
        )
    return resources


def make_violations(resources: list[CollectedResource], account_id: str) -> list[dict]:
    return [
        {
            "fingerprint": fingerprint("pol_azure_storage_secure_transfer", account_id, r.uid),
            "policy_id": "pol_azure_storage_secure_transfer",
            "severity": "high",
            "provider": "azure",
            "region": r.region,
            "resource_type": r.resource_type,
            "resource_uid": r.uid,
            "resource_name": r.name,
            "status_extended": f"Storage account {r.name} accepts unencrypted HTTP traffic.",
            "effort_minutes": 15,
        }
        for r in resources
    ]


def timed_pages(svc: Services, rows: list, page: int, write: Callable) -> float:
    """Seconds to write `rows` in pages, one transaction per page, as a shard does."""
    started = time.perf_counter()
    for first in range(0, len(rows), page):
        with svc.db.session() as session:
            write(session, rows[first : first + page])
    return time.perf_counter() - started


def bare_copy(table: str, columns: tuple[str, ...], to_row: Callable) -> Callable:
    def write(session, chunk: list) -> None:
        cursor = session.connection().connection.cursor()
        cursor.copy_expert(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(copy_text(map(to_row, chunk)))
        )
        cursor.close()

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="resources, and as many violations")
    parser.add_argument("--page", type=int, default=1000, help="rows per transaction, as a shard's page")
    args = parser.parse_args()
    settings = Settings.from_env()
    svc = Services(settings)
    with svc.db.session() as session:
        tenant = create_tenant(session, settings, f"write-bench-{int(time.time())}")
        account = CloudAccount(tenant_id=tenant.id, provider="azure", name="write-bench", environment="bench")
        session.add(account)
        session.flush()
        scan = Scan(
            tenant_id=tenant.id,
            name="write bench",
            scan_type="full",
            status="running",
            environment="bench",
            cloud_providers=["azure"],
            frameworks=[],
            policy_ids=[],
            account_ids=[account.id],
            scope={},
            execution={},
            notifications={},
            scope_key="write-bench",
        )
        session.add(scan)
        session.flush()
        tenant_id, account_id, scan_id = tenant.id, account.id, scan.id
    resources = make_resources(args.rows, "5c1d0e2f-0000-4000-8000-0000000000ff")
    started = time.perf_counter()
    for resource in resources:
        resource.config_hash  # noqa: B018 - cached: both sides below write the same hash, neither computes it
    hashing = time.perf_counter() - started
    violations = make_violations(resources, account_id)
    now = utcnow()

    def ours_resources(session, chunk):
        upsert_resources(session, tenant_id, account_id, chunk, now, scan_id)

    def ours_violations(session, chunk):
        insert_violations(session, scan_id, 1, account_id, chunk)

    def resource_row(r: CollectedResource) -> tuple:
        listed = (r.provider, r.region, r.resource_type, r.uid, r.name, r.document, r.config_hash)
        return (tenant_id, account_id, *listed, now, now, now, scan_id)

    def violation_row(v: dict) -> tuple:
        return tuple(
            {**v, "scan_id": scan_id, "shard_id": 1, "account_id": account_id, "created_at": now}[c]
            for c in VIOLATION_COLUMNS
        )

    with svc.db.session() as session:
        for name in ("resources", "violations"):
            session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS write_bench_{name}")
            session.connection().exec_driver_sql(f"CREATE TABLE write_bench_{name} (LIKE {name} INCLUDING ALL)")
    try:
        bare_resources = bare_copy("write_bench_resources", RESOURCE_COLUMNS, resource_row)
        bare_violations = bare_copy("write_bench_violations", VIOLATION_COLUMNS, violation_row)
        figures = [
            (
                "resources, first scan",
                timed_pages(svc, resources, args.page, ours_resources),
                timed_pages(svc, resources, args.page, bare_resources),
            ),
            ("resources, rescan", timed_pages(svc, resources, args.page, ours_resources), None),
            (
                "violations",
                timed_pages(svc, violations, args.page, ours_violations),
                timed_pages(svc, violations, args.page, bare_violations),
            ),
        ]
    finally:
        with svc.db.session() as session:
            for name in ("resources", "violations"):
                session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS write_bench_{name}")
            session.connection().exec_driver_sql("DELETE FROM tenants WHERE id = %s", (tenant_id,))
        svc.db.dispose()
    print()
    print(f"Write path: {args.rows} rows in pages of {args.page}, one transaction per page")
    print(f"(documents hashed beforehand for both, {args.rows / hashing:,.0f} res/s; not in the rates below)")
    print(f"{'rows':<24}{'ours rows/s':>13}{'bare COPY rows/s':>18}{'ratio':>8}")
    for label, ours, bare in figures:
        bare_rate, ratio = (f"{args.rows / bare:>18,.0f}", f"{bare / ours:>8.2f}") if bare else (f"{'-':>18}", "")
        print(f"{label:<24}{args.rows / ours:>13,.0f}{bare_rate}{ratio}")
    print("(a rescan updates every row in place: COPY has no equivalent)")


if __name__ == "__main__":
    main()
