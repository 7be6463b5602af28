"""Authorization matrix: every /v1 route refuses no key, a bad key, a revoked key, a key without
the scope, and hides other tenants' objects as 404."""

from __future__ import annotations

import pytest

from shared.tenants.apikeys import revoke_key
from shared.tenants.models import ApiKey
from tests.conftest import wait_for_scan

SCAN = "scan_0000000000000000"
ACCOUNT = "acc_0000000000000000"
ROUTES = [
    ("GET", "/v1/scans", "read"),
    ("POST", "/v1/scans", "write"),
    ("GET", f"/v1/scans/{SCAN}", "read"),
    ("DELETE", f"/v1/scans/{SCAN}", "write"),
    ("GET", "/v1/accounts", "read"),
    ("POST", "/v1/accounts", "write"),
    ("GET", f"/v1/accounts/{ACCOUNT}", "read"),
    ("DELETE", f"/v1/accounts/{ACCOUNT}", "write"),
    ("POST", f"/v1/accounts/{ACCOUNT}/verify", "write"),
    ("POST", f"/v1/accounts/{ACCOUNT}/inventory", "write"),
    ("GET", f"/v1/scans/{SCAN}/violations", "read"),
    ("GET", f"/v1/scans/{SCAN}/compliance", "read"),
    ("GET", f"/v1/scans/{SCAN}/remediations", "read"),
    ("GET", f"/v1/scans/{SCAN}/report", "read"),
    ("GET", "/v1/resources", "read"),
    ("GET", "/v1/resources/res_1", "read"),
    ("GET", "/v1/policies", "read"),
    ("POST", "/v1/policies", "write"),
    ("GET", "/v1/policies/pol_s3_versioning", "read"),
    ("PATCH", "/v1/policies/pol_custom", "write"),
    ("DELETE", "/v1/policies/pol_custom", "write"),
    ("GET", "/v1/scans/schedules", "read"),
    ("POST", "/v1/scans/schedules", "write"),
    ("GET", "/v1/scans/schedules/sch_0000000000000000", "read"),
    ("PATCH", "/v1/scans/schedules/sch_0000000000000000", "write"),
    ("DELETE", "/v1/scans/schedules/sch_0000000000000000", "write"),
    ("POST", "/v1/scans/schedules/sch_0000000000000000/run", "write"),
    ("POST", "/v1/events", "write"),
    ("GET", "/v1/notifications/channels", "read"),
    ("POST", "/v1/notifications/channels", "write"),
    ("GET", "/v1/notifications/channels/chn_0000000000000000", "read"),
    ("PATCH", "/v1/notifications/channels/chn_0000000000000000", "write"),
    ("DELETE", "/v1/notifications/channels/chn_0000000000000000", "write"),
    ("POST", "/v1/notifications/channels/chn_0000000000000000/test", "write"),
    ("GET", "/v1/notifications/deliveries", "read"),
    ("GET", "/v1/frameworks", "read"),
    ("POST", "/v1/frameworks", "write"),
    ("GET", "/v1/frameworks/soc2", "read"),
    ("PATCH", "/v1/frameworks/custom", "write"),
    ("DELETE", "/v1/frameworks/custom", "write"),
    ("GET", f"/v1/scans/{SCAN}/compliance/soc2/report", "read"),
    ("GET", "/v1/frameworks/soc2/controls/CC1.1/attestations", "read"),
    ("POST", "/v1/frameworks/soc2/controls/CC1.1/attestations", "write"),
    ("GET", "/v1/attestations", "read"),
    ("GET", "/v1/attestations/att_0000000000000000", "read"),
    ("GET", "/v1/attestations/att_0000000000000000/evidence", "read"),
    ("POST", "/v1/attestations/att_0000000000000000/revoke", "write"),
]


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert body["error_code"] == code
    assert {"error", "error_description", "timestamp"} <= set(body)
    return body


