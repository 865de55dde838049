"""An approver's 身份证号, so that nobody approves a batch that pays them.

A user who approves money names the person they are (their resident ID number);
a batch with a line paying that person is refused to them. Existing approvers
have none and cannot approve until they are added again with one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("id_number", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("id_number")
