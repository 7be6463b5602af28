"""PostgreSQL schema of tenants' own policies and frameworks: the same documents as the built-in files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, utcnow


class CustomPolicy(Base):
    """A tenant's own policy: the same document and language as the built-in files."""

    __tablename__ = "custom_policies"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    document: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomFramework(Base):
    """A tenant's own framework: controls that name built-in or custom policy ids."""

    __tablename__ = "custom_frameworks"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    framework_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
