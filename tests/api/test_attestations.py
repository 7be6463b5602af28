"""Attestations of controls through the API: create (JSON or with an uploaded evidence file), read,
list, revoke, expire; limits on evidence; append-only history; tenant isolation."""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.tenants.apikeys import create_key
from shared.tenants.models import Tenant
from tests.api.test_auth import assert_envelope

URL = "/v1/frameworks/soc2/controls/CC1.1/attestations"


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta or {"days": 90})).isoformat()


def attestation(**changes) -> dict:
    body = {
        "status": "compliant",
        "justification": "The board's audit committee charter and its 2026 minutes show independent oversight.",
        "evidence": {"text": "Minutes of 2026-03-12, item 4", "url": "https://intranet.example.com/board/2026-03"},
        "valid_until": later(),
    }
    body.update(changes)
    return body


def post(client, tenant, body, url: str = URL):
    return client.post(url, json=body, headers=tenant.headers)


def upload(client, tenant, content: bytes, *, body: dict | None = None, filename="soc2-report.pdf"):
    form = {
        "attestation": json.dumps(body or attestation()),
        "file": (io.BytesIO(content), filename, "application/pdf"),
    }
    return client.post(URL, data=form, headers=tenant.headers, content_type="multipart/form-data")


@pytest.fixture()
def named_key(svc, tenant):
    """A second key of the tenant, with a name: attestations record who attested."""
    with svc.db.session() as session:
        row, key = create_key(session, session.get(Tenant, tenant.id), name="Grace (compliance lead)")
        key_id = row.id
    return key_id, {"Authorization": f"Bearer {key}"}


def test_attest_read_and_list(client, tenant, named_key):
    key_id, headers = named_key
    response = client.post(URL, json=attestation(), headers=headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["id"].startswith("att_") and created["state"] == "active"
    assert (created["framework_id"], created["control_id"], created["status"]) == ("soc2", "CC1.1", "compliant")
    assert created["attested_by"] == {"key_id": key_id, "key_name": "Grace (compliance lead)"}
    assert created["evidence"]["url"] == "https://intranet.example.com/board/2026-03"
    assert created["evidence"]["file"] is None and created["revocation"] is None
    assert client.get(f"/v1/attestations/{created['id']}", headers=tenant.headers).get_json() == created
    listed = client.get(URL, headers=tenant.headers).get_json()
    assert [a["id"] for a in listed["attestations"]] == [created["id"]] and listed["pagination"]["total"] == 1
    everything = client.get("/v1/attestations?framework=soc2&state=active", headers=tenant.headers).get_json()
    assert [a["id"] for a in everything["attestations"]] == [created["id"]]
    assert client.get("/v1/attestations?state=revoked", headers=tenant.headers).get_json()["attestations"] == []


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"status": "mostly"}, "status"),
        ({"justification": "   "}, "justification"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"valid_until": later(days=3 * 366 + 2)}, "valid_until"),
        ({"valid_until": "2030-01-01T00:00:00"}, "valid_until"),  # no time zone
        ({"evidence": {"url": "javascript:alert(1)"}}, "evidence.url"),
        ({"evidence": {"file": "x"}}, "evidence.file"),
        ({"attested_by": "someone else"}, "attested_by"),
    ],
)
def test_a_bad_attestation_is_400(client, tenant, changes, field):
    body = assert_envelope(post(client, tenant, attestation(**changes)), 400, "REQ_001")
    assert field in {d["field"] for d in body["details"]}, body


def test_unknown_framework_or_control_is_404(client, tenant):
    assert_envelope(
        post(client, tenant, attestation(), "/v1/frameworks/nope/controls/CC1.1/attestations"), 404, "REQ_404"
    )
    assert_envelope(
        post(client, tenant, attestation(), "/v1/frameworks/soc2/controls/CC99/attestations"), 404, "REQ_404"
    )
    assert_envelope(client.get("/v1/attestations/att_0000000000000000", headers=tenant.headers), 404, "REQ_404")
    unknown = "/v1/frameworks/soc2/controls/CC99/attestations"
    assert_envelope(client.get(unknown, headers=tenant.headers), 404, "REQ_404")


def test_evidence_file_is_kept_with_its_digest(client, tenant):
    content = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\x00 binary tail"
    response = upload(client, tenant, content)
    assert response.status_code == 201, response.get_json()
    file = response.get_json()["evidence"]["file"]
    assert file["sha256"] == hashlib.sha256(content).hexdigest() and file["size"] == len(content)
    assert (file["filename"], file["content_type"]) == ("soc2-report.pdf", "application/pdf")
    download = client.get(file["download_url"].removeprefix("http://localhost"), headers=tenant.headers)
    assert download.status_code == 200 and download.data == content
    assert download.headers["Content-Disposition"] == 'attachment; filename="soc2-report.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_evidence_upload_limits(client, tenant, settings):
    limit = settings.max_evidence_bytes
    body = assert_envelope(upload(client, tenant, b"x" * (limit + 1)), 400, "REQ_001")
    assert body["details"][0]["field"] == "file"
    assert_envelope(upload(client, tenant, b"x" * (limit + 2 * 1024 * 1024)), 413, "REQ_413")
    assert_envelope(upload(client, tenant, b""), 400, "REQ_001")
    form = {"file": (io.BytesIO(b"evidence"), "e.txt", "text/plain")}
    missing = client.post(URL, data=form, headers=tenant.headers, content_type="multipart/form-data")
    assert assert_envelope(missing, 400, "REQ_001")["details"][0]["field"] == "attestation"
    form = {"attestation": "{not json", "file": (io.BytesIO(b"evidence"), "e.txt", "text/plain")}
    broken = client.post(URL, data=form, headers=tenant.headers, content_type="multipart/form-data")
    assert_envelope(broken, 400, "REQ_001")
    assert upload(client, tenant, b"x" * limit).status_code == 201  # exactly the limit is fine
    assert client.get(URL, headers=tenant.headers).get_json()["pagination"]["total"] == 1


