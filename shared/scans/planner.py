"""Expand a scan into shards: one per (cloud account, region), plus one per account for global
services, each listing only the resource types that the scan's policies need."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.catalog import Catalog, catalog_for
from shared.collectors import GLOBAL_REGION, CollectionError, collector_for, is_global, uid_prefix
from shared.context import Services
from shared.models import CloudAccount, Scan, ScanShard
from shared.scans.scope import ResourceScope


@dataclass(frozen=True)
class Plan:
    shard_ids: list[int]
    parallel: bool
    launched: bool = False  # the shards existed already: a redelivered plan must not relaunch them


def _types_by_provider(catalog: Catalog, policy_ids: list[str], scope: ResourceScope) -> dict[str, list[str]]:
    types: dict[str, set[str]] = defaultdict(set)
    for policy_id in policy_ids:
        policy = catalog.policies.get(policy_id)
        if policy and scope.may_contain(uid_prefix(policy.resource_type)):
            types[policy.provider].add(policy.resource_type)
    return {provider: sorted(names) for provider, names in types.items()}


def _shard_base(scan_id: str, account: CloudAccount) -> dict:
    return {
        "scan_id": scan_id,
        "account_id": account.id,
        "provider": account.provider,
        "status": "queued",
        "errors": [],
        "policy_stats": {},
    }


def _account_shards(svc: Services, scan_id: str, account: CloudAccount, types: list[str]) -> list[dict]:
    base = _shard_base(scan_id, account)
    global_types = [t for t in types if is_global(t)]
    regional_types = [t for t in types if not is_global(t)]
    shards = []
    if global_types:
        shards.append({**base, "region": GLOBAL_REGION, "resource_types": global_types})
    if regional_types:
        try:
            regions = collector_for(account, svc).regions()
        except CollectionError as exc:
            # Visible as a failed shard: a region list we could not read is not "no resources".
            exc.region = exc.region or "*"
            return shards + [
                {**base, "region": "*", "resource_types": regional_types, "status": "failed", "errors": [exc.as_dict()]}
            ]
        shards += [{**base, "region": region, "resource_types": regional_types} for region in regions]
    return shards


def plan_scan(svc: Services, scan_id: str) -> Plan | None:
    """Create the scan's shard rows (idempotent) and return them in order; None when the scan is
    no longer running (cancelled before it was planned)."""
    with svc.db.session() as session:
        scan = session.get(Scan, scan_id)
        if scan is None or scan.status != "running":
            return None
        existing = session.scalars(
            select(ScanShard.id).where(ScanShard.scan_id == scan_id).order_by(ScanShard.id)
        ).all()
        parallel = bool(scan.execution.get("parallel_execution", True))
        if existing:
            return Plan(list(existing), parallel, launched=True)
        scope = ResourceScope(scan.scope.get("include_resources", ()), scan.scope.get("exclude_resources", ()))
        types = _types_by_provider(catalog_for(session, scan.tenant_id), scan.policy_ids, scope)
        accounts = session.scalars(
            select(CloudAccount).where(CloudAccount.id.in_(scan.account_ids)).order_by(CloudAccount.created_at)
        ).all()
    rows = []
    for account in accounts:
        if account.collection == "inventory":
            # An uploaded inventory may hold any provider's resources: one shard reads them all.
            pushed_types = sorted(set().union(*types.values())) if types else []
            if pushed_types:
                rows.append({**_shard_base(scan_id, account), "region": GLOBAL_REGION, "resource_types": pushed_types})
        elif types.get(account.provider):
            rows += _account_shards(svc, scan_id, account, types[account.provider])
    with svc.db.session() as session:
        if rows:
            session.execute(insert(ScanShard).values(rows).on_conflict_do_nothing(constraint="uq_scan_shards_unit"))
        shard_ids = session.scalars(
            select(ScanShard.id).where(ScanShard.scan_id == scan_id).order_by(ScanShard.id)
        ).all()
        session.get(Scan, scan_id).shards_total = len(shard_ids)
    return Plan(list(shard_ids), parallel)
