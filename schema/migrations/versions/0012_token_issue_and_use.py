"""When each user's API token was issued (tokens expire) and when it was last used.

Existing tokens count as issued when their user was added.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=False), nullable=True))
        batch.add_column(
            sa.Column("token_last_used_at", sa.DateTime(timezone=False), nullable=True)
        )
    op.execute("UPDATE users SET token_issued_at = created_at")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("token_issued_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_last_used_at")
        batch.drop_column("token_issued_at")
