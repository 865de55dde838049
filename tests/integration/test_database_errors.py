"""Integrity errors told apart: a lost race is a conflict to retry, anything else is
refused input (HTTP 409 vs 422, exit 75 vs 2)."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from schema.db import UnitOfWork, is_conflict, is_sqlite, unsnapshotted
from schema.tables import UserRow


def test_a_lost_race_is_told_apart_from_a_broken_database_rule(engine: Engine) -> None:
    """A unique key taken meanwhile is a conflict to retry; a CHECK the domain should
    have enforced is not, so the service never asks a client to retry it forever."""
    row = {
        "name": "张会计",
        "role": "clerk",
        "token_hash": "a" * 64,
        "created_at": datetime(2024, 1, 1),
        "token_issued_at": datetime(2024, 1, 1),
    }
    with UnitOfWork(engine) as uow:
        uow.session.execute(UserRow.__table__.insert().values(**row))
        uow.commit()
    with UnitOfWork(engine) as uow, pytest.raises(IntegrityError) as taken:
        uow.session.execute(UserRow.__table__.insert().values(**row))
    assert is_conflict(taken.value)
    with UnitOfWork(engine) as uow, pytest.raises(IntegrityError) as broken:
        uow.session.execute(
            UserRow.__table__.insert().values(
                **{**row, "name": "李科长", "role": "boss", "token_hash": "b" * 64}
            )
        )
    assert not is_conflict(broken.value)


def test_a_read_that_needs_no_snapshot_begins_no_transaction(engine: Engine) -> None:
    """The token check and the balance read (one figure and the names beside it) send no
    BEGIN or ROLLBACK over the network (issue 34); every other read is one snapshot, and
    the engine's own connections are left as they were."""
    if is_sqlite(engine):
        pytest.skip("SQLite begins nothing until asked: the same engine serves both")
    in_transaction = psycopg.pq.TransactionStatus.INTRANS

    def status(connection: Connection) -> psycopg.pq.TransactionStatus:
        return connection.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]

    with unsnapshotted(engine).connect() as connection:
        connection.execute(text("SELECT 1"))
        assert status(connection) != in_transaction
    with UnitOfWork(engine, write=False, snapshot=False) as uow:
        uow.session.execute(text("SELECT 1"))
        assert status(uow.session.connection()) != in_transaction
    with UnitOfWork(engine, write=False) as uow:
        uow.session.execute(text("SELECT 1"))
        assert status(uow.session.connection()) == in_transaction
    with engine.connect() as connection:  # the pooled connection is back to transactions
        connection.execute(text("SELECT 1"))
        assert status(connection) == in_transaction
    with pytest.raises(ValueError, match="one transaction"):
        UnitOfWork(engine, snapshot=False)
