"""Databases for the tests: each integration test runs on SQLite and on PostgreSQL.

PostgreSQL tests run when ``STUDIO_LEDGER_TEST_PG_URL`` names a server (``.ci/run``
starts one); otherwise they skip with that reason, except in CI (``CI=true``),
where a missing PostgreSQL fails the run instead of skipping silently.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import Engine, make_url, text

from ledger import clock as program_clock
from schema.db import connect
from schema.keys import FILE_VARIABLE, RING_VARIABLE
from schema.migrate import upgrade
from schema.tables import IMMUTABLE_TABLES, Base

PG_URL_VARIABLE = "STUDIO_LEDGER_TEST_PG_URL"

TEST_RING = "1:" + "5e" * 32
"""The chain key every test database is sealed with, from its first transaction; tests of
key files and rotation set their own (tests/integration/test_chain_keys.py)."""


@pytest.fixture(scope="session", autouse=True)
def chain_key() -> Iterator[str]:
    """Hand the test ring to every process the tests start, through the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(RING_VARIABLE, TEST_RING)
        patch.delenv(FILE_VARIABLE, raising=False)
        yield TEST_RING


class Clock:
    """The program's clock as a test sets it: ``clock.set(date(2027, 1, 20))`` makes that
    day today, from noon in Beijing, and time goes on from there (recorded times keep
    their order)."""

    def set(self, moment: date | datetime) -> None:
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time(12), program_clock.PROGRAM_TIME_ZONE)
        started = datetime.now(UTC)
        program_clock.use(lambda: moment + (datetime.now(UTC) - started))


@contextmanager
def today_is(day: date) -> Iterator[None]:
    """For fixtures wider than one test: "today" is ``day`` inside the block."""
    Clock().set(day)
    try:
        yield
    finally:
        program_clock.use(None)


FULL_CYCLE: Final = date(2027, 2, 1)
"""A day after the demo's whole story (the cycle closes and renewals of January 2027)."""


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Set "today" for a test (:mod:`ledger.clock`); the system clock again afterwards."""
    yield Clock()
    program_clock.use(None)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for every test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[tuple[str, dict[str, list[dict[str, object]]]]]:
    """A fresh, migrated PostgreSQL database for this test session."""
    server = os.environ.get(PG_URL_VARIABLE)
    if not server:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test PostgreSQL but {PG_URL_VARIABLE} is not set")
        pytest.skip(f"no PostgreSQL configured: set {PG_URL_VARIABLE} (see .ci/start-postgres)")
    name = f"studio_ledger_test_{uuid.uuid4().hex[:8]}"
    admin = connect(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(connect(server).url).set(database=name).render_as_string(hide_password=False)
    engine = connect(url)
    upgrade(engine)
    seeded = _rows_of_every_table(engine)
    engine.dispose()
    yield url, seeded
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _rows_of_every_table(engine: Engine) -> dict[str, list[dict[str, object]]]:
    """What the migrations put in the tables (the chain head, the default policy)."""
    with engine.connect() as connection:
        return {
            t.name: [dict(r._mapping) for r in connection.execute(t.select())]
            for t in Base.metadata.sorted_tables
        }


def _reset_postgres(engine: Engine, seeded: dict[str, list[dict[str, object]]]) -> None:
    """Empty every table and put back what the migrations seeded."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for table in (*IMMUTABLE_TABLES, "daily_balances"):  # tamper tests switch them off
            connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        for table in Base.metadata.sorted_tables:
            if seeded[table.name]:
                connection.execute(table.insert(), seeded[table.name])


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Hands out a migrated, empty database of each kind, anew on every call."""
    engines: list[Engine] = []

    def fresh() -> Engine:
        for used in engines:
            used.dispose()
        if request.param == "sqlite":
            path = tmp_path / f"ledger-{len(engines)}.db"
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            engine = connect(f"sqlite:///{path}")
        else:
            url, seeded = request.getfixturevalue("postgres_database")
            engine = connect(url)
            _reset_postgres(engine, seeded)
        engines.append(engine)
        return engine

    yield fresh
    for engine in engines:
        engine.dispose()


@pytest.fixture
def engine(fresh_engine: Callable[[], Engine]) -> Engine:
    """A migrated, empty database of each kind."""
    return fresh_engine()
