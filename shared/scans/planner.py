"""Expand a scan into shards: one per (cloud account, region), plus one per account and global
service (IAM, S3, ...), each listing only the resource types that the scan's policies need. An (account, region)
whose inventory holds more than POLICYCORTEX_SHARD_MAX_RESOURCES resources is split into several
shards (parts) by groups of resource types, so one huge region does not hold up the whole scan."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from shared.accounts.models import CloudAccount
from shared.catalog.service import Catalog, catalog_for
from shared.inventory.collectors.base import GLOBAL_REGION, CollectionError
from shared.inventory.collectors.providers import collector_for, is_global, service_of, uid_prefix
from shared.inventory.models import Resource
from shared.platform.context import Services
from shared.scans.models import Scan, ScanShard
from shared.scans.progress import ScanProgress
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
        "part": 0,
        "status": "queued",
        "errors": [],
        "policy_stats": {},
    }


def type_groups(types: list[str], sizes: dict[str, int], limit: int) -> list[list[str]]:
    """The resource types of one (account, region) in groups of at most `limit` resources each, by
    first-fit over the largest types first; a type larger than `limit` is a group of its own. One
    group when everything fits (or `limit` is 0); groups in a stable order, types sorted in each."""
    if not limit or sum(sizes.get(t, 0) for t in types) <= limit:
        return [sorted(types)]
    groups: list[tuple[int, list[str]]] = []
    for name in sorted(types, key=lambda t: (-sizes.get(t, 0), t)):
        size = sizes.get(name, 0)
        for index, (used, members) in enumerate(groups):
            if used + size <= limit:
                groups[index] = (used + size, [*members, name])
                break
        else:
            groups.append((size, [name]))
    return sorted(sorted(members) for _, members in groups)


class InventorySizes:
    """How many resources of each type the last scans saw per account and region: the estimate
    by which a large (account, region) is split into several shards."""

    def __init__(self, session, account_ids: list[str]):
        self.counts: dict[tuple[str, str, str], int] = {}
        if account_ids:
            rows = session.execute(
                select(Resource.account_id, Resource.resource_type, Resource.region, func.count())
                .where(Resource.account_id.in_(account_ids))
                .group_by(Resource.account_id, Resource.resource_type, Resource.region)
            )
            self.counts = {(account, kind, region): count for account, kind, region, count in rows}

    def listed(self, account_id: str) -> bool:
        """Whether the account has an inventory at all (a first scan's shards expect nothing known)."""
        return any(account == account_id for account, _, _ in self.counts)

    def of(self, account_id: str, region: str) -> dict[str, int]:
        """Resources per type in one shard's unit: a global shard holds its types in every region."""
        sizes: dict[str, int] = defaultdict(int)
        for (account, kind, where), count in self.counts.items():
            if account == account_id and (region == GLOBAL_REGION or where == region):
                sizes[kind] += count
        return sizes


def _unit_shards(
    base: dict, region: str, types: list[str], sizes: InventorySizes, limit: int, first_part: int = 0
) -> list[dict]:
    unit = sizes.of(base["account_id"], region)
    known = sizes.listed(base["account_id"])
    return [
        {
            **base,
            "region": region,
            "part": part,
            "resource_types": group,
            # What the last inventory holds of these types here: the weight of the shard's progress.
            "expected_resources": sum(unit.get(t, 0) for t in group) if known else None,
        }
        for part, group in enumerate(type_groups(types, unit, limit), start=first_part)
    ]


def _global_shards(base: dict, types: list[str], sizes: InventorySizes, limit: int) -> list[dict]:
    """Global services (IAM, S3, CloudFront, ...) get a shard each, so the slowest of them, not
    their sum, bounds the scan; each is split further by size like a region."""
    by_service: dict[str, list[str]] = defaultdict(list)
    for name in types:
        by_service[service_of(name) or ""].append(name)
    shards: list[dict] = []
    for service in sorted(by_service):
        shards += _unit_shards(base, GLOBAL_REGION, by_service[service], sizes, limit, first_part=len(shards))
    return shards


def _account_shards(
    svc: Services, scan_id: str, account: CloudAccount, types: list[str], sizes: InventorySizes
) -> list[dict]:
    base = _shard_base(scan_id, account)
    limit = svc.settings.shard_max_resources
    global_types = [t for t in types if is_global(t)]
    regional_types = [t for t in types if not is_global(t)]
    shards = []
    if global_types:
        shards += _global_shards(base, global_types, sizes, limit)
    if regional_types:
        try:
            regions = collector_for(account, svc).regions()
        except CollectionError as exc:
            # Visible as a failed shard: a region list we could not read is not "no resources".
            exc.region = exc.region or "*"
            return shards + [
                {**base, "region": "*", "resource_types": regional_types, "status": "failed", "errors": [exc.as_dict()]}
            ]
        for region in regions:
            shards += _unit_shards(base, region, regional_types, sizes, limit)
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
        sizes = InventorySizes(session, [a.id for a in accounts if a.collection != "inventory"])
        uploaded = [a.id for a in accounts if a.collection == "inventory"]
        counted = select(Resource.account_id, func.count()).where(Resource.account_id.in_(uploaded))
        pushed = dict.fromkeys(uploaded, 0) | dict(session.execute(counted.group_by(Resource.account_id)).all())
    rows = []
    for account in accounts:
        if account.collection == "inventory":
            # An uploaded inventory may hold any provider's resources: one shard reads them all.
            pushed_types = sorted(set().union(*types.values())) if types else []
            if pushed_types:
                rows.append(
                    {
                        **_shard_base(scan_id, account),
                        "region": GLOBAL_REGION,
                        "resource_types": pushed_types,
                        "expected_resources": pushed[account.id],
                    }
                )
        elif types.get(account.provider):
            rows += _account_shards(svc, scan_id, account, types[account.provider], sizes)
    with svc.db.session() as session:
        # Under the scan's lock, so two deliveries of one plan cannot both insert (they might split
        # differently if the inventory changed between them); the unique key backs this up.
        scan = session.get(Scan, scan_id, with_for_update=True)
        existing = session.scalars(select(ScanShard.id).where(ScanShard.scan_id == scan_id)).all()
        if rows and not existing:
            session.execute(insert(ScanShard).values(rows).on_conflict_do_nothing(constraint="uq_scan_shards_unit"))
        planned = session.execute(
            select(ScanShard.id, ScanShard.expected_resources)
            .where(ScanShard.scan_id == scan_id)
            .order_by(ScanShard.id)
        ).all()
        shard_ids = [shard_id for shard_id, _ in planned]
        scan.shards_total = len(shard_ids)
    ScanProgress(svc.redis, scan_id).plan(dict(planned))
    return Plan(list(shard_ids), parallel, launched=bool(existing))
