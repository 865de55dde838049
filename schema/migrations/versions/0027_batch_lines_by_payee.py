"""A batch's lines read in payee order, a page at a time (issue 34: memory bounded by a
chunk).

An approval and the bank's answer count a batch's payees and re-settle each payee's
month without holding the batch: they read its lines ordered by payee, by keyset pages
of (payee, line number). Without this index each page would sort the whole batch —
900,000 lines at national scale. No row is written.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_batch_lines_batch_person", "batch_lines", ["batch_id", "person_code", "number"]
    )


def downgrade() -> None:
    op.drop_index("ix_batch_lines_batch_person", table_name="batch_lines")