@pytest.mark.parametrize("method,path,scope", ROUTES)
def test_no_key_is_401(client, method, path, scope):
    response = client.open(path, method=method)
    assert_envelope(response, 401, "AUTH_001")
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("method,path,scope", ROUTES)
@pytest.mark.parametrize(
    "header",
    [
        "Bearer sk_live_notakey",
        "Bearer sk_test_000000000000000000000000000000000000000000000000",
        "Basic abc",
        "Bearer",
    ],
)
def test_bad_key_is_401(client, method, path, scope, header):
    assert_envelope(client.open(path, method=method, headers={"Authorization": header}), 401, "AUTH_001")


@pytest.mark.parametrize("method,path,scope", ROUTES)
def test_revoked_key_is_401(client, svc, tenant, method, path, scope):
    with svc.db.session() as session:
        key_id = session.query(ApiKey.id).filter(ApiKey.tenant_id == tenant.id).scalar()
        assert revoke_key(session, key_id)
    assert_envelope(client.open(path, method=method, headers=tenant.headers), 401, "AUTH_001")


def test_expired_key_is_401(client, svc, tenant):
    from datetime import timedelta

    from shared.platform.db import utcnow

    with svc.db.session() as session:
        session.query(ApiKey).filter(ApiKey.tenant_id == tenant.id).update(
            {"expires_at": utcnow() - timedelta(seconds=1)}
        )
    assert_envelope(client.get("/v1/scans", headers=tenant.headers), 401, "AUTH_001")


@pytest.mark.parametrize("method,path,scope", [r for r in ROUTES if r[2] == "write"])
def test_read_only_key_cannot_write(client, make_tenant, method, path, scope):
    reader = make_tenant(scopes=("read",))
    assert_envelope(client.open(path, method=method, headers=reader.headers, json={}), 403, "AUTH_002")


@pytest.mark.parametrize("method,path,scope", [r for r in ROUTES if r[2] == "read"])
def test_write_only_key_cannot_read(client, make_tenant, method, path, scope):
    writer = make_tenant(scopes=("write",))
    assert_envelope(client.open(path, method=method, headers=writer.headers), 403, "AUTH_002")


def test_other_tenants_objects_are_404(client, make_tenant, make_account, worker, moto):
    owner, stranger = make_tenant(), make_tenant()
    account = make_account(owner, endpoint_url=moto, regions=("us-east-1",))
    scan = client.post(
        "/v1/scans",
        headers=owner.headers,
        json={"name": "mine", "scan_type": "full", "environment": "production", "cloud_providers": ["aws"]},
    ).get_json()
    for method, path in [
        ("GET", f"/v1/scans/{scan['id']}"),
        ("DELETE", f"/v1/scans/{scan['id']}"),
        ("GET", f"/v1/scans/{scan['id']}/violations"),
        ("GET", f"/v1/scans/{scan['id']}/compliance"),
        ("GET", f"/v1/accounts/{account['id']}"),
        ("DELETE", f"/v1/accounts/{account['id']}"),
        ("POST", f"/v1/accounts/{account['id']}/verify"),
        ("POST", f"/v1/accounts/{account['id']}/inventory"),
    ]:
        assert_envelope(client.open(path, method=method, headers=stranger.headers), 404, "REQ_404")
    assert client.get("/v1/scans", headers=stranger.headers).get_json()["pagination"]["total"] == 0
    assert client.get("/v1/accounts", headers=stranger.headers).get_json()["pagination"]["total"] == 0
    # The owner still sees both.
    assert client.get(f"/v1/accounts/{account['id']}", headers=owner.headers).status_code == 200
    assert wait_for_scan(client, owner, scan["id"])["status"] == "completed"


def test_keys_are_stored_only_as_hashes(svc, tenant):
    with svc.db.session() as session:
        rows = session.query(ApiKey).filter(ApiKey.tenant_id == tenant.id).all()
    assert len(rows) == 1
    assert tenant.key not in (rows[0].key_hash, rows[0].prefix)
    assert len(rows[0].key_hash) == 64 and tenant.key.startswith(rows[0].prefix)
