"""Console sessions on SQLAlchemy: each call is its own short transaction, since a
session is read and written around a request, not inside one.

Invariants: a row is keyed by the SHA-256 of the session id (:func:`session_key`),
never the id the browser holds; it names the user signed in, so that user's sessions
can be ended together; an expired session is never returned: it is deleted when read,
and every write sweeps the expired rows so the table does not grow.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ledger.books.postings import utc_now
from schema.tables import ConsoleSessionRow


def session_key(session_id: str) -> str:
    """What a session's row is kept under: the SHA-256 of its id, in hex."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _expiry(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


def _user_of(data: bytes) -> str | None:
    """The signed-in user a session's data names (the console keeps it as JSON)."""
    try:
        found = json.loads(data)
    except ValueError:
        return None
    user = found.get("user") if isinstance(found, dict) else None
    return user if isinstance(user, str) else None


class SqlSessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, session_id: str, renew_for: int | None) -> bytes | None:
        """The session's data, its expiry moved ``renew_for`` seconds on if given."""
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            row = session.get(ConsoleSessionRow, session_key(session_id))
            if row is None:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                session.delete(row)
                return None
            if renew_for is not None:
                row.expires_at = _expiry(now, renew_for)
            return row.data

    def set(self, session_id: str, data: bytes, expires_in: int | None) -> None:
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
            session.merge(
                ConsoleSessionRow(
                    id=session_key(session_id),
                    data=data,
                    expires_at=_expiry(now, expires_in),
                    user_name=_user_of(data),
                )
            )

    def delete(self, session_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.id == session_key(session_id))
            )

    def delete_all(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ConsoleSessionRow))

    def expires_in(self, session_id: str) -> int | None:
        with Session(self.engine) as session:
            expires = session.scalar(
                select(ConsoleSessionRow.expires_at).where(
                    ConsoleSessionRow.id == session_key(session_id)
                )
            )
        if expires is None:
            return None
        return max(0, int((expires - utc_now()).total_seconds()))
