"""/v1/accounts: the cloud accounts scans target. Credentials go in, never out."""

from __future__ import annotations

from flask import Blueprint, request

from api.context import json_body, load, pagination, services, tenant_id
from api.idempotency import idempotent
from shared.accounts import service as accounts
from shared.findings.lifecycle import close_account_findings
from shared.inventory import uploads, verify
from shared.platform.db import utcnow

bp = Blueprint("accounts", __name__, url_prefix="/v1/accounts")


@bp.post("")
@idempotent
def create_account():
    data = load(accounts.AccountRequestSchema(), json_body())
    return accounts.render(accounts.create_account(services(), tenant_id(), data)), 201


@bp.get("")
def list_accounts():
    query = load(accounts.AccountListQuerySchema(), request.args.to_dict())
    with services().db.session() as session:
        rows, total = accounts.list_accounts(session, tenant_id(), query)
    return {
        "accounts": [accounts.render(row) for row in rows],
        "pagination": pagination(total, query["limit"], query["offset"], len(rows)),
    }


@bp.get("/<account_id>")
def get_account(account_id: str):
    with services().db.session() as session:
        return accounts.render(accounts.get_account(session, tenant_id(), account_id))


@bp.delete("/<account_id>")
def delete_account(account_id: str):
    """Remove an account (soft: past scans keep naming it); its open findings are resolved."""
    accounts.delete_account(services(), tenant_id(), account_id)
    with services().db.session() as session:
        close_account_findings(session, tenant_id(), account_id, utcnow())
    return "", 204


@bp.post("/<account_id>/verify")
def verify_account(account_id: str):
    return verify.verify_account(services(), tenant_id(), account_id)


@bp.post("/<account_id>/inventory")
def push_inventory(account_id: str):
    request.max_content_length = services().settings.max_upload_length  # inventories are large
    summary = uploads.push_upload(
        services(), tenant_id(), account_id, request.content_type, request.stream, request.args.get("mode")
    )
    return summary, 202


# Read as a stream, never buffered: the input guard leaves this body to the upload's own checks,
# which refuse NUL characters (and whatever else PostgreSQL cannot store) naming where they are.
push_inventory.streams_body = True
