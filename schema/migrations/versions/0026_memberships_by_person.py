"""A person's places found by their payee code (issue 33: the console's person page).

The memberships were indexed by studio (the unique studio, person, joined_on); a
person's page asks for every place of one person, which without this index reads the
whole table — 900,000 rows at national scale. No row is written.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_memberships_person", "memberships", ["person_code"])


def downgrade() -> None:
    op.drop_index("ix_memberships_person", table_name="memberships")
