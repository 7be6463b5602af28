"""accounts collected from pushed inventories

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cloud_accounts", sa.Column("collection", sa.String(16), nullable=False, server_default="api"))
    op.add_column("cloud_accounts", sa.Column("inventory_pushed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_resources_account_type", "resources", ["account_id", "resource_type"])


def downgrade() -> None:
    op.drop_index("ix_resources_account_type", "resources")
    op.drop_column("cloud_accounts", "inventory_pushed_at")
    op.drop_column("cloud_accounts", "collection")
