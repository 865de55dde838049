"""Integrity errors told apart: a lost race is a conflict to retry, anything else is
refused input (HTTP 409 vs 422, exit 75 vs 2)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from schema.db import UnitOfWork, is_conflict
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
