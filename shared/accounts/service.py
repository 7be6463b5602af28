"""Cloud accounts: what a scan targets, with credentials encrypted at rest and never returned."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shared.accounts.models import PROVIDERS, CloudAccount
from shared.platform.context import Services
from shared.platform.db import utcnow
from shared.platform.durations import iso
from shared.platform.errors import Conflict, InvalidRequest, NotFound
from shared.platform.outbound import BlockedDestination
from shared.platform.schemas import http_url, offset_field
from shared.platform.settings import PREFIX

# Which credential fields each provider accepts; anything else is rejected, not stored.
CREDENTIAL_FIELDS = {
    "aws": {"access_key_id", "secret_access_key", "session_token", "role_arn", "external_id"},
    "azure": {"tenant_id", "client_id", "client_secret", "subscription_id", "access_token"},
    "gcp": {"service_account_json", "project_id"},
    "hybrid": set(),
}


COLLECTIONS = ("api", "inventory")


class AccountRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    environment = fields.String(required=True, validate=validate.Length(min=1, max=64))
    regions = fields.List(fields.String(validate=validate.Regexp(r"^[a-z0-9-]{2,40}$")), load_default=list)
    credentials = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    endpoint_url = http_url(load_default=None, allow_none=True)
    collection = fields.String(load_default=None, validate=validate.OneOf(COLLECTIONS))

    @validates_schema
    def _credentials(self, data: dict, **kwargs) -> None:
        allowed = CREDENTIAL_FIELDS.get(data.get("provider"), set())
        credentials = data.get("credentials") or {}
        unknown = sorted(set(credentials) - allowed)
        if unknown:
            raise ValidationError(
                f"Unknown credential field(s) for {data.get('provider')}: {', '.join(unknown)}", "credentials"
            )
        if data.get("provider") == "hybrid" and data.get("collection") == "api":
            raise ValidationError("Hybrid accounts are evaluated from pushed inventories", "collection")
        if data.get("provider") == "aws" and bool(credentials.get("access_key_id")) != bool(
            credentials.get("secret_access_key")
        ):
            raise ValidationError("access_key_id and secret_access_key go together", "credentials")


class AccountListQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    provider = fields.String(validate=validate.OneOf(PROVIDERS))
    environment = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = offset_field()


def render(account: CloudAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "provider": account.provider,
        "name": account.name,
        "environment": account.environment,
        "regions": account.regions,
        "endpoint_url": account.endpoint_url,
        "collection": account.collection,
        "inventory_pushed_at": iso(account.inventory_pushed_at),
        "has_credentials": account.credentials_encrypted is not None,
        "created_at": iso(account.created_at),
    }


def check_endpoint(svc: Services, endpoint_url: str | None) -> None:
    """An endpoint override is a URL a tenant makes us call: public, or allow-listed by the operator."""
    if endpoint_url:
        try:
            svc.settings.outbound_guard.check_url(endpoint_url)
        except BlockedDestination as exc:
            raise InvalidRequest(
                "The account's endpoint_url is not allowed",
                details=[{"field": "endpoint_url", "message": f"{exc}; allow-list it in {PREFIX}OUTBOUND_ALLOWLIST"}],
            ) from None


def create_account(svc: Services, tenant_id: str, data: dict) -> CloudAccount:
    check_endpoint(svc, data["endpoint_url"])
    credentials = data["credentials"]
    account = CloudAccount(
        tenant_id=tenant_id,
        provider=data["provider"],
        name=data["name"],
        environment=data["environment"],
        regions=data["regions"],
        endpoint_url=data["endpoint_url"],
        collection=data["collection"] or ("inventory" if data["provider"] == "hybrid" else "api"),
        credentials_encrypted=svc.vault.encrypt(credentials) if credentials else None,
    )
    try:
        with svc.db.session() as session:
            session.add(account)
    except IntegrityError:
        raise Conflict(f"An account named '{data['name']}' already exists") from None
    return account


def get_account(session, tenant_id: str, account_id: str) -> CloudAccount:
    account = session.scalar(
        select(CloudAccount).where(
            CloudAccount.id == account_id, CloudAccount.tenant_id == tenant_id, CloudAccount.deleted_at.is_(None)
        )
    )
    if account is None:
        raise NotFound(f"Account {account_id} does not exist")
    return account


def list_accounts(session, tenant_id: str, query: dict) -> tuple[list[CloudAccount], int]:
    conditions = [CloudAccount.tenant_id == tenant_id, CloudAccount.deleted_at.is_(None)]
    for name in ("provider", "environment"):
        if query.get(name):
            conditions.append(getattr(CloudAccount, name) == query[name])
    total = session.scalar(select(func.count()).select_from(CloudAccount).where(*conditions))
    rows = session.scalars(
        select(CloudAccount)
        .where(*conditions)
        .order_by(CloudAccount.created_at, CloudAccount.id)
        .limit(query["limit"])
        .offset(query["offset"])
    ).all()
    return list(rows), total


def delete_account(svc: Services, tenant_id: str, account_id: str) -> None:
    """Soft delete: past scans keep pointing at it; its credentials are destroyed now."""
    with svc.db.session() as session:
        account = get_account(session, tenant_id, account_id)
        account.deleted_at = utcnow()
        account.credentials_encrypted = None
