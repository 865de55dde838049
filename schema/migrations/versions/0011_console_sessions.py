"""Console sessions kept server-side, and the key the console signs its forms with.

A session row holds only what the console keeps between requests (who signed in);
the browser holds the row's random id. The CSRF key is random per installation
and shared by every worker through this table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_console_sessions"),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    keys = op.create_table(
        "service_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_keys"),
    )
    op.bulk_insert(keys, [{"name": "csrf", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("service_keys")
    op.drop_index("ix_console_sessions_expires_at", table_name="console_sessions")
    op.drop_table("console_sessions")
