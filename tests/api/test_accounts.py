"""/v1/accounts: create, list, get, delete; credentials encrypted at rest and never returned."""

from __future__ import annotations

import json

import pytest

from shared.accounts.models import CloudAccount
from tests.api.test_auth import assert_envelope


def test_create_get_list_delete(client, tenant, make_account):
    account = make_account(tenant, endpoint_url="http://127.0.0.1:9", regions=("eu-west-1",), name="prod-aws")
    assert account["id"].startswith("acc_") and account["has_credentials"] is True
    assert account["regions"] == ["eu-west-1"] and account["environment"] == "production"
    assert "credentials" not in account
    fetched = client.get(f"/v1/accounts/{account['id']}", headers=tenant.headers).get_json()
    assert fetched == account
    listing = client.get("/v1/accounts?provider=aws&environment=production", headers=tenant.headers).get_json()
    assert [a["id"] for a in listing["accounts"]] == [account["id"]]
    assert listing["pagination"] == {"total": 1, "limit": 50, "offset": 0, "has_more": False}
    assert client.get("/v1/accounts?environment=staging", headers=tenant.headers).get_json()["accounts"] == []
    assert client.delete(f"/v1/accounts/{account['id']}", headers=tenant.headers).status_code == 204
    assert_envelope(client.get(f"/v1/accounts/{account['id']}", headers=tenant.headers), 404, "REQ_404")


def test_credentials_are_encrypted_at_rest_and_never_returned(client, svc, tenant, make_account):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    account = make_account(tenant, credentials={"access_key_id": "AKIAEXAMPLE", "secret_access_key": secret})
    with svc.db.session() as session:
        row = session.get(CloudAccount, account["id"])
        stored = bytes(row.credentials_encrypted)
    assert secret.encode() not in stored and b"AKIAEXAMPLE" not in stored
    assert svc.vault.decrypt(stored)["secret_access_key"] == secret
    for response in (
        client.get(f"/v1/accounts/{account['id']}", headers=tenant.headers),
        client.get("/v1/accounts", headers=tenant.headers),
    ):
        assert secret not in response.get_data(as_text=True)
    client.delete(f"/v1/accounts/{account['id']}", headers=tenant.headers)
    with svc.db.session() as session:
        assert session.get(CloudAccount, account["id"]).credentials_encrypted is None


def test_duplicate_name_is_409(client, tenant, make_account):
    make_account(tenant, name="dup")
    response = client.post(
        "/v1/accounts",
        headers=tenant.headers,
        json={"provider": "aws", "name": "dup", "environment": "production"},
    )
    assert_envelope(response, 409, "REQ_409")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"provider": "oracle", "name": "x", "environment": "p"}, "provider"),
        ({"provider": "aws", "environment": "p"}, "name"),
        ({"provider": "aws", "name": "x", "environment": "p", "credentials": {"password": "x"}}, "credentials"),
        ({"provider": "aws", "name": "x", "environment": "p", "credentials": {"access_key_id": "A"}}, "credentials"),
        ({"provider": "aws", "name": "x", "environment": "p", "endpoint_url": "not a url"}, "endpoint_url"),
        ({"provider": "aws", "name": "x", "environment": "p", "regions": ["EU WEST"]}, "regions[0]"),
        ({"provider": "aws", "name": "x", "environment": "p", "colour": "blue"}, "colour"),
    ],
)
def test_invalid_account_is_400_with_field(client, tenant, body, field):
    details = assert_envelope(client.post("/v1/accounts", headers=tenant.headers, json=body), 400, "REQ_001")["details"]
    assert field in [d["field"] for d in details], json.dumps(details)


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5:4566", "http://169.254.169.254/latest", "http://[::1]:9000", "http://192.168.1.10"],
)
def test_endpoint_override_must_be_public_or_allow_listed(client, tenant, url):
    """The endpoint override is a URL a tenant makes the workers call: the metadata service or the
    operator's private network are refused unless the operator allow-lists them (loopback is, here)."""
    body = {"provider": "aws", "name": f"n-{url}", "environment": "p", "endpoint_url": url}
    details = assert_envelope(client.post("/v1/accounts", headers=tenant.headers, json=body), 400, "REQ_001")["details"]
    assert [d["field"] for d in details] == ["endpoint_url"]
    assert "POLICYCORTEX_OUTBOUND_ALLOWLIST" in details[0]["message"]


def test_endpoint_override_is_checked_again_when_collected(svc, tenant, make_account):
    """An allow-list narrowed after the account was created stops collection with a clear error."""
    from dataclasses import replace

    from shared.inventory.collectors.base import CollectionError
    from shared.inventory.collectors.providers import collector_for
    from shared.platform.context import Services

    account = make_account(tenant, endpoint_url="http://127.0.0.1:9")
    with svc.db.session() as session:
        row = session.get(CloudAccount, account["id"])
    narrowed = Services(replace(svc.settings, outbound_allowlist=()), _db=svc.db)
    with pytest.raises(CollectionError, match="endpoint_url refused: 127.0.0.1 is not a public address"):
        collector_for(row, narrowed)
    assert collector_for(row, svc) is not None
