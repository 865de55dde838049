"""Console sessions and service keys on SQLAlchemy: each call is its own short
transaction, since a session is read and written around a request, not inside one.

Invariant: an expired session is never returned; it is deleted when read, and
every write sweeps the expired rows so the table does not grow.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ledger.postings import utc_now
from schema.tables import ConsoleSessionRow, ServiceKeyRow


def _expiry(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


class SqlSessionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, session_id: str, renew_for: int | None) -> bytes | None:
        """The session's data, its expiry moved ``renew_for`` seconds on if given."""
        now = utc_now()
        with Session(self.engine) as session, session.begin():
            row = session.get(ConsoleSessionRow, session_id)
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
                ConsoleSessionRow(id=session_id, data=data, expires_at=_expiry(now, expires_in))
            )

    def delete(self, session_id: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id == session_id))

    def delete_all(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(ConsoleSessionRow))

    def expires_in(self, session_id: str) -> int | None:
        with Session(self.engine) as session:
            expires = session.scalar(
                select(ConsoleSessionRow.expires_at).where(ConsoleSessionRow.id == session_id)
            )
        if expires is None:
            return None
        return max(0, int((expires - utc_now()).total_seconds()))


def service_key(engine: Engine, name: str) -> str:
    """A key the migrations created (``csrf``)."""
    with Session(engine) as session:
        value = session.scalar(select(ServiceKeyRow.value).where(ServiceKeyRow.name == name))
    if value is None:
        raise LookupError(f"no service key {name!r}: run `studio-ledger db upgrade`")
    return value
