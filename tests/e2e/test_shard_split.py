"""Shard splitting: an (account, region) whose inventory outgrew POLICYCORTEX_SHARD_MAX_RESOURCES runs
as several shards by resource type groups, finds exactly what one shard finds, and plans idempotently."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devkit.estates import SCALE_AZURE_SUBSCRIPTIONS, SCALE_GCP_PROJECTS, SCALE_POLICIES, scale_estate
from devkit.fakes.azure import FakeAzure
from devkit.fakes.gcp import FakeAssetInventory
from shared.inventory.collectors.base import CollectedResource
from shared.inventory.resources import upsert_resources
from shared.platform.db import utcnow
from shared.platform.settings import Settings
from shared.scans.models import Scan, ScanShard, Violation
from shared.scans.planner import InventorySizes, plan_scan, type_groups
from shared.scans.runner import VIOLATION_STAGE, insert_violations, run_shard
from tests.conftest import scan_body, wait_for_scan

pytestmark = pytest.mark.e2e


def test_type_groups_pack_types_under_the_limit_and_keep_a_large_type_alone():
    sizes = {"a": 700, "b": 300, "c": 250, "d": 50, "e": 0}
    assert type_groups(list(sizes), sizes, 0) == [["a", "b", "c", "d", "e"]]  # 0: never split
    assert type_groups(list(sizes), sizes, 5000) == [["a", "b", "c", "d", "e"]]  # everything fits
    assert type_groups(list(sizes), sizes, 600) == [["a"], ["b", "c", "d", "e"]]
    assert type_groups(list(sizes), sizes, 400) == [["a"], ["b", "d", "e"], ["c"]]
    # The same inputs in any order give the same groups: a redelivered plan splits the same way.
    assert type_groups(["e", "d", "c", "b", "a"], sizes, 400) == type_groups(list(sizes), sizes, 400)


def test_inventory_sizes_count_one_region_or_every_region_for_a_global_shard(svc, tenant, make_account):
    account_id = make_account(tenant)["id"]  # AWS, us-east-1 and eu-west-1

    def resource(kind: str, region: str, name: str) -> CollectedResource:
        return CollectedResource(f"arn:{kind}:{region}:{name}", name, name, kind, region, {"Name": name})

    listed = [
        resource("aws.ec2.security-group", "us-east-1", "a"),
        resource("aws.ec2.security-group", "us-east-1", "b"),
        resource("aws.ec2.security-group", "eu-west-1", "c"),
        resource("aws.s3.bucket", "eu-west-1", "d"),
    ]
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, listed, utcnow())
        sizes = InventorySizes(session, [account_id])
    assert sizes.of(account_id, "us-east-1") == {"aws.ec2.security-group": 2}
    assert sizes.of(account_id, "eu-west-1") == {"aws.ec2.security-group": 1, "aws.s3.bucket": 1}
    assert sizes.of(account_id, "global") == {"aws.ec2.security-group": 3, "aws.s3.bucket": 1}
    assert sizes.of("acc_unknown", "us-east-1") == {}


@pytest.fixture()
def estate():
    """120 Azure and GCP resources in three subscriptions and three projects (20 each), two resource
    types per account, a quarter of each type (rounded down) failing one policy."""
    planned = scale_estate(120, 0.25, aws_share=0)
    with FakeAzure(planned.azure_rows) as azure, FakeAssetInventory(planned.gcp_assets) as gcp:
        yield planned, azure, gcp


def shards_of(svc, scan_id: str) -> list[ScanShard]:
    with svc.db.session() as session:
        return list(session.scalars(select(ScanShard).where(ScanShard.scan_id == scan_id).order_by(ScanShard.id)))


def findings(svc, scan_id: str) -> set[tuple[str, str, str]]:
    with svc.db.session() as session:
        rows = session.execute(
            select(Violation.policy_id, Violation.account_id, Violation.resource_uid).where(
                Violation.scan_id == scan_id
            )
        )
        return {tuple(row) for row in rows}


def test_a_large_account_is_split_by_type_and_finds_the_same_violations(
    client, worker, svc, tenant, make_account, estate, monkeypatch
):
    planned, azure, gcp = estate
    for subscription in SCALE_AZURE_SUBSCRIPTIONS:
        credentials = {"access_token": "t", "subscription_id": subscription}
        make_account(tenant, provider="azure", endpoint_url=azure.url, regions=(), credentials=credentials)
    for project, _ in SCALE_GCP_PROJECTS:
        make_account(tenant, provider="gcp", endpoint_url=gcp.url, regions=(), credentials={"project_id": project})
    # Each account holds 20 resources of two types: over a limit of 15 once the inventory knows them.
    # For every Settings in this process, not only `svc`'s: a second in-process worker (the
    # notification tests') takes over Celery's process-global task registry, so the tasks may run
    # with another app's services. A data descriptor on the class wins over the instances' values.
    monkeypatch.setattr(Settings, "shard_max_resources", property(lambda self: 15, lambda self, value: None))
    body = scan_body(cloud_providers=["azure", "gcp"], frameworks=[], scope={"include_policies": list(SCALE_POLICIES)})

    scans = []
    for _ in range(2):
        created = client.post("/v1/scans", json=body, headers=tenant.headers)
        assert created.status_code == 202, created.get_json()
        scans.append(wait_for_scan(client, tenant, created.get_json()["id"]))
    first, second = scans
    assert [first["status"], second["status"]] == ["completed", "completed"]

    # The first scan knew no inventory: one shard per account. The second splits each in two.
    unsplit, split = shards_of(svc, first["id"]), shards_of(svc, second["id"])
    assert len(unsplit) == 6 and {s.part for s in unsplit} == {0}
    assert len(split) == 12
    for account_id in {s.account_id for s in unsplit}:
        parts = [s for s in split if s.account_id == account_id]
        whole = next(s for s in unsplit if s.account_id == account_id)
        assert sorted(s.part for s in parts) == [0, 1]
        assert [len(s.resource_types) for s in parts] == [1, 1]
        assert sorted(t for s in parts for t in s.resource_types) == sorted(whole.resource_types)
        assert sum(s.resources_scanned for s in parts) == whole.resources_scanned == 20
        assert all(s.timings.get("collect", 0) > 0 and "write" in s.timings for s in parts)

    # The same violations, exactly the seeded ones, and the same results.
    assert findings(svc, first["id"]) == findings(svc, second["id"])
    assert len(findings(svc, second["id"])) == planned.expected_violations == 24  # 2 per type and account
    assert all(s.violations_found for s in split)  # every type has its non-compliant share
    assert second["results"]["total_violations"] == first["results"]["total_violations"] == 24
    assert second["progress"]["scanned_resources"] == first["progress"]["scanned_resources"] == 120
    assert second["results"]["new_violations"] == 0 and second["results"]["resolved_violations"] == 0

    # A plan delivered again while its scan runs finds the shards it made and launches nothing; a
    # finished shard delivered again rewrites nothing.
    with svc.db.session() as session:
        session.get(Scan, second["id"]).status = "running"
    try:
        plan = plan_scan(svc, second["id"])
    finally:
        with svc.db.session() as session:
            session.get(Scan, second["id"]).status = "completed"
    assert plan.launched and plan.shard_ids == [s.id for s in split]
    assert run_shard(svc, split[0].id)["status"] == "completed"
    assert findings(svc, second["id"]) == findings(svc, first["id"])
    assert [s.resources_scanned for s in shards_of(svc, second["id"])] == [s.resources_scanned for s in split]

    # A page written again (a shard redelivered in the middle) keeps one row per fingerprint, and
    # what is new in it is still written.
    shard = next(s for s in split if s.violations_found)

    def shard_rows() -> list[Violation]:
        with svc.db.session() as session:
            return list(session.scalars(select(Violation).where(Violation.shard_id == shard.id)))

    before = shard_rows()
    page = [{name: getattr(v, name) for name, _ in VIOLATION_STAGE.columns} for v in before]
    page.append({**page[0], "fingerprint": "f" * 40})
    with svc.db.session() as session:
        insert_violations(session, second["id"], shard.id, shard.account_id, page)
    assert len(before) > 0 and len(shard_rows()) == len(before) + 1
