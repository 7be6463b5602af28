"""PostgreSQL schema of schedules and their runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, new_id, utcnow


class Schedule(Base):
    """A recurring scan: a cron expression in an IANA time zone, the scan to run, and the
    triggers (resource changes, policy updates, drift, webhooks) that may also run it."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sch"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    scan_config: Mapped[dict]
    notifications: Mapped[dict]
    triggers: Mapped[dict] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # When it was last enabled again: occurrences while it was paused are not owed.
    resumed_at: Mapped[datetime | None]
    webhook_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_at: Mapped[datetime | None]
    last_scan_id: Mapped[str | None] = mapped_column(String(32))


class ScheduleRun(Base):
    """One firing of a schedule. UNIQUE(schedule, trigger, fire time) makes duplicate fires (two
    beats, a redelivered task) create one scan."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("schedule_id", "trigger", "fire_time", name="uq_schedule_runs_fire"),
        Index("ix_schedule_runs_schedule_created", "schedule_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(32))
    fire_time: Mapped[datetime]
    scan_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # created | rejected | skipped (a missed occurrence)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