def test_revoke_is_recorded_and_final(client, tenant, named_key):
    key_id, headers = named_key
    created = post(client, tenant, attestation()).get_json()
    url = f"/v1/attestations/{created['id']}/revoke"
    assert_envelope(client.post(url, json={}, headers=headers), 400, "REQ_001")
    revoked = client.post(url, json={"reason": "The charter was replaced"}, headers=headers)
    assert revoked.status_code == 200
    revocation = revoked.get_json()["revocation"]
    assert revoked.get_json()["state"] == "revoked" and revocation["reason"] == "The charter was replaced"
    assert revocation["revoked_by"] == {"key_id": key_id, "key_name": "Grace (compliance lead)"}
    again = client.post(url, json={"reason": "twice"}, headers=tenant.headers).get_json()
    assert again["revocation"] == revocation  # the first revocation stands
    assert [
        a["id"] for a in client.get("/v1/attestations?state=revoked", headers=tenant.headers).get_json()["attestations"]
    ] == [created["id"]]


def test_an_attestation_expires_by_itself(client, tenant):
    created = post(client, tenant, attestation(valid_until=later(seconds=2))).get_json()
    assert created["state"] == "active"
    time.sleep(2.2)
    assert client.get(f"/v1/attestations/{created['id']}", headers=tenant.headers).get_json()["state"] == "expired"
    listed = client.get("/v1/attestations?state=expired", headers=tenant.headers).get_json()["attestations"]
    assert [a["id"] for a in listed] == [created["id"]]


def test_history_is_append_only(client, tenant, svc):
    created = post(client, tenant, attestation()).get_json()
    client.post(f"/v1/attestations/{created['id']}/revoke", json={"reason": "r"}, headers=tenant.headers)
    for statement in (
        "UPDATE attestations SET status = 'non_compliant' WHERE id = :id",
        "UPDATE attestation_revocations SET reason = 'edited' WHERE attestation_id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), svc.db.session() as session:
            session.execute(text(statement), {"id": created["id"]})
    assert (
        client.get(f"/v1/attestations/{created['id']}", headers=tenant.headers).get_json()["revocation"]["reason"]
        == "r"
    )


def test_another_tenants_attestations_are_404(client, tenant, make_tenant):
    created = upload(client, tenant, b"evidence").get_json()
    stranger = make_tenant()
    for path in (f"/v1/attestations/{created['id']}", f"/v1/attestations/{created['id']}/evidence"):
        assert_envelope(client.get(path, headers=stranger.headers), 404, "REQ_404")
    revoke = client.post(f"/v1/attestations/{created['id']}/revoke", json={"reason": "x"}, headers=stranger.headers)
    assert_envelope(revoke, 404, "REQ_404")
    assert client.get("/v1/attestations", headers=stranger.headers).get_json()["attestations"] == []
    assert client.get(URL, headers=stranger.headers).get_json()["pagination"]["total"] == 0
    assert client.get(f"/v1/attestations/{created['id']}", headers=tenant.headers).get_json()["state"] == "active"


def test_a_tenants_own_framework_can_be_attested_by_it_alone(client, tenant, make_tenant):
    framework = {
        "id": "acme-baseline",
        "name": "ACME baseline",
        "controls": [{"id": "AB-1", "title": "Vendors are reviewed yearly", "policies": []}],
    }
    assert client.post("/v1/frameworks", json=framework, headers=tenant.headers).status_code == 201
    url = "/v1/frameworks/acme-baseline/controls/AB-1/attestations"
    assert post(client, tenant, attestation(), url).status_code == 201
    assert_envelope(post(client, make_tenant(), attestation(), url), 404, "REQ_404")


def test_each_tenant_has_its_own_share_of_evidence_storage(client, tenant, make_tenant, svc, monkeypatch):
    monkeypatch.setattr(svc, "settings", replace(svc.settings, max_evidence_storage=5000))
    assert upload(client, tenant, b"a" * 3000).status_code == 201
    full = assert_envelope(upload(client, tenant, b"b" * 2001), 400, "REQ_001")
    assert full["details"][0]["field"] == "file" and "3000 of its 5000 bytes" in full["details"][0]["message"]
    assert upload(client, tenant, b"c" * 2000).status_code == 201  # exactly the share
    assert post(client, tenant, attestation()).status_code == 201  # text and links take no file storage
    assert upload(client, make_tenant(), b"d" * 5000).status_code == 201  # another tenant's share is its own
