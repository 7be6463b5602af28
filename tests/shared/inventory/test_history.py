"""Resource configuration history: the JSON Patch between two configurations, and the versions
upsert_resources records (a new resource, a moved hash) or does not (the same configuration, a
change of volatile fields only)."""

from __future__ import annotations

from datetime import timedelta

import jsonpatch
import pytest
from sqlalchemy import select

from shared.inventory.collectors.base import CollectedResource
from shared.inventory.history import diff, list_versions, render_history
from shared.inventory.models import Resource, ResourceVersion
from shared.inventory.resources import upsert_resources
from shared.platform.db import utcnow
from shared.platform.errors import NotFound

# --- diff -------------------------------------------------------------------------------------


def test_diff_of_equal_documents_is_empty():
    assert diff({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) == []


def test_diff_adds_removes_and_replaces_top_level_fields():
    old = {"Name": "logs", "Versioning": "Suspended", "Legacy": True}
    new = {"Name": "logs", "Versioning": "Enabled", "Owner": "team-a"}
    ops = diff(old, new)
    assert sorted(ops, key=lambda op: op["path"]) == [
        {"op": "remove", "path": "/Legacy"},
        {"op": "add", "path": "/Owner", "value": "team-a"},
        {"op": "replace", "path": "/Versioning", "value": "Enabled"},
    ]
    assert jsonpatch.apply_patch(old, ops) == new


def test_diff_reaches_into_nested_objects_and_escapes_pointers():
    old = {"properties": {"encryption": {"keySource": "Microsoft.Storage"}, "tags": {"a/b": "1"}}}
    new = {"properties": {"encryption": {"keySource": "Microsoft.Keyvault"}, "tags": {"a/b": "2"}}}
    ops = diff(old, new)
    assert sorted(ops, key=lambda op: op["path"]) == [
        {"op": "replace", "path": "/properties/encryption/keySource", "value": "Microsoft.Keyvault"},
        {"op": "replace", "path": "/properties/tags/a~1b", "value": "2"},
    ]
    assert jsonpatch.apply_patch(old, ops) == new


def test_diff_of_lists_names_elements_by_index():
    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    old = {"IpPermissions": [rule]}
    new = {"IpPermissions": [rule, {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}]}
    assert diff(old, new) == [
        {"op": "add", "path": "/IpPermissions/1", "value": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}}
    ]
    assert diff(new, old) == [{"op": "remove", "path": "/IpPermissions/1"}]
    changed = {"IpPermissions": [{**rule, "ToPort": 23}]}
    assert diff(old, changed) == [{"op": "replace", "path": "/IpPermissions/0/ToPort", "value": 23}]


def test_diff_replaces_a_value_that_changes_type():
    assert diff({"a": None}, {"a": {"b": 1}}) == [{"op": "replace", "path": "/a", "value": {"b": 1}}]
    assert diff({"a": [1]}, {"a": "1"}) == [{"op": "replace", "path": "/a", "value": "1"}]


# --- versions recorded by upsert_resources ----------------------------------------------------


@pytest.fixture()
def account_id(tenant, make_account) -> str:
    return make_account(tenant)["id"]


def bucket(document: dict, *, volatile: tuple[str, ...] = ()) -> CollectedResource:
    return CollectedResource(
        uid="arn:aws:s3:::vault", id="vault", name="vault", resource_type="aws.s3.bucket", region="us-east-1",
        document={"Name": "vault", **document}, volatile=volatile,
    )  # fmt: skip


def versions(session, tenant_id: str) -> list[tuple[int, str | None, dict]]:
    rows = session.execute(
        select(ResourceVersion.version, ResourceVersion.scan_id, ResourceVersion.config)
        .where(ResourceVersion.tenant_id == tenant_id)
        .order_by(ResourceVersion.version)
    )
    return [tuple(row) for row in rows]


def test_a_new_resource_gets_version_1(svc, tenant, account_id):
    now = utcnow()
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, [bucket({"Versioning": "Enabled"})], now, "scn_first")
    with svc.db.session() as session:
        resource = session.scalar(select(Resource).where(Resource.tenant_id == tenant.id))
        assert resource.config_version == 1
        assert versions(session, tenant.id) == [(1, "scn_first", {"Name": "vault", "Versioning": "Enabled"})]
        recorded = session.scalar(select(ResourceVersion).where(ResourceVersion.resource_id == resource.id))
        assert recorded.recorded_at == now and recorded.config_hash == resource.config_hash


