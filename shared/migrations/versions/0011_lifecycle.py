"""lifecycle truth: future scans (scheduled_for), estimates' basis, each shard's expected resources
(the weights of an honest percentage), when a schedule was last enabled again (a resumed schedule is not owed the
occurrences of its pause), and notifications that were not sent are recorded (a delivery row with
no channel, its type and why)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("schedules", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scans", sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scans", sa.Column("estimate_basis", sa.String(16), nullable=True))
    op.add_column("scan_shards", sa.Column("expected_resources", sa.Integer(), nullable=True))
    op.add_column("notification_deliveries", sa.Column("channel_type", sa.String(16), nullable=True))
    op.execute(
        "UPDATE notification_deliveries d SET channel_type = c.type FROM notification_channels c WHERE c.id = d.channel_id"
    )
    op.alter_column("notification_deliveries", "channel_type", nullable=False)
    op.alter_column("notification_deliveries", "channel_id", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notification_deliveries WHERE channel_id IS NULL")
    op.alter_column("notification_deliveries", "channel_id", nullable=False)
    op.drop_column("notification_deliveries", "channel_type")
    op.drop_column("scan_shards", "expected_resources")
    op.drop_column("scans", "estimate_basis")
    op.drop_column("scans", "scheduled_for")
    op.drop_column("schedules", "resumed_at")
