"""PostgreSQL schema of automatic remediation attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, utcnow


class RemediationAttempt(Base):
    """One automatic remediation of one violation: what the setting was, what it became."""

    __tablename__ = "remediation_attempts"
    __table_args__ = (UniqueConstraint("scan_id", "violation_id", name="uq_remediation_attempts_violation"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    violation_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))  # fixed | dry_run | failed
    before: Mapped[dict | None]
    after: Mapped[dict | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
