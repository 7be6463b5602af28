"""PostgreSQL schema of findings (one problem of one resource, across scans), their status
history, and the mute rules that record accepted risk (every change kept, append-only)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from shared.platform.db import Base, new_id, utcnow

FINDING_STATUSES = ("open", "resolved", "muted")
# The uid and the name in one text (a space between), as the resource glob's trigram index holds them.
RESOURCE_TEXT = "((resource_uid || ' ') || resource_name)"


def finding_id(fingerprint: str) -> str:
    """A finding's public id, derived from its fingerprint (policy, account, resource): a scan's
    violation names its finding without a lookup, and nothing about volumes leaks."""
    return "fnd_" + hashlib.sha256(f"finding:{fingerprint}".encode()).hexdigest()[:16]


class Finding(Base):
    """The latest state of one (account, resource, policy) pair: written by every scan that judges
    it, and by mute rules."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint", name="uq_findings_tenant_fingerprint"),
        Index("uq_findings_public_id", "public_id", unique=True),
        # Keyset pages ordered by id: unfiltered, or led by the filters most lists use.
        Index("ix_findings_tenant_id", "tenant_id", "id"),
        Index("ix_findings_tenant_status", "tenant_id", "status", "id"),
        Index("ix_findings_tenant_severity", "tenant_id", "severity", "id"),
        Index("ix_findings_tenant_policy", "tenant_id", "policy_id", "id"),
        Index("ix_findings_tenant_account", "tenant_id", "account_id", "id"),
        Index("ix_findings_tenant_first_seen", "tenant_id", "first_seen_at", "id"),
        # Resource globs (`*name*`) are LIKE patterns with a leading wildcard: one trigram index over
        # the uid and the name together narrows them (shared.findings.queries), then each is checked.
        Index(
            "ix_findings_resource_trgm",
            literal_column(RESOURCE_TEXT).label("resource_text"),
            postgresql_using="gin",
            postgresql_ops={"resource_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_uid: Mapped[str] = mapped_column(Text)
    resource_name: Mapped[str] = mapped_column(Text)
    policy_id: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    status_extended: Mapped[str] = mapped_column(Text)
    muted_by: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    status_changed_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    first_scan_id: Mapped[str] = mapped_column(String(32))
    last_scan_id: Mapped[str] = mapped_column(String(32))
    # The resource configuration version recorded by the scan that (re)opened the finding: the change
    # that introduced it (None when the configuration did not change then, e.g. a new policy).
    introduced_by_version_id: Mapped[int | None] = mapped_column(BigInteger)


class FindingEvent(Base):
    """One status change of a finding: what it became, why, and the scan or rule behind it."""

    __tablename__ = "finding_events"
    __table_args__ = (Index("ix_finding_events_finding", "finding_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    scan_id: Mapped[str | None] = mapped_column(String(32))
    mute_rule_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class MuteRule(Base):
    """Accepted risk: findings matching every selector it sets (policy ids, accounts, regions,
    resource globs, tags) are muted until it expires or is disabled."""

    __tablename__ = "mute_rules"
    __table_args__ = (Index("ix_mute_rules_tenant", "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("mute"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    policy_ids: Mapped[list]
    account_ids: Mapped[list]
    regions: Mapped[list]
    resources: Mapped[list]  # globs over the resource uid or name
    tags: Mapped[dict]  # tag key -> glob over its value
    expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_key_id: Mapped[str] = mapped_column(String(32))
    created_by_key_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When its expiry was applied to the findings (None: not expired, or not yet applied).
    expiry_applied_at: Mapped[datetime | None]


class MuteRuleChange(Base):
    """Every change of a mute rule (created, updated, disabled, expired) with the rule as it became
    and who made it: rows are only ever inserted (a trigger refuses updates)."""

    __tablename__ = "mute_rule_changes"
    __table_args__ = (Index("ix_mute_rule_changes_rule", "rule_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("mute_rules.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    rule: Mapped[dict]
    changed_by_key_id: Mapped[str | None] = mapped_column(String(32))
    changed_by_key_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)
