"""The tax a payment finally withheld, beside the tax its batch planned.

Withholding combines a payee's income by the month the payment is confirmed, so
the confirmation recomputes each paid line's tax. ``final_tax``/``final_net`` keep
what was withheld and paid; ``tax``/``net`` keep the batch's forecast. Lines paid
before this revision withheld exactly their planned tax, so they get it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batch_lines") as batch:
        batch.add_column(sa.Column("final_tax", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("final_net", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE batch_lines SET final_tax = tax, final_net = net WHERE payment_seq IS NOT NULL"
    )
    with op.batch_alter_table("batch_lines") as batch:
        batch.create_check_constraint(
            op.f("ck_batch_lines_final_amounts"),
            "(final_tax IS NULL AND final_net IS NULL) OR (final_tax >= 0 AND final_net >= 0 "
            "AND final_tax + final_net = gross)",
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_lines") as batch:
        batch.drop_constraint(op.f("ck_batch_lines_final_amounts"), type_="check")
        batch.drop_column("final_net")
        batch.drop_column("final_tax")
