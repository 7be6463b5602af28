"""PostgreSQL schema of notifications: a tenant's channels and every delivery to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, new_id, public_id_default, utcnow


class NotificationChannel(Base):
    """Where a tenant's notifications go. `config` is what the API shows; secrets (SMTP password,
    Slack webhook URL, webhook signing secret) live only in `secrets_encrypted`."""

    __tablename__ = "notification_channels"
    __table_args__ = (
        Index(
            "uq_notification_channels_tenant_name",
            "tenant_id",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_notification_channels_tenant_type", "tenant_id", "type"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("chn"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict]
    secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: past deliveries keep naming the channel; its secrets are destroyed at once.
    deleted_at: Mapped[datetime | None]


class NotificationDelivery(Base):
    """One message to one channel, with its outcome. Scan events are delivered once per channel:
    a second notify for the same (channel, event, scan) is ignored."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_tenant_created", "tenant_id", "created_at"),
        Index("ix_notification_deliveries_channel", "channel_id", "created_at"),
        Index("ix_notification_deliveries_scan", "scan_id"),
        # Housekeeping looks for pending deliveries whose attempt is overdue.
        Index(
            "ix_notification_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "uq_notification_deliveries_once",
            "channel_id",
            "event",
            "scan_id",
            unique=True,
            postgresql_where=text("scan_id IS NOT NULL"),
        ),
        Index("uq_notification_deliveries_public_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # What callers and receivers see (`dlv_` and 16 random hex digits), never the serial id.
    public_id: Mapped[str] = mapped_column(String(32), server_default=text(public_id_default("dlv_")))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # None for a notification that was not sent because the tenant has no enabled channel of the type.
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("notification_channels.id", ondelete="CASCADE"))
    channel_type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    scan_id: Mapped[str | None] = mapped_column(String(32))
    schedule_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
