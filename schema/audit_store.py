"""The audit log and the stored answers of idempotent writes, on SQLAlchemy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from ledger.audit import AuditEntry, StoredAnswer
from ledger.books.postings import utc_now
from ledger.errors import ChainKeyError
from ledger.privacy import pseudonym_key
from schema.keys import key_source
from schema.ledger_store import take_turns
from schema.tables import AuditRow, IdempotentRequestRow


def fitted(text: str, column: str) -> str:
    """``text`` cut to what the audit log's ``column`` holds: a name typed at a failed
    sign-in grows when its hidden characters are written out (six characters each) and
    its 身份证号 gain a pseudonym, and PostgreSQL refuses a value longer than its column
    (the failure would then go unrecorded)."""
    limit: int | None = getattr(AuditRow.__table__.c[column].type, "length", None)
    return text if limit is None else text[:limit]


class SqlAuditStore:
    def __init__(self, session: Session, url: URL) -> None:
        self.session = session
        self.url = url
        self._pseudonym_key: bytes | None = None
        self._key_read = False

    def record(
        self,
        actor: str,
        action: str,
        obj: str,
        request_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditRow(
                at=utc_now(),
                actor=fitted(actor, "actor"),
                action=action,
                object=fitted(obj, "object"),
                request_id=fitted(request_id, "request_id"),
                detail=detail or {},
            )
        )
        self.session.flush()

    def entries(
        self,
        after: int,
        limit: int,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        newest_first: bool = False,
        before: int | None = None,
    ) -> list[AuditEntry]:
        """Entries oldest first after id ``after`` (or the newest first, before id
        ``before`` when given): by actor, by action (``batch`` matches every ``batch.*``),
        by object (``batch:7``), recorded in [start, end)."""
        query = select(AuditRow).where(AuditRow.id > after)
        if before is not None:
            query = query.where(AuditRow.id < before)
        if actor is not None:  # cut as record cuts it, to find what it kept
            query = query.where(AuditRow.actor == fitted(actor, "actor"))
        if action is not None:
            query = query.where(
                (AuditRow.action == action)
                | AuditRow.action.startswith(f"{action}.", autoescape=True)
            )
        if target is not None:
            query = query.where(AuditRow.object == fitted(target, "object"))
        if start is not None:
            query = query.where(AuditRow.at >= start)
        if end is not None:
            query = query.where(AuditRow.at < end)
        order = AuditRow.id.desc() if newest_first else AuditRow.id
        rows = self.session.scalars(query.order_by(order).limit(limit))
        return [
            AuditEntry(r.id, r.at, r.actor, r.action, r.object, r.request_id, r.detail)
            for r in rows
        ]

    def pseudonym_key(self) -> bytes | None:
        """Derived from this database's chain key ring, read where it is kept: once per
        unit of work, however many entries it writes or looks for."""
        if not self._key_read:
            try:
                self._pseudonym_key = pseudonym_key(key_source(self.url).load())
            except ChainKeyError:
                self._pseudonym_key = None
            self._key_read = True
        return self._pseudonym_key

    def lock_key(self, key: str) -> None:
        """Serialise requests carrying the same key (PostgreSQL; SQLite writers already are)."""
        take_turns(self.session, key)

    def answer(self, key: str) -> StoredAnswer | None:
        row = self.session.get(IdempotentRequestRow, key)
        if row is None:
            return None
        return StoredAnswer(
            row.actor, row.method, row.path, row.body_hash, row.status, row.response
        )

    def remember(self, key: str, answer: StoredAnswer) -> None:
        self.session.add(
            IdempotentRequestRow(
                key=key,
                actor=answer.actor,
                method=answer.method,
                path=answer.path,
                body_hash=answer.body_hash,
                status=answer.status,
                response=answer.response,
                created_at=utc_now(),
            )
        )
        self.session.flush()
