"""A batch line keeps whom it pays, as approved.

``batch_lines.payee_name``, ``payee_id_number``, ``payee_bank_name`` and
``payee_bank_account``: set on every line of a batch at its first approval, and read by
the 发放表, the bank file, the console and the API instead of the roster, so that a
roster change after approval cannot redirect a payment (all four or none:
``payee_whole``). Lines of batches approved before this revision take what the roster
says at the upgrade, the best record there is of whom they were approved for.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAYEE = ("name", "id_number", "bank_name", "bank_account")


def upgrade() -> None:
    with op.batch_alter_table("batch_lines") as table:
        table.add_column(sa.Column("payee_name", sa.String(length=50), nullable=True))
        table.add_column(sa.Column("payee_id_number", sa.String(length=18), nullable=True))
        table.add_column(sa.Column("payee_bank_name", sa.String(length=100), nullable=True))
        table.add_column(sa.Column("payee_bank_account", sa.String(length=40), nullable=True))
    op.execute(
        """
        UPDATE batch_lines SET
            payee_name = (SELECT p.name FROM people p WHERE p.code = batch_lines.person_code),
            payee_id_number =
                (SELECT p.id_number FROM people p WHERE p.code = batch_lines.person_code),
            payee_bank_name =
                (SELECT p.bank_name FROM people p WHERE p.code = batch_lines.person_code),
            payee_bank_account =
                (SELECT p.bank_account FROM people p WHERE p.code = batch_lines.person_code)
        WHERE batch_id IN (SELECT batch_id FROM batch_approvals)
        """
    )
    with op.batch_alter_table("batch_lines") as table:
        table.create_check_constraint(
            op.f("ck_batch_lines_payee_whole"),
            "(payee_name IS NULL AND payee_id_number IS NULL AND payee_bank_name IS NULL "
            "AND payee_bank_account IS NULL) OR (payee_name IS NOT NULL AND payee_id_number "
            "IS NOT NULL AND payee_bank_name IS NOT NULL AND payee_bank_account IS NOT NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_lines") as table:
        table.drop_constraint(op.f("ck_batch_lines_payee_whole"), type_="check")
        for c in _PAYEE:
            table.drop_column(f"payee_{c}")
