"""PostgreSQL schema of the inventory: one row per resource per account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, public_id_default, utcnow


class Resource(Base):
    """The inventory: one row per cloud resource per account, refreshed by every scan that sees it."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("account_id", "resource_uid", name="uq_resources_account_uid"),
        Index("ix_resources_tenant_type", "tenant_id", "resource_type"),
        Index("ix_resources_account_type", "account_id", "resource_type"),
        Index("uq_resources_public_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # What callers see (`res_` and 16 random hex digits): a serial id would tell every tenant how
    # many resources all the others have.
    public_id: Mapped[str] = mapped_column(String(32), server_default=text(public_id_default("res_")))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("cloud_accounts.id"))
    provider: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_uid: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    config: Mapped[dict]
    config_hash: Mapped[str] = mapped_column(String(64))
    # When config_hash last changed: incremental scans re-evaluate only what changed since their baseline.
    config_changed_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # The number of configurations recorded in resource_versions (it grows when config_hash changes).
    config_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_scan_id: Mapped[str | None] = mapped_column(String(32))


class ResourceVersion(Base):
    """One configuration of a resource, recorded when its hash changed (volatile fields excluded),
    with the scan that saw it: the resource's history, and what introduced a finding."""

    __tablename__ = "resource_versions"
    __table_args__ = (UniqueConstraint("resource_id", "version", name="uq_resource_versions_version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict]
    scan_id: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
