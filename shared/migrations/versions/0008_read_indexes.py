"""read path indexes (scan listings, violation keyset pages per filter) and the retention marker

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Listing filters carried in the index, so counts and deep offsets never touch the table.
LISTED = ["status", "environment", "scan_type"]


def upgrade() -> None:
    op.add_column("scans", sa.Column("violations_purged_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("ix_scans_tenant_created", table_name="scans")
    op.create_index("ix_scans_tenant_created", "scans", ["tenant_id", "created_at", "id"], postgresql_include=LISTED)
    op.drop_index("ix_scans_tenant_status", table_name="scans")
    op.create_index("ix_scans_tenant_status", "scans", ["tenant_id", "status", "created_at", "id"])
    op.drop_index("ix_violations_scan_severity", table_name="violations")
    op.create_index("ix_violations_scan_severity", "violations", ["scan_id", "severity", "id"])
    op.create_index("ix_violations_scan_policy", "violations", ["scan_id", "policy_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_violations_scan_policy", table_name="violations")
    op.drop_index("ix_violations_scan_severity", table_name="violations")
    op.create_index("ix_violations_scan_severity", "violations", ["scan_id", "severity"])
    op.drop_index("ix_scans_tenant_status", table_name="scans")
    op.create_index("ix_scans_tenant_status", "scans", ["tenant_id", "status", "created_at"])
    op.drop_index("ix_scans_tenant_created", table_name="scans")
    op.create_index("ix_scans_tenant_created", "scans", ["tenant_id", "created_at"])
    op.drop_column("scans", "violations_purged_at")
