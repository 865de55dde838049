"""A batch line can carry tax withheld too much back to its payee.

``batch_lines.refund`` (fen, ``>= 0``) and ``refund_month``: when the bank fails one of
a payee's lines, their month is re-settled on what was actually paid; the tax withheld
too much goes back to their payable on the failed line (``refund``, in ``refund_month``)
and its reissue carries it (``refund``, no month) and pays it with the stipend. Lines
stored before this revision carry none.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_lines") as table:
        table.add_column(sa.Column("refund", sa.BigInteger(), nullable=False, server_default="0"))
        table.add_column(sa.Column("refund_month", sa.String(length=7), nullable=True))
        table.create_check_constraint(op.f("ck_batch_lines_refund"), "refund >= 0")


def downgrade() -> None:
    with op.batch_alter_table("batch_lines") as table:
        table.drop_constraint(op.f("ck_batch_lines_refund"), type_="check")
        table.drop_column("refund_month")
        table.drop_column("refund")
