"""Pushed inventories (hybrid accounts and offline snapshots) and the /v1/resources inventory."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from devkit.estates import seed_demo_estate
from shared.inventory import uploads
from shared.scans.models import Violation
from tests.api.test_auth import assert_envelope
from tests.conftest import scan_body, wait_for_scan

OPEN_SSH = {
    "IpProtocol": "tcp",
    "FromPort": 22,
    "ToPort": 22,
    "Ports": "22-22",
    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
    "Ipv6Ranges": [],
}


def bucket(name: str, *, encrypted: bool) -> dict:
    document = {
        "Name": name,
        "Versioning": {"Status": "Enabled"},
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    }
    if encrypted:
        document["ServerSideEncryptionConfiguration"] = {
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        }
    return {
        "type": "aws.s3.bucket",
        "id": name,
        "uid": f"arn:aws:s3:::{name}",
        "region": "on-prem-1",
        "document": document,
    }


def group(group_id: str, permissions: list) -> dict:
    return {
        "type": "aws.ec2.security-group",
        "id": group_id,
        "name": f"grp-{group_id}",
        "region": "dc-1",
        "document": {
            "GroupId": group_id,
            "GroupName": f"grp-{group_id}",
            "IpPermissions": permissions,
            "IpPermissionsEgress": [],
        },
    }


@pytest.fixture()
def hybrid(client, tenant):
    response = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "hybrid", "name": "datacenter", "environment": "production"},
    )
    assert response.status_code == 201
    account = response.get_json()
    assert account["collection"] == "inventory" and account["inventory_pushed_at"] is None
    return account


def push(client, tenant, account, body, **kwargs):
    return client.post(f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json=body, **kwargs)


def test_push_then_scan_a_hybrid_inventory(client, worker, svc, tenant, hybrid):
    body = {
        "resources": [bucket("vault-a", encrypted=True), bucket("vault-b", encrypted=False), group("sg-1", [OPEN_SSH])]
    }
    response = push(client, tenant, hybrid, body)
    assert response.status_code == 202
    summary = response.get_json()
    assert summary["received"] == 3 and summary["created"] == 3 and summary["removed"] == 0
    assert summary["resource_types"] == {"aws.ec2.security-group": 1, "aws.s3.bucket": 2}

    body = scan_body(
        cloud_providers=["hybrid"],
        frameworks=[],
        scan_type="policy_specific",
        scope={"include_policies": ["pol_s3_default_encryption", "pol_s3_versioning", "pol_network"]},
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).get_json()["id"])
    assert scan["status"] == "completed" and scan["progress"]["scanned_resources"] == 3
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == {
        ("pol_s3_default_encryption", "vault-b"),
        ("pol_ec2_sg_ssh_open", "grp-sg-1"),
        ("pol_ec2_sg_unauthorized_ports_open", "grp-sg-1"),  # a port other than 80/443 open to the world
    }

    listing = client.get("/v1/resources?type=aws.s3.bucket", headers=tenant.headers).get_json()
    assert sorted(r["name"] for r in listing["resources"]) == ["vault-a", "vault-b"]
    vault_b = next(r for r in listing["resources"] if r["name"] == "vault-b")
    assert vault_b["provider"] == "aws" and vault_b["region"] == "on-prem-1" and vault_b["last_scan_id"] == scan["id"]
    details = client.get(f"/v1/resources/{vault_b['id']}", headers=tenant.headers).get_json()
    assert details["configuration"]["Name"] == "vault-b"
    assert [(v["policy_id"], v["status_extended"]) for v in details["violations"]] == [
        ("pol_s3_default_encryption", "S3 bucket vault-b has no default server-side encryption.")
    ]


def test_replace_and_merge_uploads(client, tenant, hybrid):
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=True), bucket("b", encrypted=True)]})
    merged = push(client, tenant, hybrid, {"resources": [bucket("c", encrypted=True)], "mode": "merge"}).get_json()
    assert merged["removed"] == 0
    replaced = push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]}).get_json()
    assert replaced["removed"] == 2 and replaced["created"] == 0
    listing = client.get(f"/v1/resources?account_id={hybrid['id']}", headers=tenant.headers).get_json()
    assert [r["name"] for r in listing["resources"]] == ["a"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"resources": [{"type": "aws.nothing", "id": "x", "document": {}}]}, "resources[0].type"),
        ({"resources": [{"type": "aws.s3.bucket", "document": {}}]}, "resources[0].id"),
        ({"resources": [{"type": "aws.s3.bucket", "id": "x"}]}, "resources[0].document"),
        ({"resources": [], "mode": "sometimes"}, "mode"),
        ({"items": []}, "body"),
    ],
)
def test_bad_uploads_name_the_field(client, tenant, hybrid, body, field):
    details = assert_envelope(push(client, tenant, hybrid, body), 400, "REQ_001")["details"]
    assert field in [d["field"] for d in details], details


def test_uploads_need_an_inventory_account(client, tenant, make_account):
    account = make_account(tenant, endpoint_url="http://127.0.0.1:9")
    assert account["collection"] == "api"
    assert_envelope(push(client, tenant, account, {"resources": []}), 409, "REQ_409")


def test_unsupported_upload_format(client, tenant, hybrid):
    response = client.post(
        f"/v1/accounts/{hybrid['id']}/inventory", headers=tenant.headers, data="a,b", content_type="text/csv"
    )
    assert_envelope(response, 400, "REQ_001")


def test_offline_snapshot_of_a_cloud_account(client, worker, tenant):
    response = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "aws", "name": "air-gapped", "environment": "production", "collection": "inventory"},
    )
    account = response.get_json()
    push(client, tenant, account, {"resources": [bucket("offline", encrypted=False)]})
    scan = wait_for_scan(
        client,
        tenant,
        client.post(
            "/v1/scans",
            headers=tenant.headers,
            json=scan_body(scope={"include_policies": ["pol_s3_default_encryption"]}, scan_type="policy_specific"),
        ).get_json()["id"],
    )
    assert scan["status"] == "completed" and scan["results"]["total_violations"] == 1


def test_live_scans_keep_the_inventory(client, worker, tenant, make_account, moto):
    seed_demo_estate(moto, regions=("us-east-1",))
    make_account(tenant, endpoint_url=moto, regions=("us-east-1",))
    first = wait_for_scan(client, tenant, client.post("/v1/scans", json=scan_body(), headers=tenant.headers).json["id"])
    resources = client.get("/v1/resources?id=arn:aws:s3:::*&limit=500", headers=tenant.headers).get_json()
    assert sorted(r["name"] for r in resources["resources"]) == [
        "logs-prod",
        "payroll-exports",
        "secure-data",
        "test-scratch",
    ]
    before = {r["uid"]: r for r in resources["resources"]}
    second = wait_for_scan(
        client, tenant, client.post("/v1/scans", json=scan_body(), headers=tenant.headers).json["id"]
    )
    after = {
        r["uid"]: r for r in client.get("/v1/resources?id=arn:aws:s3:::*", headers=tenant.headers).json["resources"]
    }
    for uid, row in after.items():
        assert row["config_hash"] == before[uid]["config_hash"]  # unchanged configuration, same hash
        assert row["first_seen"] == before[uid]["first_seen"] and row["last_scan_id"] == second["id"]
    assert first["id"] != second["id"]
    assert (
        client.get(
            "/v1/resources?provider=aws&region=us-east-1&type=aws.ec2.security-group", headers=tenant.headers
        ).json["pagination"]["total"]
        >= 1
    )
    assert_envelope(client.get("/v1/resources/res_999999999", headers=tenant.headers), 404, "REQ_404")
    assert_envelope(client.get("/v1/resources/nope", headers=tenant.headers), 404, "REQ_404")


def test_uploads_track_configuration_changes(client, svc, tenant, hybrid):
    from shared.inventory.models import Resource

    def changed_at(name):
        with svc.db.session() as session:
            return (
                session.query(Resource.config_changed_at)
                .filter(Resource.account_id == hybrid["id"], Resource.name == name)
                .scalar()
            )

    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]})
    first = changed_at("a")
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=False)]})
    assert changed_at("a") == first  # same configuration: incremental scans may carry its verdicts
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=True)]})
    assert changed_at("a") > first


# Uploads are read as a stream and stored in batches (shared/inventory/uploads.py).


def raw_push(client, tenant, account, data, content_type="application/json", query=""):
    return client.post(
        f"/v1/accounts/{account['id']}/inventory{query}", headers=tenant.headers, data=data, content_type=content_type
    )


def gcs_asset(bucket_name: str, **data) -> dict:
    """One line of a `gcloud asset export` (a storage bucket)."""
    return {
        "name": f"//storage.googleapis.com/{bucket_name}",
        "assetType": "storage.googleapis.com/Bucket",
        "resource": {
            "parent": "//cloudresourcemanager.googleapis.com/projects/1",
            "location": "us",
            "data": {"name": bucket_name, **data},
        },
    }


def ndjson(*assets) -> str:
    return "".join((a if isinstance(a, str) else json.dumps(a)) + "\n" for a in assets)


def stored(client, tenant, account) -> dict[str, dict]:
    listing = client.get(f"/v1/resources?account_id={account['id']}&limit=500", headers=tenant.headers).get_json()
    return {r["name"]: r for r in listing["resources"]}


@pytest.mark.parametrize("kind", ["json", "ndjson"])
def test_uploads_beyond_the_general_body_limit(client, tenant, hybrid, kind):
    count = 4_000  # over 3 MiB in either format, three times the 1 MiB limit of other requests
    notes = "n" * 600
    if kind == "json":
        resources = [bucket(f"big-{i:05d}", encrypted=i % 2 == 0) for i in range(count)]
        body = json.dumps({"resources": [{**r, "document": {**r["document"], "Notes": notes}} for r in resources]})
        content_type = "application/json"
    else:
        body = ndjson(*(gcs_asset(f"big-{i:05d}", notes=notes) for i in range(count)))
        content_type = "application/x-ndjson"
    assert len(body) > 3 * 1_048_576
    response = raw_push(client, tenant, hybrid, body, content_type)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["stored"] == count


def test_uploads_beyond_the_upload_limit_are_refused(client, svc, tenant, hybrid, monkeypatch):
    monkeypatch.setattr(svc, "settings", replace(svc.settings, max_upload_length=4096))
    body = ndjson(*(gcs_asset(f"b-{i}") for i in range(40)))
    assert_envelope(raw_push(client, tenant, hybrid, body, "application/x-ndjson"), 413, "REQ_413")


def test_the_resource_limit_is_a_setting(client, svc, tenant, hybrid, monkeypatch):
    monkeypatch.setattr(svc, "settings", replace(svc.settings, max_upload_resources=3))
    push(client, tenant, hybrid, {"resources": [bucket("kept", encrypted=True)]})
    body = {"resources": [bucket(f"b-{i}", encrypted=True) for i in range(4)]}
    envelope = assert_envelope(push(client, tenant, hybrid, body), 400, "REQ_001")
    assert envelope["error_description"] == "At most 3 resources per upload"
    assert list(stored(client, tenant, hybrid)) == ["kept"]


GOOD = json.dumps(bucket("good", encrypted=True))
DEEP = '{"a": ' * 1_000 + "1" + "}" * 1_000


@pytest.mark.parametrize(
    "resource,field,message",
    [
        (
            '{"type": "aws.s3.bucket", "id": "x", "document": {"Name": "a\\u0000b"}}',
            "resources[1].document.Name",
            "NUL",
        ),
        ('{"type": "aws.s3.bucket", "id": "x\\u0000", "document": {}}', "resources[1].id", "NUL"),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {"Size": NaN}}', "resources[1].document.Size", "NaN"),
        (
            '{"type": "aws.s3.bucket", "id": "x", "document": {"S": [Infinity]}}',
            "resources[1].document.S[0]",
            "Infinity",
        ),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {"Size": -Infinity}}', "resources[1].document.Size", "NaN"),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {"Size": 1e400}}', "resources[1].document.Size", "NaN"),
        (
            '{"type": "aws.s3.bucket", "id": "x", "document": {"Name": "\\ud800"}}',
            "resources[1].document.Name",
            "surrogate",
        ),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {"\\udc00": 1}}', "resources[1].document", "surrogate"),
        ('{"type": "aws.s3.bucket", "id": "x", "document": ' + DEEP + "}", "resources[1]", "nested"),
        (
            '{"type": "aws.s3.bucket", "id": "x", "document": ' + '{"a": ' * 80 + "1" + "}" * 80 + "}",
            "resources[1].document.a.a",
            "nested",
        ),
        ('{"type": "aws.s3.bucket", "id": "x", "document": []}', "resources[1].document", "mapping"),
        (
            '{"type": "aws.s3.bucket", "id": "x", "region": "' + "r" * 65 + '", "document": {}}',
            "resources[1].region",
            "Length",
        ),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {}, "extra": 1}', "resources[1].extra", "Unknown"),
        ("[1]", "resources[1]", "Invalid input type"),
        ('{"type": "aws.s3.bucket", "id": "x", "document": {}', "resources[1]", "Malformed JSON"),
    ],
)
def test_what_cannot_be_stored_is_named(client, tenant, hybrid, resource, field, message):
    response = raw_push(client, tenant, hybrid, f'{{"resources": [{GOOD}, {resource}, {GOOD}]}}')
    details = assert_envelope(response, 400, "REQ_001")["details"]
    assert any(d["field"].startswith(field) and message.lower() in d["message"].lower() for d in details), details
    assert stored(client, tenant, hybrid) == {}


DEEP_ASSET = {**gcs_asset("deep"), "resource": {"data": json.loads('{"a": ' * 70 + "1" + "}" * 70)}}


@pytest.mark.parametrize(
    "line,field,message",
    [
        ("[1, 2]", "line 2", "Not a JSON object"),
        ('"a string"', "line 2", "Not a JSON object"),
        ("42", "line 2", "Not a JSON object"),
        ("{not json", "line 2", "Not a JSON object"),
        ('{"name": "x"}', "line 2", "needs name and assetType"),
        (json.dumps(gcs_asset("x", name="a\u0000b")), "line 2.resource.data.name", "NUL"),
        (json.dumps(gcs_asset("x", size=float("nan"))), "line 2.resource.data.size", "NaN"),
        (json.dumps(gcs_asset("x", size=float("-inf"))), "line 2.resource.data.size", "NaN"),
        (
            json.dumps(gcs_asset("x")).replace('"name": "x"', '"name": "\\udfff"'),
            "line 2.resource.data.name",
            "surrogate",
        ),
        ('{"name": "x", "assetType": "a/b", "resource": ' + DEEP + "}", "line 2", "nested"),
        (json.dumps(DEEP_ASSET), "line 2.resource.data.a", "nested"),
        (json.dumps({**gcs_asset("x"), "resource": "a string"}), "line 2.resource", "Not a JSON object"),
        (json.dumps({**gcs_asset("x"), "resource": None}), "line 2.resource", "Not a JSON object"),
        (json.dumps({**gcs_asset("x"), "iamPolicy": None}), "line 2.iamPolicy", "Not a JSON object"),
        (json.dumps({**gcs_asset("x"), "resource": {"data": [1]}}), "line 2.resource.data", "Not a JSON object"),
        (json.dumps({**gcs_asset("x"), "resource": {"location": "l" * 65}}), "line 2.resource.location", "Longer"),
        (json.dumps({**gcs_asset("x"), "resource": {"parent": 7}}), "line 2.resource.parent", "string"),
        (json.dumps({**gcs_asset("x"), "name": 7}), "line 2.name", "string"),
        (json.dumps({**gcs_asset("x"), "assetType": ["a"]}), "line 2.assetType", "string"),
    ],
)
def test_what_cannot_be_stored_is_named_in_an_asset_export(client, tenant, hybrid, line, field, message):
    body = ndjson(gcs_asset("good-1"), line, gcs_asset("good-2"))
    details = assert_envelope(raw_push(client, tenant, hybrid, body, "application/x-ndjson"), 400, "REQ_001")["details"]
    assert len(details) == 1 and details[0]["field"].startswith(field), details
    assert message.lower() in details[0]["message"].lower(), details
    assert stored(client, tenant, hybrid) == {}


@pytest.mark.parametrize(
    "row,field,message",
    [
        ({"id": 5, "type": "microsoft.storage/storageaccounts"}, "data[1].id", "string"),
        (
            {"id": "/x/y", "type": "microsoft.storage/storageaccounts", "location": "l" * 65},
            "data[1].location",
            "Longer",
        ),
        ({"id": "/x/y", "type": "microsoft.storage/storageaccounts", "name": {"a": 1}}, "data[1].name", "string"),
        (
            {"id": "/x/y", "type": "microsoft.storage/storageaccounts", "properties": {"x": "\x00"}},
            "data[1].properties.x",
            "NUL",
        ),
        ({"type": "microsoft.storage/storageaccounts"}, "data[1]", "needs id and type"),
        ("a string", "data[1]", "needs id and type"),
    ],
)
@pytest.mark.parametrize("wrapped", [True, False])
def test_what_cannot_be_stored_is_named_in_a_resource_graph_export(
    client, tenant, hybrid, row, field, message, wrapped
):
    good = {
        "id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/good",
        "type": "microsoft.storage/storageaccounts",
        "name": "good",
        "location": "westeurope",
    }
    rows = [good, row, {**good, "id": good["id"] + "2"}]
    details = assert_envelope(push(client, tenant, hybrid, {"data": rows} if wrapped else rows), 400, "REQ_001")[
        "details"
    ]
    assert [d["field"] for d in details] == [field]
    assert message.lower() in details[0]["message"].lower(), details


def test_a_bad_resource_after_stored_batches_stores_nothing(client, tenant, hybrid, monkeypatch):
    monkeypatch.setattr(uploads, "BATCH_SIZE", 2)  # the good resources before the bad one are written first
    push(client, tenant, hybrid, {"resources": [bucket("before", encrypted=True)]})
    resources = [bucket(f"b-{i}", encrypted=True) for i in range(7)]
    resources[5]["document"]["Name"] = "\x00"
    details = assert_envelope(push(client, tenant, hybrid, {"resources": resources}), 400, "REQ_001")["details"]
    assert [d["field"] for d in details] == ["resources[5].document.Name"]
    assert list(stored(client, tenant, hybrid)) == ["before"]  # neither written nor replaced


def test_every_problem_is_named_up_to_fifty(client, tenant, hybrid):
    resources = [{"type": "aws.nothing", "id": f"x-{i}", "document": {}} for i in range(80)]
    details = assert_envelope(push(client, tenant, hybrid, {"resources": resources}), 400, "REQ_001")["details"]
    assert [d["field"] for d in details] == [f"resources[{i}].type" for i in range(50)]


def test_replace_and_merge_across_batches(client, tenant, hybrid, monkeypatch):
    monkeypatch.setattr(uploads, "BATCH_SIZE", 2)
    first = push(client, tenant, hybrid, {"resources": [bucket(f"b-{i}", encrypted=True) for i in range(5)]})
    assert first.get_json()["created"] == 5 and first.get_json()["stored"] == 5
    # The same bucket twice, in different batches: the later one wins, and counts once.
    again = [
        bucket("b-1", encrypted=True),
        bucket("b-5", encrypted=True),
        bucket("b-6", encrypted=True),
        bucket("b-1", encrypted=False),
    ]
    summary = push(client, tenant, hybrid, {"mode": "replace", "resources": again}).get_json()
    assert (summary["received"], summary["stored"], summary["created"], summary["removed"]) == (4, 3, 2, 4)
    assert summary["resource_types"] == {"aws.s3.bucket": 3}
    assert sorted(stored(client, tenant, hybrid)) == ["b-1", "b-5", "b-6"]
    b1 = stored(client, tenant, hybrid)["b-1"]
    details = client.get(f"/v1/resources/{b1['id']}", headers=tenant.headers).get_json()
    assert "ServerSideEncryptionConfiguration" not in details["configuration"]
    # The mode may come after the resources, and the query string's wins over the body's.
    merged = raw_push(
        client, tenant, hybrid, json.dumps({"resources": [bucket("b-7", encrypted=True)], "mode": "merge"})
    )
    assert merged.get_json()["removed"] == 0
    replaced = raw_push(
        client,
        tenant,
        hybrid,
        json.dumps({"resources": [bucket("b-7", encrypted=True)], "mode": "merge"}),
        query="?mode=replace",
    )
    assert replaced.get_json()["removed"] == 3
    assert list(stored(client, tenant, hybrid)) == ["b-7"]


@pytest.mark.parametrize("content_type", ["application/json", "application/octet-stream", ""])
def test_the_format_is_told_from_the_content_when_the_type_does_not_say(client, tenant, hybrid, content_type):
    response = raw_push(client, tenant, hybrid, ndjson(gcs_asset("one"), gcs_asset("two")), content_type)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["resource_types"] == {"gcp.storage.bucket": 2}
    ours = raw_push(client, tenant, hybrid, json.dumps({"resources": [bucket("a", encrypted=True)]}), content_type)
    assert ours.get_json()["resource_types"] == {"aws.s3.bucket": 1}


@pytest.mark.parametrize(
    "body,field",
    [
        ('{"resources": [], "data": []}', "data"),
        ('{"data": [], "resources": [' + GOOD + "]}", "resources[0]"),
        ('{"resources": null}', "resources"),
        ('{"resources": [], "mode": 3}', "mode"),
        ('{"resources": []} []', "body"),
        ("", "body"),
        ('"a string"', "body"),
        ('{"resources": [' + GOOD + " " + GOOD + "]}", "resources[0]"),
        ('{"resources": [], "count": 12345678901234567890123}', "count"),
    ],
)
def test_malformed_and_ambiguous_bodies(client, tenant, hybrid, body, field):
    response = raw_push(client, tenant, hybrid, body)
    details = assert_envelope(response, 400, "REQ_001")["details"]
    assert field in [d["field"] for d in details], details


def test_empty_uploads(client, tenant, hybrid):
    push(client, tenant, hybrid, {"resources": [bucket("a", encrypted=True)]})
    for body in ("[]", '{"data": []}', '{"resources": []}'):
        summary = raw_push(client, tenant, hybrid, body).get_json()
        assert summary["stored"] == 0 and summary["resource_types"] == {}, (body, summary)
    assert stored(client, tenant, hybrid) == {}


def test_the_quick_check_of_our_resources_accepts_only_what_the_schema_accepts():
    assert uploads.PUSHED_FIELDS == set(uploads.PushedResourceSchema().fields)
    base = {"type": "aws.s3.bucket", "id": "x", "document": {}}
    items = [
        base,
        {**base, "uid": "u", "name": "n", "region": "r"},
        {**base, "uid": None, "name": None},
        {**base, "name": ""},
        {**base, "uid": ""},
        {**base, "id": ""},
        {**base, "id": "x" * 2049},
        {**base, "uid": "x" * 2049},
        {**base, "region": None},
        {**base, "region": ""},
        {**base, "region": "r" * 65},
        {**base, "type": "aws.nothing"},
        {**base, "type": 3},
        {**base, "document": None},
        {**base, "document": []},
        {**base, "name": 5},
        {**base, "extra": 1},
        {"type": "aws.s3.bucket", "id": "x"},
        [base],
    ]
    for item in items:
        if uploads._plainly_valid(item):
            uploads.PushedResourceSchema().load(item)  # raises if the quick check was wrong
    assert uploads._plainly_valid(base) and not uploads._plainly_valid({**base, "region": None})


def test_a_byte_order_mark_is_ignored(client, tenant, hybrid):
    bom = "\ufeff".encode()
    ours = bom + json.dumps({"resources": [bucket("a", encrypted=True)]}).encode()
    assert raw_push(client, tenant, hybrid, ours).get_json()["stored"] == 1
    export = bom + ndjson(gcs_asset("one"), gcs_asset("two")).encode()
    assert raw_push(client, tenant, hybrid, export, "application/x-ndjson").get_json()["stored"] == 2
    assert raw_push(client, tenant, hybrid, export).get_json()["resource_types"] == {"gcp.storage.bucket": 2}


def test_odd_but_valid_export_values_are_stored_not_500(client, tenant, hybrid):
    """A rotation period too large for a float, and a project known only by its number."""
    key = {
        "name": "//cloudkms.googleapis.com/projects/p/locations/us/keyRings/r/cryptoKeys/k",
        "assetType": "cloudkms.googleapis.com/CryptoKey",
        "resource": {
            "parent": "//cloudkms.googleapis.com/projects/p/locations/us/keyRings/r",
            "location": "us",
            "data": {"name": "projects/p/locations/us/keyRings/r/cryptoKeys/k", "rotationPeriod": "1e400s"},
        },
    }
    project = {
        "name": "//cloudresourcemanager.googleapis.com/projects/4711",
        "assetType": "cloudresourcemanager.googleapis.com/Project",
        "resource": {
            "parent": "//cloudresourcemanager.googleapis.com/organizations/1",
            "data": {"projectNumber": "4711"},
        },
        "iamPolicy": {"bindings": [{"role": "roles/viewer", "members": ["user:a@example.com"]}]},
    }
    response = raw_push(client, tenant, hybrid, ndjson(key, project), "application/x-ndjson")
    assert response.status_code == 202, response.get_json()


def test_pushed_nsg_and_firewall_documents_are_judged_by_their_rules(client, worker, svc, tenant, hybrid):
    """Our JSON carries the provider's raw document: an NSG or a GCP firewall rule pushed so is
    shaped as a listed one (its effective internet exposure derived), never passed for want of it."""
    ssh_rule = {
        "name": "allow-ssh",
        "properties": {
            "priority": 100,
            "direction": "Inbound",
            "access": "Allow",
            "protocol": "Tcp",
            "sourceAddressPrefix": "*",
            "sourcePortRange": "*",
            "destinationAddressPrefix": "*",
            "destinationPortRange": "22",
        },
    }
    nsg = {
        "name": "nsg-jump",
        "type": "microsoft.network/networksecuritygroups",
        "properties": {"securityRules": [ssh_rule]},
    }
    firewall = {
        "name": "allow-ssh",
        "network": "https://www.googleapis.com/compute/v1/projects/p/global/networks/default",
        "direction": "INGRESS",
        "priority": 1000,
        "sourceRanges": ["0.0.0.0/0"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
    }
    body = {
        "resources": [
            {"id": "/subscriptions/s/nsg-jump", "type": "azure.network.nsg", "name": "nsg-jump", "document": nsg},
            {"id": "fw-ssh", "type": "gcp.compute.firewall", "name": "allow-ssh", "document": firewall},
        ]
    }
    assert push(client, tenant, hybrid, body).status_code == 202
    scan_body_ = scan_body(
        cloud_providers=["hybrid"],
        frameworks=[],
        scan_type="policy_specific",
        scope={"include_policies": ["pol_azure_nsg_ssh_open", "pol_gcp_firewall_ssh_open"]},
    )
    scan = wait_for_scan(
        client, tenant, client.post("/v1/scans", headers=tenant.headers, json=scan_body_).get_json()["id"]
    )
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == {("pol_azure_nsg_ssh_open", "nsg-jump"), ("pol_gcp_firewall_ssh_open", "allow-ssh")}
