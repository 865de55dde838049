"""Schema changes by Alembic migrations: ``studio-ledger db upgrade``.

The migrations live in ``schema/migrations``; they are configured here in code
so that no ``alembic.ini`` has to sit beside the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine

from ledger.books import book
from ledger.books.chain_keys import KeyRing
from schema.db import UnitOfWork

MIGRATIONS = Path(__file__).with_name("migrations")


FOREIGN_TABLES = frozenset({"scheduler_jobs"})
"""Tables other libraries own in our database (APScheduler's job store)."""


def ours(_obj: object, name: str | None, type_: str, _reflected: object, _compare: object) -> bool:
    """Whether a schema object belongs to our migrations (Alembic's include_object)."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at ``engine`` up to ``revision``, in one transaction.

    On SQLite a migration that changes a table's constraints rebuilds the table
    (Alembic's batch mode), which needs foreign-key enforcement off while the old
    table is dropped; the pragma only takes effect outside a transaction, so it
    is switched off before the transaction and back on after it, and every
    foreign key is checked before the transaction commits.
    """
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database at ``engine`` back to ``revision``, as :func:`upgrade` goes
    forward (for tests of a migration's data; an office restores a backup instead)."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with _transaction(engine) as connection:
        config = _config()
        config.attributes["connection"] = connection
        step(config, revision)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for schema changes (and the rows that go with them), committed
    when the block ends without an error; on SQLite with foreign keys off inside it and
    every one checked before the commit (see :func:`upgrade`)."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _pragma(connection, "foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    _refuse_broken_foreign_keys(connection)
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys = ON")


@dataclass(frozen=True)
class Migrating:
    """A database being brought to revisions and written in one transaction
    (:func:`migrating`)."""

    connection: Connection

    def to(self, revision: str) -> None:
        """Upgrade, or downgrade, the schema to ``revision`` inside the transaction."""
        config = _config()
        config.attributes["connection"] = self.connection
        current = revision_on(self.connection)
        if current == revision:
            return
        if current is not None and _before(revision, current):
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)


@contextmanager
def migrating(engine: Engine) -> Iterator[Migrating]:
    """A transaction on the database at ``engine`` in which the block brings the schema to
    revisions (:meth:`Migrating.to`, up or down) and writes rows between (a restore: a
    backup's rows at its revision, then the schema on to the newest); all of it committed
    when the block ends, none of it when it raises."""
    with _transaction(engine) as connection:
        yield Migrating(connection)


def _before(older: str, newer: str) -> bool:
    """Whether revision ``older`` comes before ``newer`` in the (linear) history."""
    script = ScriptDirectory.from_config(_config())
    return any(r.revision == older for r in script.iterate_revisions(newer, "base"))


def known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this program's migrations."""
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except CommandError:
        return False


def revision_on(connection: Connection) -> str | None:
    """The schema revision of the database ``connection`` is open on."""
    return MigrationContext.configure(connection).get_current_revision()


def prepare(engine: Engine) -> KeyRing | None:
    """What ``studio-ledger db upgrade`` does: migrate to the newest schema, then give the
    ledger its chain key if it has none (:func:`ledger.book.key_the_chain`); the new
    ring, or None when it had one."""
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        ring = book.key_the_chain(uow.ledger)
        uow.commit()
    return ring


def _pragma(connection: Connection, setting: str) -> None:
    """Set a SQLite pragma on the driver's connection, outside any transaction."""
    connection.connection.driver_connection.execute(f"PRAGMA {setting}")  # type: ignore[union-attr]


def _refuse_broken_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"the migration would leave broken foreign keys: {broken[:5]}")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return revision_on(connection)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
