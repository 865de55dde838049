"""Accounting periods: ``period_closings``, and the database refusing closed dates.

Each close (结账) records the last day of the month it closes through, who closed
it and when. The table is append-only: a closed period is never reopened. A
trigger on ``transactions`` refuses any row dated on or before the latest
``closed_through``, so the rule holds even for a write that bypasses the ledger
code.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "period_closings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("closed_through", sa.Date(), nullable=False),
        sa.Column("closed_by", sa.String(length=50), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.name"], name=op.f("fk_period_closings_closed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_closings")),
        sa.UniqueConstraint("closed_through", name=op.f("uq_period_closings_closed_through")),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER transactions_closed_period BEFORE INSERT ON transactions "
            "WHEN NEW.effective_date <= (SELECT MAX(closed_through) FROM period_closings) "
            "BEGIN SELECT RAISE(ABORT, 'the period of this transaction is closed (已结账)'); END"
        )
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER period_closings_no_{action.lower()} BEFORE {action} "
                "ON period_closings BEGIN SELECT RAISE(ABORT, "
                "'period_closings are append-only: a closed period is never reopened'); END"
            )
        return
    op.execute(
        """CREATE FUNCTION transactions_closed_period() RETURNS trigger AS $$
        BEGIN
            IF NEW.effective_date <= (SELECT MAX(closed_through) FROM period_closings) THEN
                RAISE EXCEPTION 'the period of this transaction is closed (已结账)';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql"""
    )
    op.execute(
        "CREATE TRIGGER transactions_closed_period BEFORE INSERT ON transactions "
        "FOR EACH ROW EXECUTE FUNCTION transactions_closed_period()"
    )
    op.execute(
        """CREATE FUNCTION period_closings_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'period_closings are append-only: a closed period is never reopened';
        END $$ LANGUAGE plpgsql"""
    )
    op.execute(
        "CREATE TRIGGER period_closings_append_only BEFORE UPDATE OR DELETE ON period_closings "
        "FOR EACH ROW EXECUTE FUNCTION period_closings_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER transactions_closed_period")
    else:
        op.execute("DROP TRIGGER transactions_closed_period ON transactions")
        op.execute("DROP FUNCTION transactions_closed_period()")
    op.drop_table("period_closings")  # its own triggers go with it
