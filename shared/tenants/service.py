"""Tenants: the unit of isolation, of API keys and of scan limits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.platform.settings import Settings
from shared.tenants.models import Tenant


def create_tenant(
    session: Session, settings: Settings, name: str, *, max_concurrent: int | None = None, max_queued: int | None = None
) -> Tenant:
    tenant = Tenant(
        name=name,
        max_concurrent=max_concurrent or settings.default_max_concurrent,
        max_queued=settings.default_max_queued if max_queued is None else max_queued,
    )
    session.add(tenant)
    session.flush()
    return tenant


def tenant_by_name(session: Session, name: str) -> Tenant | None:
    return session.scalar(select(Tenant).where(Tenant.name == name))
