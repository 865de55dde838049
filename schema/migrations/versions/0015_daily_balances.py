"""Daily balances: each account's net moved and closing balance for every day it moved.

A balance as of a date was a sum over the account's whole history; it is now the
closing of the latest day on or before that date, one indexed look-up
(:mod:`ledger.daily_balances`). The table is filled here from the postings already
recorded, and kept by every write from now on.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILL = """
INSERT INTO daily_balances (account_id, day, moved, closing)
SELECT account_id, day, moved,
       SUM(moved) OVER (PARTITION BY account_id ORDER BY day ROWS UNBOUNDED PRECEDING)
FROM (
    SELECT legs.account_id, legs.day, SUM(legs.amount) AS moved
    FROM (
        SELECT p.destination_account_id AS account_id, t.effective_date AS day,
               p.amount AS amount
        FROM postings p JOIN transactions t ON t.seq = p.transaction_seq
        UNION ALL
        SELECT p.source_account_id, t.effective_date, -p.amount
        FROM postings p JOIN transactions t ON t.seq = p.transaction_seq
    ) legs
    GROUP BY legs.account_id, legs.day
) days
"""


def upgrade() -> None:
    op.create_table(
        "daily_balances",
        sa.Column(
            "account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("moved", sa.BigInteger(), nullable=False),
        sa.Column("closing", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_daily_balances_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_daily_balances")),
    )
    op.execute(FILL)


def downgrade() -> None:
    op.drop_table("daily_balances")
