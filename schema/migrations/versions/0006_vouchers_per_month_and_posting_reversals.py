"""Vouchers numbered per month, a memo on every posting, reversals posting by posting.

- ``transactions.voucher_month``: vouchers are numbered without gaps within a
  month (记-2024-03-0001), so the books list a month's entries in voucher order.
  The unique key becomes (year, month, number).
- ``transactions.layout``: the canonical layout a transaction was hashed in.
  Every transaction recorded before this revision keeps layout 1, so its hash
  and the whole chain verify exactly as before.
- ``postings.memo``: each posting's own 摘要 (payee and studio of a stipend line).
- ``postings.reverses_seq`` / ``reverses_position``: a reversal names the
  original posting each of its postings sends back; the pair is unique, so a
  posting is reversed at most once while a voucher may be reversed a few
  postings at a time. The old one-reversal-per-transaction key goes.
- ``postings.position`` widens to INTEGER: one voucher per batch approval can
  hold more than 32,767 postings.

Existing rows get values that follow from what they already hold, none of which
layout 1 hashes: the voucher month is the effective date's month, and a legacy
reversal's posting at position i sent back the original's posting i (that is
how reversals were built). To write them, the append-only triggers are dropped
and recreated around the change, inside the migration's single transaction.
Vouchers numbered per year keep their numbers; a month's counter continues
after the highest of them, so no number is used twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported: a migration must not change when code does.
IMMUTABLE = ("transactions", "postings")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in IMMUTABLE:
        _drop_append_only_trigger(table, sqlite=sqlite)

    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("voucher_month", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("layout", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.drop_constraint("uq_transactions_voucher_year", type_="unique")
        batch.drop_constraint("uq_transactions_reverses_seq", type_="unique")
    month = (
        "CAST(strftime('%m', effective_date) AS INTEGER)"
        if sqlite
        else "EXTRACT(MONTH FROM effective_date)"
    )
    op.execute(f"UPDATE transactions SET voucher_month = {month}")  # noqa: S608 (no user input)
    with op.batch_alter_table("transactions") as batch:
        batch.alter_column("voucher_month", existing_type=sa.SmallInteger(), nullable=False)
        batch.alter_column("layout", existing_type=sa.SmallInteger(), server_default=None)
        batch.create_unique_constraint(
            op.f("uq_transactions_voucher_year"),
            ["voucher_year", "voucher_month", "voucher_number"],
        )
        batch.create_check_constraint(
            op.f("ck_transactions_voucher_month"), "voucher_month BETWEEN 1 AND 12"
        )
        batch.create_check_constraint(op.f("ck_transactions_layout"), "layout IN (1, 2)")
        batch.create_index("ix_transactions_reverses_seq", ["reverses_seq"], unique=False)

    with op.batch_alter_table("postings") as batch:
        batch.alter_column(
            "position", existing_type=sa.SmallInteger(), type_=sa.Integer(), nullable=False
        )
        batch.add_column(
            sa.Column("memo", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("reverses_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("reverses_position", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE postings SET reverses_position = position, reverses_seq = "
        "(SELECT t.reverses_seq FROM transactions t WHERE t.seq = postings.transaction_seq) "
        "WHERE transaction_seq IN (SELECT seq FROM transactions WHERE reverses_seq IS NOT NULL)"
    )
    with op.batch_alter_table("postings") as batch:
        batch.alter_column("memo", existing_type=sa.String(length=200), server_default=None)
        batch.create_check_constraint(
            op.f("ck_postings_reverses_whole"),
            "(reverses_seq IS NULL) = (reverses_position IS NULL)",
        )
        batch.create_unique_constraint(
            op.f("uq_postings_reverses_seq"), ["reverses_seq", "reverses_position"]
        )
        batch.create_foreign_key(
            op.f("fk_postings_reverses_seq_postings"),
            "postings",
            ["reverses_seq", "reverses_position"],
            ["transaction_seq", "position"],
        )

    op.drop_table("voucher_counters")
    op.create_table(
        "voucher_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", "month", name=op.f("pk_voucher_counters")),
    )
    op.execute(
        "INSERT INTO voucher_counters (year, month, last_number) "
        "SELECT voucher_year, voucher_month, MAX(voucher_number) FROM transactions "
        "GROUP BY voucher_year, voucher_month"
    )

    for table in IMMUTABLE:
        _create_append_only_trigger(table, sqlite=sqlite)


def downgrade() -> None:
    raise NotImplementedError(
        "0006 is one-way: transactions hashed in layout 2 (per-month vouchers, posting "
        "memos) cannot be expressed in the earlier schema without breaking their hashes"
    )


def _create_append_only_trigger(table: str, *, sqlite: bool) -> None:
    """Refuse UPDATE and DELETE on ``table`` inside the database itself (as 0001 did)."""
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: post a reversal'); END"
            )
        return
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def _drop_append_only_trigger(table: str, *, sqlite: bool) -> None:
    """Drop the trigger 0001 created (its PostgreSQL function stays for the new one)."""
    if sqlite:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER {table}_no_{action}")
        return
    op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
