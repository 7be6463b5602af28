"""Verifying an account: its credentials, and one read per service its scans will call."""

from __future__ import annotations

from typing import Any

from shared.accounts.service import get_account
from shared.inventory.collectors.base import CollectionError
from shared.inventory.collectors.providers import collector_for
from shared.platform.context import Services


def verify_account(svc: Services, tenant_id: str, account_id: str) -> dict[str, Any]:
    """Check the account's credentials and the permissions a scan needs, saying what is missing."""
    with svc.db.session() as session:
        account = get_account(session, tenant_id, account_id)
    try:
        checks = collector_for(account, svc).verify()
    except CollectionError as exc:
        checks = [{"check": "credentials", "ok": False, "message": f"{exc.code}: {exc.message}"}]
    return {"account_id": account.id, "verified": all(c["ok"] for c in checks), "checks": checks}
