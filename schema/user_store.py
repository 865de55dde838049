"""User storage in a unit of work's session (which it never commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from ledger.books.postings import utc_now
from ledger.users import User, UserRecord
from schema.session_store import session_key
from schema.tables import ConsoleSessionRow, UserRow


def _record(row: Any) -> UserRecord:
    """A user row, as an ORM object or a Core row (the same names either way)."""
    return UserRecord(
        row.name,
        row.role,
        row.disabled,
        row.created_at,
        row.token_issued_at,
        row.token_last_used_at,
        row.created_by,
        row.awaiting_confirmation,
        row.confirmed_by,
        row.id_number,
    )


_USERS: Final = UserRow.__table__


def token_holder(connection: Connection, token_hash: str) -> UserRecord | None:
    """The user whose token hashes to ``token_hash``: one Core statement on a connection,
    as every API request asks it before anything else."""
    row = connection.execute(select(_USERS).where(_USERS.c.token_hash == token_hash)).first()
    return None if row is None else _record(row)


class SqlUserStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def user(self, name: str) -> User | None:
        row = self.session.get(UserRow, name)
        return None if row is None or row.disabled else User(row.name, row.role)

    def token_holder(self, token_hash: str) -> UserRecord | None:
        return token_holder(self.session.connection(), token_hash)

    def note_token_use(self, name: str, at: datetime) -> None:
        self.session.execute(
            update(UserRow).where(UserRow.name == name).values(token_last_used_at=at)
        )

    def record(self, name: str) -> UserRecord | None:
        row = self.session.get(UserRow, name)
        return None if row is None else _record(row)

    def records(self) -> list[UserRecord]:
        return [_record(r) for r in self.session.scalars(select(UserRow).order_by(UserRow.name))]

    def add_user(
        self,
        user: User,
        token_hash: str,
        *,
        created_by: str | None = None,
        awaiting: bool = False,
        id_number: str | None = None,
    ) -> None:
        self.session.add(
            UserRow(
                name=user.name,
                role=user.role,
                token_hash=token_hash,
                created_at=(now := utc_now()),
                token_issued_at=now,
                disabled=awaiting,
                created_by=created_by,
                awaiting_confirmation=awaiting,
                id_number=id_number,
            )
        )
        self.session.flush()

    def disable(self, name: str) -> None:
        self.session.execute(
            update(UserRow)
            .where(UserRow.name == name)
            .values(disabled=True, awaiting_confirmation=False)
        )
        self.session.expire_all()

    def confirm(self, name: str, by: str) -> None:
        self.session.execute(
            update(UserRow)
            .where(UserRow.name == name)
            .values(disabled=False, awaiting_confirmation=False, confirmed_by=by)
        )
        self.session.expire_all()

    def set_token(self, name: str, token_hash: str) -> None:
        self.session.execute(
            update(UserRow)
            .where(UserRow.name == name)
            .values(token_hash=token_hash, token_issued_at=utc_now(), token_last_used_at=None)
        )
        self.session.expire_all()

    def password_hash(self, name: str) -> str | None:
        row = self.session.get(UserRow, name)
        return None if row is None else row.password_hash

    def set_password_hash(self, name: str, password_hash: str) -> None:
        self.session.execute(
            update(UserRow).where(UserRow.name == name).values(password_hash=password_hash)
        )
        self.session.expire_all()

    def end_sessions(self, name: str, keep: str | None = None) -> int:
        query = delete(ConsoleSessionRow).where(ConsoleSessionRow.user_name == name)
        if keep is not None:
            query = query.where(ConsoleSessionRow.id != session_key(keep))
        return int(self.session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