def test_the_same_configuration_again_records_nothing(svc, tenant, account_id):
    now = utcnow()
    for step, scan_id in enumerate(("scn_a", "scn_b", None)):
        with svc.db.session() as session:
            upsert_resources(session, tenant.id, account_id, [bucket({"V": 1})], now + timedelta(minutes=step), scan_id)
    with svc.db.session() as session:
        assert versions(session, tenant.id) == [(1, "scn_a", {"Name": "vault", "V": 1})]
        assert session.scalar(select(Resource.config_version).where(Resource.tenant_id == tenant.id)) == 1


def test_a_changed_configuration_records_the_next_version_with_its_scan(svc, tenant, account_id):
    now = utcnow()
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, [bucket({"Versioning": "Suspended"})], now, "scn_a")
    with svc.db.session() as session:
        later = now + timedelta(hours=1)
        upsert_resources(session, tenant.id, account_id, [bucket({"Versioning": "Enabled"})], later, "scn_b")
    with svc.db.session() as session:
        assert versions(session, tenant.id) == [
            (1, "scn_a", {"Name": "vault", "Versioning": "Suspended"}),
            (2, "scn_b", {"Name": "vault", "Versioning": "Enabled"}),
        ]
        resource = session.scalar(select(Resource).where(Resource.tenant_id == tenant.id))
        assert resource.config_version == 2 and resource.config_changed_at == later
    # An upload (no scan) that changes it again is version 3, without a scan.
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, [bucket({})], now + timedelta(hours=2))
    with svc.db.session() as session:
        assert versions(session, tenant.id)[-1] == (3, None, {"Name": "vault"})


def test_volatile_fields_alone_record_nothing(svc, tenant, account_id):
    volatile = ("LastChecked", "Keys.*.AgeDays")
    now = utcnow()
    first = {"LastChecked": "2026-01-01", "Keys": [{"Id": "k1", "AgeDays": 3}]}
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, [bucket(first, volatile=volatile)], now, "scn_a")
    second = {"LastChecked": "2026-01-02", "Keys": [{"Id": "k1", "AgeDays": 4}]}
    with svc.db.session() as session:
        later = now + timedelta(days=1)
        upsert_resources(session, tenant.id, account_id, [bucket(second, volatile=volatile)], later, "scn_b")
    with svc.db.session() as session:
        assert [(version, scan) for version, scan, _ in versions(session, tenant.id)] == [(1, "scn_a")]
        resource = session.scalar(select(Resource).where(Resource.tenant_id == tenant.id))
        assert resource.config_version == 1 and resource.config["LastChecked"] == "2026-01-02"  # still refreshed


def test_the_same_resource_twice_at_one_moment_is_recorded_once(svc, tenant, account_id):
    """An upload stores batches with one `now`: a resource named in two batches is one version, or
    two when its configuration differs between them."""
    now = utcnow()
    with svc.db.session() as session:
        upsert_resources(session, tenant.id, account_id, [bucket({"V": 1})], now)
        upsert_resources(session, tenant.id, account_id, [bucket({"V": 1})], now)
        upsert_resources(session, tenant.id, account_id, [bucket({"V": 2})], now)
        upsert_resources(session, tenant.id, account_id, [bucket({"V": 2})], now)
    with svc.db.session() as session:
        assert [(version, config["V"]) for version, _, config in versions(session, tenant.id)] == [(1, 1), (2, 2)]


def test_versions_are_listed_newest_first_a_page_at_a_time(svc, tenant, make_tenant, account_id):
    other = make_tenant()
    now = utcnow()
    for step in range(5):
        with svc.db.session() as session:
            resource = bucket({"Step": step})
            upsert_resources(session, tenant.id, account_id, [resource], now + timedelta(minutes=step), f"scn_{step}")
    with svc.db.session() as session:
        public_id = session.scalar(select(Resource.public_id).where(Resource.tenant_id == tenant.id))
        page = list_versions(session, tenant.id, public_id, 2)
        assert [v.version for v in page.versions] == [5, 4] and page.older.version == 3
        rendered = render_history(page, 2)
        assert [v["changes"] for v in rendered["versions"]] == [
            [{"op": "replace", "path": "/Step", "value": 4}],
            [{"op": "replace", "path": "/Step", "value": 3}],
        ]
        assert rendered["pagination"] == {"limit": 2, "has_more": True, "next_before": 4}
        last = list_versions(session, tenant.id, public_id, 2, before_version=3)
        assert [v.version for v in last.versions] == [2, 1] and last.older is None
        assert render_history(last, 2)["versions"][-1]["changes"] == []
        assert render_history(last, 2)["pagination"]["next_before"] is None
        with pytest.raises(NotFound):
            list_versions(session, other.id, public_id, 2)
