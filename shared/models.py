"""PostgreSQL schema: tenants, API keys, cloud accounts, scans, shards, inventory and violations."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Public ids look like the API reference's: `scan_1234567890abcdef`."""
    return f"{prefix}_{secrets.token_hex(8)}"


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSONB, list: JSONB, datetime: DateTime(timezone=True)}


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ten"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    max_concurrent: Mapped[int] = mapped_column(Integer)
    max_queued: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("key"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(8))  # live | test
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings; the key itself never is
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(default=lambda: ["read", "write"])
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


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
    estimated_resources: Mapped[int | None]
    estimated_duration_s: Mapped[int | None]
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


class Resource(Base):
    """The inventory: one row per cloud resource per account, refreshed by every scan that sees it."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("account_id", "resource_uid", name="uq_resources_account_uid"),
        Index("ix_resources_tenant_type", "tenant_id", "resource_type"),
        Index("ix_resources_account_type", "account_id", "resource_type"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
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
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_scan_id: Mapped[str | None] = mapped_column(String(32))


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = (
        UniqueConstraint("scan_id", "fingerprint", name="uq_violations_scan_fingerprint"),
        # Keyset pages (ordered by id) of a scan's violations, unfiltered or by severity or policy.
        Index("ix_violations_scan_severity", "scan_id", "severity", "id"),
        Index("ix_violations_scan_policy", "scan_id", "policy_id", "id"),
        Index("ix_violations_scan_id", "scan_id", "id"),
        Index("ix_violations_resource", "account_id", "resource_uid"),
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    status: Mapped[str] = mapped_column(String(16))  # created | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
