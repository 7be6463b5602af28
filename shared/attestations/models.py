"""PostgreSQL schema of attestations and their revocations: rows are only ever inserted (a trigger
refuses updates), so every change stays on record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from shared.platform.db import Base, new_id, utcnow


class Attestation(Base):
    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_control", "tenant_id", "framework_id", "control_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("att"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    framework_id: Mapped[str] = mapped_column(String(64))
    control_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # compliant | non_compliant | not_applicable
    justification: Mapped[str] = mapped_column(Text)
    evidence_text: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2048))
    # An uploaded file: read only when downloaded.
    evidence_file: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_content_type: Mapped[str | None] = mapped_column(String(128))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    valid_until: Mapped[datetime]
    attested_by_key_id: Mapped[str] = mapped_column(String(32))
    attested_by_key_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttestationRevocation(Base):
    """An attestation withdrawn: who, when and why. At most one per attestation."""

    __tablename__ = "attestation_revocations"

    attestation_id: Mapped[str] = mapped_column(ForeignKey("attestations.id", ondelete="CASCADE"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    revoked_by_key_id: Mapped[str] = mapped_column(String(32))
    revoked_by_key_name: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)
