"""scan shards: a part number, so one (account, region) can run as several shards, and per-shard timings

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scan_shards", sa.Column("part", sa.SmallInteger(), nullable=False, server_default="0"))
    op.add_column(
        "scan_shards",
        sa.Column("timings", postgresql.JSONB(astext_type=sa.Text()), nullable=False, server_default="{}"),
    )
    op.drop_constraint("uq_scan_shards_unit", "scan_shards", type_="unique")
    op.create_unique_constraint("uq_scan_shards_unit", "scan_shards", ["scan_id", "account_id", "region", "part"])


def downgrade() -> None:
    # Split shards of one (account, region) cannot live under the narrower key: keep part 0 of each.
    op.execute("DELETE FROM scan_shards WHERE part > 0")
    op.drop_constraint("uq_scan_shards_unit", "scan_shards", type_="unique")
    op.create_unique_constraint("uq_scan_shards_unit", "scan_shards", ["scan_id", "account_id", "region"])
    op.drop_column("scan_shards", "timings")
    op.drop_column("scan_shards", "part")
