"""Idempotency-Key on creations: the same POST sent twice creates one object (issue 16)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.accounts.models import CloudAccount
from shared.scans.models import Scan
from tests.api.test_auth import assert_envelope
from tests.api.test_schedules import REFERENCE
from tests.conftest import provision, scan_body


def post(client, tenant, path, body, key):
    return client.post(path, headers={**tenant.headers, "Idempotency-Key": key}, json=body)


def count(svc, model, tenant) -> int:
    with svc.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant.id))


def test_the_same_scan_post_twice_creates_one_scan(client, svc, tenant, make_account, moto):
    make_account(tenant, endpoint_url=moto)
    body = scan_body()
    first = post(client, tenant, "/v1/scans", body, "retry-7f3a")
    second = post(client, tenant, "/v1/scans", body, "retry-7f3a")
    assert first.status_code == second.status_code == 202
    assert second.get_json() == first.get_json() and second.headers["Idempotent-Replayed"] == "true"
    assert count(svc, Scan, tenant) == 1
    # Another key is another scan; the same key with another body is refused.
    assert post(client, tenant, "/v1/scans", body, "retry-8b1c").status_code == 202
    reused = post(client, tenant, "/v1/scans", {**body, "name": "Other"}, "retry-7f3a")
    assert_envelope(reused, 422, "REQ_422")
    assert count(svc, Scan, tenant) == 2


def test_schedules_and_accounts_are_idempotent_and_secrets_replay_sealed(client, svc, tenant):
    provision(client, tenant, REFERENCE)
    first = post(client, tenant, "/v1/scans/schedules", REFERENCE, "sch-1")
    again = post(client, tenant, "/v1/scans/schedules", REFERENCE, "sch-1")
    assert first.status_code == again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    secret = first.get_json()["webhook"]["secret"]
    assert all(secret.encode() not in svc.redis.get(k) for k in svc.redis.scan_iter("pc:idempotency:*"))
    account = {"provider": "aws", "name": "idem", "environment": "staging"}
    before = count(svc, CloudAccount, tenant)
    assert post(client, tenant, "/v1/accounts", account, "acc-1").status_code == 201
    assert post(client, tenant, "/v1/accounts", account, "acc-1").status_code == 201  # not 409: the first answer
    assert count(svc, CloudAccount, tenant) == before + 1


def test_keys_belong_to_their_tenant(client, tenant, make_tenant, make_account, moto):
    other = make_tenant()
    for owner in (tenant, other):
        make_account(owner, endpoint_url=moto)
    a = post(client, tenant, "/v1/scans", scan_body(), "shared-key")
    b = post(client, other, "/v1/scans", scan_body(), "shared-key")
    assert a.get_json()["id"] != b.get_json()["id"] and "Idempotent-Replayed" not in b.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_bad_keys_are_400(client, tenant, key):
    response = client.post(
        "/v1/accounts",
        headers={**tenant.headers, "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
        json={"provider": "aws", "name": "k", "environment": "p"},
    )
    assert assert_envelope(response, 400, "REQ_001")["details"][0]["field"] == "Idempotency-Key"


def test_a_failed_first_request_frees_its_key(client, tenant, make_account, moto):
    body = scan_body()
    assert post(client, tenant, "/v1/scans", body, "first-fails").status_code == 400  # no account yet
    make_account(tenant, endpoint_url=moto)
    assert post(client, tenant, "/v1/scans", body, "first-fails").status_code == 202
