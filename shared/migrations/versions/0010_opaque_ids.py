"""opaque public ids for resources and notification deliveries (their serial ids told a tenant how
busy the others are), and stored policy templates made safe (no attribute access, widths capped)

Revision ID: 0010
Revises: 0009
"""

import json
import re
import string

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RANDOM_HEX = "substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)"
TEMPLATE_FIELDS = ("name", "id", "region", "account")
SPEC = re.compile(r"(?:.?[<>^])?(\d{1,2})?")


def _safe(template: str) -> bool:
    """The template rules of shared.policies.templates as they stood at this revision."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return False
    return len(template) <= 500 and all(
        name is None
        or (name in TEMPLATE_FIELDS and conversion is None and SPEC.fullmatch(spec or "") and int((SPEC.fullmatch(spec or "").group(1) or 0)) <= 64)
        for _, name, spec, conversion in parsed
    )


def upgrade() -> None:
    for table, prefix in (("resources", "res_"), ("notification_deliveries", "dlv_")):
        op.add_column(
            table,
            sa.Column("public_id", sa.String(32), nullable=False, server_default=sa.text(f"'{prefix}' || {RANDOM_HEX}")),
        )
        op.create_index(f"uq_{table}_public_id", table, ["public_id"], unique=True)
    # Templates that would be refused today are kept as literal text (braces doubled), so no scan of
    # their tenant fails on them and nothing they name is evaluated.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT tenant_id, policy_id, document FROM custom_policies")).all()
    for tenant_id, policy_id, document in rows:
        templates = document.get("status_extended") or {}
        fixed = {
            key: value if not isinstance(value, str) or _safe(value) else value.replace("{", "{{").replace("}", "}}")[:500]
            for key, value in templates.items()
        }
        if fixed != templates:
            connection.execute(
                sa.text("UPDATE custom_policies SET document = CAST(:document AS jsonb) WHERE tenant_id = :t AND policy_id = :p"),
                {"document": json.dumps({**document, "status_extended": fixed}), "t": tenant_id, "p": policy_id},
            )


def downgrade() -> None:
    for table in ("resources", "notification_deliveries"):
        op.drop_index(f"uq_{table}_public_id", table_name=table)
        op.drop_column(table, "public_id")
