"""findings across scans with their status history, mute rules (changes append-only), resource
configuration versions, and muted violations

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("public_id", sa.String(32), nullable=False),
        _tenant(),
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_uid", sa.Text(), nullable=False),
        sa.Column("resource_name", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_extended", sa.Text(), nullable=False),
        sa.Column("muted_by", sa.String(32), nullable=True),
        sa.Column("first_seen_at", STAMP, nullable=False),
        sa.Column("last_seen_at", STAMP, nullable=False),
        sa.Column("status_changed_at", STAMP, nullable=False),
        sa.Column("resolved_at", STAMP, nullable=True),
        sa.Column("first_scan_id", sa.String(32), nullable=False),
        sa.Column("last_scan_id", sa.String(32), nullable=False),
        sa.Column("introduced_by_version_id", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_findings_tenant_fingerprint"),
    )
    op.create_index("uq_findings_public_id", "findings", ["public_id"], unique=True)
    for name, columns in (
        ("id", ["id"]),
        ("status", ["status", "id"]),
        ("severity", ["severity", "id"]),
        ("policy", ["policy_id", "id"]),
        ("account", ["account_id", "id"]),
        ("first_seen", ["first_seen_at", "id"]),
    ):
        op.create_index(f"ix_findings_tenant_{name}", "findings", ["tenant_id", *columns])
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_findings_resource_trgm ON findings "
        "USING gin (((resource_uid || ' ') || resource_name) gin_trgm_ops)"
    )
    op.create_table(
        "finding_events",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("finding_id", sa.BigInteger(), sa.ForeignKey("findings.id", ondelete="CASCADE"), nullable=False),
        _tenant(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("scan_id", sa.String(32), nullable=True),
        sa.Column("mute_rule_id", sa.String(32), nullable=True),
        sa.Column("at", STAMP, nullable=False),
    )
    op.create_index("ix_finding_events_finding", "finding_events", ["finding_id", "id"])
    op.create_table(
        "mute_rules",
        sa.Column("id", sa.String(32), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy_ids", JSONB(), nullable=False),
        sa.Column("account_ids", JSONB(), nullable=False),
        sa.Column("regions", JSONB(), nullable=False),
        sa.Column("resources", JSONB(), nullable=False),
        sa.Column("tags", JSONB(), nullable=False),
        sa.Column("expires_at", STAMP, nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_key_id", sa.String(32), nullable=False),
        sa.Column("created_by_key_name", sa.String(200), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.Column("expiry_applied_at", STAMP, nullable=True),
    )
    op.create_index("ix_mute_rules_tenant", "mute_rules", ["tenant_id", "created_at"])
    op.create_table(
        "mute_rule_changes",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(32), sa.ForeignKey("mute_rules.id", ondelete="CASCADE"), nullable=False),
        _tenant(),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rule", JSONB(), nullable=False),
        sa.Column("changed_by_key_id", sa.String(32), nullable=True),
        sa.Column("changed_by_key_name", sa.String(200), nullable=True),
        sa.Column("at", STAMP, nullable=False),
    )
    op.create_index("ix_mute_rule_changes_rule", "mute_rule_changes", ["rule_id", "id"])
    # refuse_update() is migration 0012's: a change of a rule is kept as it was written.
    op.execute(
        "CREATE TRIGGER mute_rule_changes_append_only BEFORE UPDATE ON mute_rule_changes "
        "FOR EACH ROW EXECUTE FUNCTION refuse_update()"
    )

    op.add_column("violations", sa.Column("muted_by", sa.String(32), nullable=True))
    op.create_index("ix_violations_fingerprint", "violations", ["fingerprint", "id"])

    op.add_column("resources", sa.Column("config_version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "resource_versions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("resource_id", sa.BigInteger(), sa.ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
        _tenant(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(64), nullable=False),
        sa.Column("config", JSONB(), nullable=False),
        sa.Column("scan_id", sa.String(32), nullable=True),
        sa.Column("recorded_at", STAMP, nullable=False),
        sa.UniqueConstraint("resource_id", "version", name="uq_resource_versions_version"),
    )
    # Every resource starts its history with the configuration it holds now.
    op.execute(
        """INSERT INTO resource_versions (resource_id, tenant_id, version, config_hash, config, scan_id, recorded_at)
           SELECT id, tenant_id, 1, config_hash, config, last_scan_id, coalesce(config_changed_at, first_seen)
           FROM resources"""
    )


def downgrade() -> None:
    op.drop_table("resource_versions")
    op.drop_column("resources", "config_version")
    op.drop_index("ix_violations_fingerprint", table_name="violations")
    op.drop_column("violations", "muted_by")
    op.execute("DROP TRIGGER IF EXISTS mute_rule_changes_append_only ON mute_rule_changes")
    for table in ("mute_rule_changes", "mute_rules", "finding_events", "findings"):
        op.drop_table(table)
