"""The audit log keeps no whole 身份证号 (issue 37), in entries written before it did.

Every entry's actor, object, request id and detail are rewritten as
:func:`ledger.audit.scrubbed` writes a new one: each 身份证号 masked and followed by its
pseudonym (a keyed hash, when the ledger's chain key can be read here; a ledger keyed
after this revision keeps the masked number alone), each hidden character written out.
An entry already so written is left as it is (one masked by an earlier version keeps
its mask without a pseudonym: the whole number is no longer there to make one). The
rules are the code's as of this revision (``ledger.audit.scrubbed``): on a database
upgraded later they may mask more, never less.

The audit log is not the ledger: no transaction, posting, hash or balance is read or
written here, so the hash chain verifies as before (a test checks it). There is no way
back: the whole numbers are gone, which is the point.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from ledger.audit import scrubbed
from ledger.errors import ChainKeyError
from ledger.privacy import pseudonym_key
from schema.audit_store import fitted
from schema.keys import key_source

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1_000

audit_log = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()),
    sa.column("actor", sa.String()),
    sa.column("object", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("detail", sa.JSON()),
)


def upgrade() -> None:
    bind = op.get_bind()
    try:
        key: bytes | None = pseudonym_key(key_source(bind.engine.url).load())
    except ChainKeyError:
        key = None
    after = 0
    while True:
        rows = bind.execute(
            sa.select(audit_log).where(audit_log.c.id > after).order_by(audit_log.c.id).limit(CHUNK)
        ).all()
        if not rows:
            return
        for row in rows:
            changed = _changes(row._mapping, key)
            if changed:
                bind.execute(audit_log.update().where(audit_log.c.id == row.id).values(**changed))
        after = rows[-1].id


def _changes(row: Any, key: bytes | None) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for column in ("actor", "object", "request_id"):
        if (now := fitted(scrubbed(row[column], key), column)) != row[column]:
            changed[column] = now
    if (detail := scrubbed(row["detail"], key)) != row["detail"]:
        changed["detail"] = detail
    return changed


def downgrade() -> None:
    """Nothing to undo: a masked number is not turned back into a whole one."""
