"""incremental scans: when a resource's configuration last changed, verdicts carried per shard

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resources", sa.Column("config_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE resources SET config_changed_at = first_seen")
    op.add_column("scan_shards", sa.Column("resources_carried", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("scan_shards", "resources_carried")
    op.drop_column("resources", "config_changed_at")
