"""Where a batch line's postings sit in its batch's single approval voucher.

Approval posts one voucher for the whole batch; ``approval_positions`` lists the
positions of a line's postings in it, so the line can be returned to the fund
alone by reversing just those postings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_lines") as batch:
        batch.add_column(sa.Column("approval_positions", sa.JSON(), nullable=True))
    # Lines approved before this revision posted one voucher each, its postings
    # in the line's split order from position 0.
    approved = sa.table(
        "batch_lines",
        sa.column("id", sa.Integer()),
        sa.column("approval_seq", sa.BigInteger()),
        sa.column("split", sa.JSON()),
        sa.column("approval_positions", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(approved.c.id, approved.c.split).where(approved.c.approval_seq.is_not(None))
    ).all()
    for line_id, split in rows:
        moved = sum(1 for amount in split.values() if amount > 0)
        connection.execute(
            approved.update()
            .where(approved.c.id == line_id)
            .values(approval_positions=list(range(moved)))
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_lines") as batch:
        batch.drop_column("approval_positions")
