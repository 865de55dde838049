"""Console sessions kept by the hash of their id and by user; no CSRF key in the database.

- ``console_sessions.id`` holds the SHA-256 of the session id the browser keeps, never
  the id itself, so a copy of the database signs nobody in. Sessions stored before
  held the bare id: they are deleted (everyone signs in again once).
- ``console_sessions.user_name``: whose session it is, so a password change or a
  disable ends that user's other sessions.
- ``service_keys`` goes: the console's CSRF key is derived from the chain key, which
  is kept outside the database (``api.console.csrf_secret``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM console_sessions")
    with op.batch_alter_table("console_sessions") as table:
        table.add_column(sa.Column("user_name", sa.String(length=50), nullable=True))
        table.create_index("ix_console_sessions_user_name", ["user_name"])
    op.drop_table("service_keys")


def downgrade() -> None:
    keys = op.create_table(
        "service_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_keys"),
    )
    op.bulk_insert(keys, [{"name": "csrf", "value": secrets.token_hex(32)}])
    op.execute("DELETE FROM console_sessions")
    with op.batch_alter_table("console_sessions") as table:
        table.drop_index("ix_console_sessions_user_name")
        table.drop_column("user_name")
