"""GET /v1/resources/<id>/history: a resource's configuration versions, newest first, with the JSON
Patch from each one's predecessor, paged by version; another tenant's resource is 404 and a bad
query is 400, both in the envelope."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30Validator

from tests.api.test_auth import assert_envelope
from tests.api.test_inventory import bucket, push


@pytest.fixture()
def hybrid(client, tenant) -> dict:
    body = {"provider": "hybrid", "name": "datacenter", "environment": "production"}
    response = client.post("/v1/accounts", headers=tenant.headers, json=body)
    assert response.status_code == 201
    return response.get_json()


@pytest.fixture()
def vault(client, tenant, hybrid) -> str:
    """vault-a uploaded three times with two changes between (and once more unchanged): versions 1-3."""
    plain = bucket("vault-a", encrypted=False)
    encrypted = bucket("vault-a", encrypted=True)
    suspended = bucket("vault-a", encrypted=True)
    suspended["document"]["Versioning"] = {"Status": "Suspended"}
    for resource in (plain, plain, encrypted, suspended, suspended):
        assert push(client, tenant, hybrid, {"resources": [resource]}).status_code == 202
    listing = client.get("/v1/resources?type=aws.s3.bucket", headers=tenant.headers).get_json()
    return listing["resources"][0]["id"]


def history(client, tenant, resource_id: str, query: str = ""):
    return client.get(f"/v1/resources/{resource_id}/history{query}", headers=tenant.headers)


ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def test_history_lists_versions_newest_first_with_their_changes(client, tenant, vault):
    response = history(client, tenant, vault)
    assert response.status_code == 200
    body = response.get_json()
    assert body["resource_id"] == vault and body["current_version"] == 3
    assert [v["version"] for v in body["versions"]] == [3, 2, 1]
    assert [v["changes"] for v in body["versions"]] == [
        [{"op": "replace", "path": "/Versioning/Status", "value": "Suspended"}],
        [{"op": "add", "path": "/ServerSideEncryptionConfiguration", "value": ENCRYPTION}],
        [],
    ]
    assert all(v["scan_id"] is None for v in body["versions"])  # uploads, not scans
    assert all("configuration" not in v for v in body["versions"])
    assert body["versions"][0]["recorded_at"] >= body["versions"][1]["recorded_at"]
    assert body["pagination"] == {"limit": 20, "has_more": False, "next_before": None}
    details = client.get(f"/v1/resources/{vault}", headers=tenant.headers).get_json()
    assert body["versions"][0]["config_hash"] == details["config_hash"]


def test_history_pages_with_before(client, tenant, vault):
    first = history(client, tenant, vault, "?limit=2").get_json()
    assert [v["version"] for v in first["versions"]] == [3, 2]
    assert first["pagination"] == {"limit": 2, "has_more": True, "next_before": 2}
    # The oldest listed version still has its changes: they are computed against the next page's first.
    assert first["versions"][-1]["changes"] == [
        {"op": "add", "path": "/ServerSideEncryptionConfiguration", "value": ENCRYPTION}
    ]
    second = history(client, tenant, vault, "?limit=2&before=2").get_json()
    assert [(v["version"], v["changes"]) for v in second["versions"]] == [(1, [])]
    assert second["pagination"] == {"limit": 2, "has_more": False, "next_before": None}
    assert history(client, tenant, vault, "?before=1").get_json()["versions"] == []


def test_include_configuration_adds_each_versions_document(client, tenant, vault):
    body = history(client, tenant, vault, "?include=configuration").get_json()
    configurations = [v["configuration"] for v in body["versions"]]
    assert configurations[0]["Versioning"] == {"Status": "Suspended"}
    assert "ServerSideEncryptionConfiguration" in configurations[1]
    assert "ServerSideEncryptionConfiguration" not in configurations[2]


def test_the_answer_conforms_to_the_openapi_document(client, tenant, vault):
    spec = client.get("/v1/openapi.json").get_json()
    operation = spec["paths"]["/v1/resources/{resource_id}/history"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"limit", "before", "include"}
    schema = {
        **operation["responses"]["200"]["content"]["application/json"]["schema"],
        "components": spec["components"],
    }
    validator = OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
    for query in ("", "?include=configuration", "?limit=1"):
        body = history(client, tenant, vault, query).get_json()
        assert [error.message for error in validator.iter_errors(body)] == []
    assert not validator.is_valid({**body, "undocumented": 1})


def test_another_tenants_resource_is_404(client, make_tenant, vault):
    stranger = make_tenant()
    assert_envelope(history(client, stranger, vault), 404, "REQ_404")
    assert_envelope(history(client, stranger, "res_0000000000000000"), 404, "REQ_404")


@pytest.mark.parametrize(
    "query,field",
    [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=ten", "limit"),
        ("?before=0", "before"),
        ("?before=99999999999", "before"),
        ("?include=violations", "include"),
        ("?page=2", "page"),
    ],
)
def test_a_bad_query_is_400_naming_the_field(client, tenant, vault, query, field):
    details = assert_envelope(history(client, tenant, vault, query), 400, "REQ_001")["details"]
    assert [d["field"] for d in details] == [field]


def test_history_needs_the_read_scope(client, make_tenant, vault):
    assert_envelope(client.get(f"/v1/resources/{vault}/history"), 401, "AUTH_001")
    writer = make_tenant(scopes=("write",))
    assert_envelope(history(client, writer, vault), 403, "AUTH_002")
