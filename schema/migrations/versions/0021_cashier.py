"""The 出纳 (cashier): a role of its own.

``users.role`` admits ``cashier``. The cashier sends the bank file and records what the
bank did (confirmations and returns), which approvers no longer do: 审批与出纳分离. An
office upgrading adds its cashier (an admin adds, a second admin confirms, with the
cashier's 身份证号) before the next payment; nothing else changes.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_constraint(op.f("ck_users_role"), type_="check")
        table.create_check_constraint(
            op.f("ck_users_role"), "role IN ('clerk', 'approver', 'cashier', 'auditor', 'admin')"
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_constraint(op.f("ck_users_role"), type_="check")
        table.create_check_constraint(
            op.f("ck_users_role"), "role IN ('clerk', 'approver', 'auditor', 'admin')"
        )
