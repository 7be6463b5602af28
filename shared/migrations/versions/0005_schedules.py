"""schedules and their runs

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("scan_config", postgresql.JSONB(), nullable=False),
        sa.Column("notifications", postgresql.JSONB(), nullable=False),
        sa.Column("triggers", postgresql.JSONB(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_scan_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_schedules_tenant_created", "schedules", ["tenant_id", "created_at"])
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.String(32), sa.ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scan_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("schedule_id", "trigger", "fire_time", name="uq_schedule_runs_fire"),
    )
    op.create_index("ix_schedule_runs_schedule_created", "schedule_runs", ["schedule_id", "created_at"])
    op.add_column("scans", sa.Column("schedule_id", sa.String(32), nullable=True))
    op.create_index("ix_scans_schedule_id", "scans", ["schedule_id"])


def downgrade() -> None:
    op.drop_index("ix_scans_schedule_id", "scans")
    op.drop_column("scans", "schedule_id")
    op.drop_table("schedule_runs")
    op.drop_table("schedules")
