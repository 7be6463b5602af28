"""attestations of controls (with evidence) and their revocations, append-only

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are kept as written: append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "attestations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("framework_id", sa.String(64), nullable=False),
        sa.Column("control_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("evidence_text", sa.Text(), nullable=True),
        sa.Column("evidence_url", sa.String(2048), nullable=True),
        sa.Column("evidence_file", sa.LargeBinary(), nullable=True),
        sa.Column("evidence_filename", sa.String(255), nullable=True),
        sa.Column("evidence_content_type", sa.String(128), nullable=True),
        sa.Column("evidence_size", sa.Integer(), nullable=True),
        sa.Column("evidence_sha256", sa.String(64), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attested_by_key_id", sa.String(32), nullable=False),
        sa.Column("attested_by_key_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_attestations_control", "attestations", ["tenant_id", "framework_id", "control_id", "created_at"]
    )
    op.create_table(
        "attestation_revocations",
        sa.Column(
            "attestation_id", sa.String(32), sa.ForeignKey("attestations.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_by_key_id", sa.String(32), nullable=False),
        sa.Column("revoked_by_key_name", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(APPEND_ONLY)
    for table in ("attestations", "attestation_revocations"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_update()"
        )


def downgrade() -> None:
    for table in ("attestation_revocations", "attestations"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS refuse_update()")
