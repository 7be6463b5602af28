"""PostgreSQL schema of cloud accounts: what scans target."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, new_id, utcnow

PROVIDERS = ("aws", "azure", "gcp", "hybrid")


class CloudAccount(Base):
    __tablename__ = "cloud_accounts"
    __table_args__ = (
        Index(
            "uq_cloud_accounts_tenant_name",
            "tenant_id",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_cloud_accounts_targets", "tenant_id", "environment", "provider"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("acc"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(64))
    regions: Mapped[list] = mapped_column(default=list)
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    endpoint_url: Mapped[str | None] = mapped_column(String(500))
    # "api": listed through the provider's API; "inventory": evaluated from pushed uploads.
    collection: Mapped[str] = mapped_column(String(16), default="api", server_default="api")
    inventory_pushed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
