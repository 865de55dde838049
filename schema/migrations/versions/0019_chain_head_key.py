"""The chain head names the key that sealed it.

``chain_head.key_id``: the printable id of the chain key that sealed the last
transaction (:attr:`ledger.chain_keys.ChainKey.id`, an HMAC of a fixed text: it says
nothing of the key). Before sealing, a writer compares it with the id of the key its
ring gives that transaction, instead of reading the whole transaction back (a national
approval voucher holds 1.8 million postings) to check its seal. A head written before
this revision has none: the first write checks the seal itself, and records the id.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chain_head") as table:
        table.add_column(sa.Column("key_id", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_head") as table:
        table.drop_column("key_id")
