"""tenants' custom policies and frameworks; violation indexes

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table, key, length in (("custom_policies", "policy_id", 100), ("custom_frameworks", "framework_id", 64)):
        op.create_table(
            table,
            sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
            sa.Column(key, sa.String(length), primary_key=True),
            sa.Column("document", postgresql.JSONB(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )
    # Keyset pagination of a scan's violations, and a resource's current violations.
    op.create_index("ix_violations_scan_id", "violations", ["scan_id", "id"])
    op.create_index("ix_violations_resource", "violations", ["account_id", "resource_uid"])


def downgrade() -> None:
    op.drop_index("ix_violations_resource", "violations")
    op.drop_index("ix_violations_scan_id", "violations")
    op.drop_table("custom_frameworks")
    op.drop_table("custom_policies")
