"""Who recorded each voucher, and the originals it rests on (issue 32).

- ``transactions.recorded_by``: the user whose action recorded a transaction (the
  记账凭证's 制单), sealed with it from now on. Every transaction recorded before keeps
  ``NULL`` and its hash: the canonical content carries the name only when there is one.
- ``attachment_contents``: an original's bytes, kept once by their SHA-256.
- ``attachments``: the originals attached to vouchers, an append-only chain of records
  (:mod:`ledger.books.attachments`), whose head is kept beside the ledger's
  (``chain_head.attachments_last_id`` and ``attachments_last_hash``); a file the ledger
  makes or receives goes with a voucher once (a unique index).

Both new tables refuse UPDATE and DELETE inside the database (triggers, as the books'
tables do). No transaction, posting, hash or balance is read or written.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than imported: a migration must not change when code does.
APPEND_ONLY = ("attachments", "attachment_contents")


def upgrade() -> None:
    op.add_column("transactions", sa.Column("recorded_by", sa.String(length=50), nullable=True))
    op.create_table(
        "attachment_contents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_attachment_contents_size")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachment_contents")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transaction_seq", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("added_by", sa.String(length=50), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=12), nullable=False),
        sa.CheckConstraint("id > 0", name=op.f("ck_attachments_id_positive")),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["attachment_contents.sha256"],
            name=op.f("fk_attachments_sha256_attachment_contents"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_seq"],
            ["transactions.seq"],
            name=op.f("fk_attachments_transaction_seq_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("hash", name=op.f("uq_attachments_hash")),
    )
    op.create_index("ix_attachments_origin", "attachments", ["origin"])
    op.create_index(
        "uq_attachments_own",
        "attachments",
        ["transaction_seq", "origin"],
        unique=True,
        sqlite_where=sa.text("origin <> ''"),
        postgresql_where=sa.text("origin <> ''"),
    )
    for column in (
        sa.Column("attachments_last_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "attachments_last_hash", sa.String(length=64), server_default="0" * 64, nullable=False
        ),
    ):
        op.add_column("chain_head", column)
    op.create_index(
        op.f("ix_attachments_transaction_seq"), "attachments", ["transaction_seq"], unique=False
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in APPEND_ONLY:
        message = f"{table} are append-only: attach a new original instead"
        if sqlite:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
            continue
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{message}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT COUNT(*) FROM transactions WHERE recorded_by IS NOT NULL")):
        raise RuntimeError(
            "0025 cannot be undone once a transaction was sealed with who recorded it: "
            "its hash covers the name, which the earlier schema cannot keep"
        )
    if bind.scalar(sa.text("SELECT COUNT(*) FROM attachments")):
        raise RuntimeError("0025 cannot be undone once an original is attached: it would be lost")
    op.drop_table("attachments")  # their triggers go with them
    op.drop_table("attachment_contents")
    if bind.dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP FUNCTION {table}_append_only()")
    # Not batch mode: on SQLite that rebuilds the table and loses its triggers.
    op.execute("ALTER TABLE transactions DROP COLUMN recorded_by")
    op.execute("ALTER TABLE chain_head DROP COLUMN attachments_last_id")
    op.execute("ALTER TABLE chain_head DROP COLUMN attachments_last_hash")
