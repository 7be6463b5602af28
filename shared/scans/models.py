"""PostgreSQL schema of scans: the scan, its shards and the violations they found."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, new_id, utcnow


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (
        # Listings: newest first with the id as tie-break; the filters ride along so counts and
        # deep offsets are index-only scans.
        Index(
            "ix_scans_tenant_created",
            "tenant_id",
            "created_at",
            "id",
            postgresql_include=["status", "environment", "scan_type"],
        ),
        Index("ix_scans_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_scans_scope_history", "tenant_id", "scope_key", "status", "completed_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("scan"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    scan_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(64))
    cloud_providers: Mapped[list]
    frameworks: Mapped[list]
    policy_ids: Mapped[list]
    account_ids: Mapped[list]
    scope: Mapped[dict]
    execution: Mapped[dict]
    notifications: Mapped[dict]
    remediation: Mapped[dict] = mapped_column(default=dict, server_default="{}")
    # Scans of the same scope_key are compared with each other (previous score, new/resolved).
    scope_key: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32), default="api")
    schedule_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    # A future scan (execution.immediate false) waits as pending until then, outside the queue.
    scheduled_for: Mapped[datetime | None]
    estimated_resources: Mapped[int | None]
    estimated_duration_s: Mapped[int | None]
    # Where the estimates come from: history, inventory or heuristic (shared.scans.service).
    estimate_basis: Mapped[str | None] = mapped_column(String(16))
    previous_scan_id: Mapped[str | None] = mapped_column(String(32))
    shards_total: Mapped[int] = mapped_column(Integer, default=0)
    resources_scanned: Mapped[int] = mapped_column(Integer, default=0)
    total_resources: Mapped[int] = mapped_column(Integer, default=0)
    compliance_score: Mapped[float | None] = mapped_column(Float)
    total_violations: Mapped[int] = mapped_column(Integer, default=0)
    # Derived once by finalize: the results and remediation objects of the API reference.
    results: Mapped[dict | None]
    # Set by retention (shared.scans.retention) when the scan's violations were deleted.
    violations_purged_at: Mapped[datetime | None]


class ScanShard(Base):
    __tablename__ = "scan_shards"
    __table_args__ = (UniqueConstraint("scan_id", "account_id", "region", "part", name="uq_scan_shards_unit"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("cloud_accounts.id"))
    provider: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(64))
    # A large (account, region) runs as several shards, parts 0..n-1, each with its own resource types.
    part: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    resource_types: Mapped[list]
    # What the last inventory held of its types in its unit (None: never listed): its progress weight.
    expected_resources: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    resources_scanned: Mapped[int] = mapped_column(Integer, default=0)
    violations_found: Mapped[int] = mapped_column(Integer, default=0)
    resources_carried: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # {policy_id: [evaluated, failed]}: the raw material of every score.
    policy_stats: Mapped[dict] = mapped_column(default=dict)
    errors: Mapped[list] = mapped_column(default=list)
    # Seconds spent listing, evaluating, writing and reporting progress: where a scan's time goes.
    timings: Mapped[dict] = mapped_column(default=dict, server_default="{}")
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


def violation_id(scan_id: str, fingerprint: str) -> str:
    """A violation's public id: opaque (the serial id would tell a tenant everyone's volume) and
    derived, so nothing more is stored for it."""
    return "vio_" + hashlib.sha256(f"{scan_id}:{fingerprint}".encode()).hexdigest()[:16]


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("scan_id", "fingerprint", name="uq_violations_scan_fingerprint"),
        # Keyset pages (ordered by id) of a scan's violations, unfiltered or by severity or policy.
        Index("ix_violations_scan_severity", "scan_id", "severity", "id"),
        Index("ix_violations_scan_policy", "scan_id", "policy_id", "id"),
        Index("ix_violations_scan_id", "scan_id", "id"),
        Index("ix_violations_resource", "account_id", "resource_uid"),
        # The scans that saw a finding (its fingerprint), newest first.
        Index("ix_violations_fingerprint", "fingerprint", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    shard_id: Mapped[int] = mapped_column(BigInteger)
    # sha1(policy, account, resource): the same finding in two scans has the same fingerprint.
    fingerprint: Mapped[str] = mapped_column(String(40))
    policy_id: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_uid: Mapped[str] = mapped_column(Text)
    resource_name: Mapped[str] = mapped_column(Text)
    status_extended: Mapped[str] = mapped_column(Text)
    effort_minutes: Mapped[int] = mapped_column(Integer)
    is_new: Mapped[bool | None] = mapped_column(Boolean)
    remediation_status: Mapped[str | None] = mapped_column(String(16))
    # The mute rule that covers it: shown, but left out of the score, counts and breakdown.
    muted_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
