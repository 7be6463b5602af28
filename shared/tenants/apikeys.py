"""API keys: `sk_live_...`/`sk_test_...`, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.platform.db import utcnow
from shared.tenants.models import ApiKey, Tenant

SCOPES = ("read", "write", "admin")
MODES = ("live", "test")


def hash_key(key: str) -> str:
    # Keys carry 192 bits of randomness, so a fast hash is safe and keeps lookups O(1).
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant a key belongs to, and what the key may do."""

    tenant_id: str
    key_id: str
    scopes: frozenset[str]
    key_name: str = ""  # what the key's owner called it: who did what, in records such as attestations


def create_key(
    session: Session,
    tenant: Tenant,
    *,
    mode: str = "live",
    name: str = "",
    scopes: tuple[str, ...] = ("read", "write"),
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for `tenant`; returns the row and the plaintext key, which is never stored."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    plaintext = f"sk_{mode}_{secrets.token_hex(24)}"
    row = ApiKey(
        tenant_id=tenant.id,
        name=name,
        mode=mode,
        prefix=plaintext[:12],
        key_hash=hash_key(plaintext),
        scopes=list(scopes),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def authenticate(session: Session, presented: str) -> Principal | None:
    """The principal for a presented key, or None when it is unknown, revoked or expired."""
    if not presented.startswith(("sk_live_", "sk_test_")):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented)))
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        # Coarse on purpose: one write a minute per key, not one per request.
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=now))
    return Principal(tenant_id=row.tenant_id, key_id=row.id, scopes=frozenset(row.scopes), key_name=row.name)


def revoke_key(session: Session, key_id: str) -> bool:
    result = session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount == 1
