"""Dates the database keeps on its own (issue 29), whatever writes the row.

- ``transactions_dated_ahead``: a transaction is not dated after the day it is recorded
  (``recorded_at`` is UTC; the day is Beijing's, UTC+8 all year round).
- ``daily_balances_guard``: a guarded account (``accounts.may_go_negative`` false) never
  keeps a day that closes below zero. The account is looked up only for a closing below
  zero, which only the world's source accounts have, so an ordinary write pays nothing.

Rows already stored are not checked: a ledger written before these rules may hold such
a row, and ``verify`` reports it (``DATE:``, ``NEG:``); the office reverses and reposts
it (README, Dates). The ledger code refuses both before the database has to.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AHEAD = "a transaction is not dated after the day it is recorded (日期不能晚于记账日)"
SHORT = "a guarded account does not close a day below zero (余额不足)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER transactions_dated_ahead BEFORE INSERT ON transactions "
            "WHEN NEW.effective_date > date(NEW.recorded_at, '+8 hours') "
            f"BEGIN SELECT RAISE(ABORT, '{AHEAD}'); END"
        )
        for action in ("INSERT", "UPDATE"):
            name = f"daily_balances_guard_{action.lower()}"
            guarded = "(SELECT may_go_negative FROM accounts WHERE id = NEW.account_id)"
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON daily_balances "
                f"WHEN NEW.closing < 0 AND NOT {guarded} "
                f"BEGIN SELECT RAISE(ABORT, '{SHORT}'); END"
            )
        return
    op.execute(
        """CREATE FUNCTION transactions_dated_ahead() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION
                'a transaction is not dated after the day it is recorded (日期不能晚于记账日)';
        END $$ LANGUAGE plpgsql"""
    )
    op.execute(
        "CREATE TRIGGER transactions_dated_ahead BEFORE INSERT ON transactions FOR EACH ROW "
        "WHEN (NEW.effective_date > "
        "(NEW.recorded_at AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date) "
        "EXECUTE FUNCTION transactions_dated_ahead()"
    )
    op.execute(
        """CREATE FUNCTION daily_balances_guard() RETURNS trigger AS $$
        BEGIN
            IF NOT (SELECT may_go_negative FROM accounts WHERE id = NEW.account_id) THEN
                RAISE EXCEPTION 'a guarded account does not close a day below zero (余额不足)';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql"""
    )
    op.execute(
        "CREATE TRIGGER daily_balances_guard BEFORE INSERT OR UPDATE ON daily_balances "
        "FOR EACH ROW WHEN (NEW.closing < 0) EXECUTE FUNCTION daily_balances_guard()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER transactions_dated_ahead")
        op.execute("DROP TRIGGER daily_balances_guard_insert")
        op.execute("DROP TRIGGER daily_balances_guard_update")
        return
    op.execute("DROP TRIGGER transactions_dated_ahead ON transactions")
    op.execute("DROP FUNCTION transactions_dated_ahead()")
    op.execute("DROP TRIGGER daily_balances_guard ON daily_balances")
    op.execute("DROP FUNCTION daily_balances_guard()")
