"""Two admins for an approver or an admin: who added each user, and who confirmed.

A user an admin adds with a role that approves money or manages users waits,
disabled, until a second admin confirms them. Existing users count as confirmed.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("created_by", sa.String(length=50), nullable=True))
        batch.add_column(
            sa.Column(
                "awaiting_confirmation", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(sa.Column("confirmed_by", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("confirmed_by")
        batch.drop_column("awaiting_confirmation")
        batch.drop_column("created_by")
