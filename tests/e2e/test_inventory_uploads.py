"""Uploaded exports are evaluated exactly like live listings: a `gcloud asset export` of the GCP
fake's estate yields the same violations as a live scan of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from devkit.fakes.gcp import seed_estate
from shared.inventory import uploads
from shared.inventory.collectors.gcp.engine import from_export
from shared.inventory.models import Resource
from shared.scans.models import Violation
from tests.conftest import scan_body, wait_for_scan
from tests.e2e.test_gcp_scan import EXPECTED
from tests.e2e.test_gcp_scan import POLICIES as GCP_POLICIES

pytestmark = pytest.mark.e2e


def export_lines() -> str:
    """What `gcloud asset export --content-type=resource` then `--content-type=iam-policy` write."""
    lines = []
    for stored in seed_estate():
        asset = stored.asset
        base = {k: asset[k] for k in ("name", "assetType", "ancestors", "updateTime")}
        lines.append(json.dumps({**base, "resource": asset["resource"]}))
        if "iamPolicy" in asset:
            lines.append(json.dumps({**base, "iamPolicy": asset["iamPolicy"]}))
    return "\n".join(lines) + "\n"


def test_gcloud_asset_export_upload_matches_a_live_scan(client, worker, svc, tenant):
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "gcp", "name": "gcp-export", "environment": "production", "collection": "inventory"},
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory",
        headers=tenant.headers,
        data=export_lines(),
        content_type="application/x-ndjson",
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["stored"] > 20

    body = scan_body(
        cloud_providers=["gcp"], frameworks=[], scan_type="policy_specific", scope={"include_policies": GCP_POLICIES}
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name, v.region)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == EXPECTED


# Real-format files: gcloud_asset_export.ndjson as `gcloud asset export` writes it (protobuf field
# names, per the Asset message of google.cloud.asset.v1, one asset per line, RESOURCE and IAM_POLICY
# lines); gcloud_asset_list.json as `gcloud asset list --format=json` prints it (a JSON array of
# assets in the REST API's camelCase, https://cloud.google.com/asset-inventory/docs/reference/rest/v1/Asset).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gcp"
# The policies the real-format files below are built to exercise (other policies may find more in them).
WATCHED = {
    "pol_gcp_firewall_ssh_open",
    "pol_gcp_firewall_all_open",
    "pol_gcp_bigquery_dataset_public",
    "pol_gcp_logging_sink_all_entries",
    "pol_gcp_instance_public_ip",
    "pol_gcp_audit_logging_all_services",
}


def upload_and_scan(client, svc, tenant, name: str, data: bytes, content_type: str) -> set[tuple[str, str]]:
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "gcp", "name": name, "environment": "production", "collection": "inventory"},
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, data=data, content_type=content_type
    )
    assert response.status_code == 202, response.get_json()
    body = scan_body(cloud_providers=["gcp"], frameworks=[])
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        return {
            (v.policy_id, v.resource_name)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
            if v.policy_id in WATCHED
        }


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/octet-stream"])
def test_a_real_gcloud_asset_export_file_is_accepted_and_scanned(client, worker, svc, tenant, content_type):
    """`gcloud asset export` writes the protobuf field names (asset_type, iam_policy, update_time,
    discovery_document_uri); a Project's parent is its organization, its sinks' parent the project,
    and the dataset is public only through its IAM policy line."""
    found = upload_and_scan(
        client,
        svc,
        tenant,
        f"export-{content_type}",
        (FIXTURES / "gcloud_asset_export.ndjson").read_bytes(),
        content_type,
    )
    assert found == {
        ("pol_gcp_firewall_ssh_open", "default-allow-ssh"),
        ("pol_gcp_bigquery_dataset_public", "shared_reports"),
    }


def test_gcloud_asset_list_json_is_read_as_assets_not_resource_graph_rows(client, worker, svc, tenant):
    """`gcloud asset list --format=json` is a JSON array of assets in camelCase: told from Resource
    Graph rows by its content. Its deny rule at priority 1000 shadows default-allow-ssh (65534)."""
    data = (FIXTURES / "gcloud_asset_list.json").read_bytes()
    found = upload_and_scan(client, svc, tenant, "asset-list", data, "application/json")
    assert found == {("pol_gcp_instance_public_ip", "web-1")}


def test_malformed_export_lines_are_named(client, tenant):
    account = client.post(
        "/v1/accounts", headers=tenant.headers, json={"provider": "hybrid", "name": "dc", "environment": "production"}
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory",
        headers=tenant.headers,
        data='{"name": "x", "assetType": "a/b"}\nnot json\n{"assetType": "a/b"}\n',
        content_type="application/x-ndjson",
    )
    assert response.status_code == 400
    assert [d["field"] for d in response.get_json()["details"]] == ["line 2", "line 3"]


def test_resource_graph_export_upload_is_evaluated_like_a_live_listing(client, worker, svc, tenant):
    from devkit.fakes.azure import demo_estate
    from tests.e2e.test_azure_scan import EXPECTED as AZURE_EXPECTED

    rows, _details = demo_estate()
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "azure", "name": "azure-export", "environment": "production", "collection": "inventory"},
    ).get_json()
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory", headers=tenant.headers, json={"data": rows, "count": len(rows)}
    )
    assert response.status_code == 202, response.get_json()
    # Policies on what Resource Graph itself holds agree with the live scan; the ones that need
    # detail calls (SQL auditing, TDE, alerts...) have no evidence in an export, so they are left out.
    policies = [
        "pol_azure_storage_secure_transfer",
        "pol_azure_storage_min_tls",
        "pol_azure_nsg_ssh_open",
        "pol_azure_nsg_rdp_open",
        "pol_azure_keyvault_soft_delete",
        "pol_azure_keyvault_purge_protection",
    ]
    body = scan_body(
        cloud_providers=["azure"], frameworks=[], scan_type="policy_specific", scope={"include_policies": policies}
    )
    scan = wait_for_scan(client, tenant, client.post("/v1/scans", headers=tenant.headers, json=body).json["id"])
    assert scan["status"] == "completed", scan
    with svc.db.session() as session:
        found = {
            (v.policy_id, v.resource_name, v.region)
            for v in session.scalars(select(Violation).where(Violation.scan_id == scan["id"]))
        }
    assert found == {v for v in AZURE_EXPECTED if v[0] in policies}
    assert found


@pytest.mark.parametrize("order", ["as exported", "projects first", "projects and sinks last", "reversed"])
def test_an_export_is_shaped_alike_in_any_order_and_any_batches(client, svc, tenant, monkeypatch, order):
    """Projects list their log sinks and name their IAM policies from other lines: batches shaped as
    the export streams in must give exactly what shaping the whole export at once gives."""
    monkeypatch.setattr(uploads, "BATCH_SIZE", 3)
    assets = [json.loads(line) for line in export_lines().splitlines()]
    if order == "projects first":
        assets.sort(key=lambda asset: not asset["assetType"].endswith("/Project"))
    elif order == "projects and sinks last":
        assets.sort(key=lambda asset: asset["assetType"].endswith(("/Project", "/LogSink")))
    elif order == "reversed":
        assets.reverse()
    account = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "gcp", "name": f"export-{order}", "environment": "production", "collection": "inventory"},
    ).get_json()
    body = "".join(json.dumps(asset) + "\n" for asset in assets)
    response = client.post(
        f"/v1/accounts/{account['id']}/inventory",
        headers=tenant.headers,
        data=body,
        content_type="application/x-ndjson",
    )
    assert response.status_code == 202, response.get_json()
    with svc.db.session() as session:
        rows = session.scalars(select(Resource).where(Resource.account_id == account["id"])).all()
        got = {(r.resource_uid, r.name, r.resource_type, r.region, r.config_hash): r.config for r in rows}
    expected = {(r.uid, r.name, r.resource_type, r.region, r.config_hash): r.document for r in from_export(assets)}
    assert got == expected
    assert any(key[2] == "gcp.resourcemanager.project" and document["logSinks"] for key, document in got.items())


class GeneratedBody:
    """A request body made as it is read, so neither the test nor the API ever holds all of it."""

    def __init__(self, parts: Iterator[bytes]):
        self.parts = parts
        self.pending = b""
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            part = next(self.parts, None)
            if part is None:
                break
            self.pending += part
        cut = len(self.pending) if size < 0 else size
        chunk, self.pending = self.pending[:cut], self.pending[cut:]
        self.size += len(chunk)
        return chunk


def small_buckets(count: int, kind: str) -> Iterator[bytes]:
    def item(index: int) -> dict:
        name = f"s-{index:06d}"
        if kind == "json":
            return {"type": "aws.s3.bucket", "id": name, "document": {"Name": name}}
        return {
            "name": f"//storage.googleapis.com/{name}",
            "assetType": "storage.googleapis.com/Bucket",
            "resource": {"data": {"name": name}},
        }

    if kind == "json":
        yield b'{"resources": ['
    for start in range(0, count, 1_000):
        items = [json.dumps(item(index)) for index in range(start, min(count, start + 1_000))]
        if kind == "json":
            yield (",".join(items) + ("," if start + 1_000 < count else "")).encode()
        else:
            yield ("\n".join(items) + "\n").encode()
    if kind == "json":
        yield b"]}"


def peak_memory_growth(action):
    """What `action` returns, and how far the process's peak resident memory rose above its memory
    before (None where Linux does not let the peak be reset)."""

    def kib(field: str) -> int:
        line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field))
        return int(line.split()[1])

    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts from the current size
    except OSError:
        return action(), None
    before = kib("VmRSS:")
    result = action()
    return result, (kib("VmHWM:") - before) * 1024


@pytest.mark.parametrize("kind", ["json", "ndjson"])
def test_a_large_upload_streams(client, svc, tenant, kind):
    """200,000 resources, stored a batch at a time. A parsed copy of all of them would take 105 MiB
    (our JSON, 15 MiB of body) or 216 MiB (the export, 26 MiB): the upload stays well below that."""
    count = 200_000
    account = client.post(
        "/v1/accounts", headers=tenant.headers, json={"provider": "hybrid", "name": "dc", "environment": "production"}
    ).get_json()
    body = GeneratedBody(small_buckets(count, kind))
    environ = EnvironBuilder(
        path=f"/v1/accounts/{account['id']}/inventory",
        method="POST",
        headers=tenant.headers,
        content_type="application/json" if kind == "json" else "application/x-ndjson",
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)  # no length: read to the end, as gunicorn does for a chunked body
    environ.update({"wsgi.input": body, "wsgi.input_terminated": True})
    response, growth = peak_memory_growth(lambda: client.open(Request(environ)))
    assert response.status_code == 202, response.get_json()
    summary = response.get_json()
    assert summary["received"] == summary["stored"] == summary["created"] == count
    with svc.db.session() as session:
        assert session.scalar(select(func.count()).where(Resource.account_id == account["id"])) == count
    assert body.size > 10 * 1_048_576
    assert growth is None or growth < 64 * 1_048_576, growth
