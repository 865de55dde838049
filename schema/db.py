"""Where the database is, how to connect to it, and the unit of work.

SQLite is the zero-set-up default (a WAL-mode file); PostgreSQL (psycopg 3)
is the production database. The same code runs on both.

A :class:`UnitOfWork` owns one session and one database transaction. It rolls
back unless :meth:`UnitOfWork.commit` is called, so a failure leaves nothing
half-written. Only the outermost layer (a CLI command, a request, a job run)
commits.

Write units lock early: on SQLite they ``BEGIN IMMEDIATE`` (take the single
write lock up front, so a read-then-write transaction cannot fail on upgrade);
on PostgreSQL the ledger locks the chain head row ``FOR UPDATE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from schema.attachment_store import SqlAttachmentStore
from schema.audit_store import SqlAuditStore
from schema.batch_store import SqlBatchStore
from schema.job_store import SqlJobStore
from schema.keys import key_source
from schema.ledger_store import SqlLedgerStore
from schema.registry_store import SqlRegistryStore
from schema.user_store import SqlUserStore

DEFAULT_DATABASE: Final = "sqlite:///./studio-ledger.db"
SQLITE_BUSY_TIMEOUT_MS: Final = 60_000
_BEGIN_OPTION: Final = "studio_ledger_sqlite_begin"
POOL_SIZE: Final = 20
"""Connections an engine keeps open: enough for a server process's request threads (its
handlers' and its token checks'), so that none is opened and closed per request."""
POOL_OVERFLOW: Final = 10
"""Connections opened beyond :data:`POOL_SIZE` at a peak, closed when handed back."""


def database_url(given: str | None = None) -> str:
    """``--db URL``, else ``DATABASE_URL``, else ``./studio-ledger.db``.

    ``postgresql://`` URLs are read with psycopg 3; a bare file path is SQLite.
    """
    url = given or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url)}"
    return url


def connect(url: str | None = None, **options: Any) -> Engine:
    """An engine for ``url`` (see :func:`database_url`), set up for the ledger."""
    resolved = make_url(database_url(url))
    if resolved.database not in (None, "", ":memory:"):  # an in-memory SQLite has no pool
        options = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **options}
    if resolved.get_backend_name() != "sqlite":
        return create_engine(resolved, pool_pre_ping=True, **options)
    engine = create_engine(resolved, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if resolved.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


class DatabaseUnavailable(Exception):  # noqa: N818 (a refusal, named as an operator says it)
    """The database named cannot be used: a bad URL, a missing file or folder, a server
    that does not answer. The message is one line for an operator."""


def shown(url: str | URL) -> str:
    """A database URL as it may be printed: the password hidden."""
    try:
        return (url if isinstance(url, URL) else make_url(url)).render_as_string()
    except ArgumentError:
        return repr(url)


SIDECARS: Final = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside a database file while it is open."""


def sqlite_file(url: URL) -> Path | None:
    """The file of the SQLite database at ``url``, as named; None for an in-memory one
    or a database of another kind."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "")


def open_database(url: str | None = None, *, create: bool = False) -> Engine:
    """An engine for an existing database, checked by connecting to it.

    A SQLite file is created only when ``create`` is set (``db upgrade``); every
    other command refuses a file that is not there rather than leave an empty
    database behind. Raises :class:`DatabaseUnavailable` with one clear line.
    """
    text = database_url(url)
    try:
        resolved = make_url(text)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"not a database URL: {text!r}; use a file path, sqlite:///PATH or "
            "postgresql://USER@HOST/DATABASE"
        ) from None
    if (path := sqlite_file(resolved)) is not None:
        if not path.parent.is_dir():
            raise DatabaseUnavailable(f"the folder {path.parent} does not exist (database {path})")
        if not create and not path.is_file():
            raise DatabaseUnavailable(
                f"there is no database at {path}; create it with `studio-ledger db upgrade` "
                "or name another with --db URL"
            )
    try:
        engine = connect(text)
    except (NoSuchModuleError, ImportError):
        raise DatabaseUnavailable(
            f"unsupported database {resolved.drivername!r} in {shown(resolved)}; "
            "use SQLite or PostgreSQL"
        ) from None
    try:
        with engine.connect():
            pass
    except OperationalError as failed:
        engine.dispose()
        raise DatabaseUnavailable(
            f"cannot connect to the database at {shown(resolved)}: {failure_line(failed)}"
        ) from None
    return engine


def failure_line(failed: OperationalError) -> str:
    """The driver's first line of why a database operation failed."""
    lines = str(failed.orig).strip().splitlines()
    return lines[0] if lines else type(failed.orig).__name__


_CONFLICT_STATES: Final = frozenset({"23505", "40001", "40P01"})
"""PostgreSQL SQLSTATEs of a write that lost a race: unique violation, serialization
failure, deadlock."""


def is_conflict(error: IntegrityError) -> bool:
    """Whether an integrity error is a write that lost a race with another writer (a
    unique key taken meanwhile), rather than a value no rule should have let through."""
    state = getattr(error.orig, "sqlstate", None)
    if state is not None:
        return state in _CONFLICT_STATES
    return "UNIQUE constraint failed" in str(error.orig)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def unsnapshotted(engine: Engine) -> Engine:
    """``engine`` for reads that need not see one moment (one statement, or one figure
    and the names shown beside it): on PostgreSQL in autocommit, so no ``BEGIN`` and
    ``ROLLBACK`` cross the network around them; SQLite begins nothing until asked, so it
    is ``engine`` itself. Never for a write, nor for a read whose parts must agree."""
    if is_sqlite(engine):
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class UnitOfWork:
    """One session, one database transaction; rolled back unless committed.

    >>> with UnitOfWork(engine) as uow:
    ...     ledger.post(uow.ledger, [...])
    ...     uow.commit()
    """

    def __init__(self, engine: Engine, *, write: bool = True, snapshot: bool = True) -> None:
        """``snapshot=False`` (a read only) is a read that need not see one moment
        (:func:`unsnapshotted`)."""
        if write and not snapshot:
            raise ValueError("a write always works in one transaction")
        self.engine = engine
        self.write = write
        self.snapshot = snapshot
        self._session: Session | None = None
        self._ledger: SqlLedgerStore | None = None
        self._registry: SqlRegistryStore | None = None
        self._batches: SqlBatchStore | None = None
        self._audit: SqlAuditStore | None = None
        self._jobs: SqlJobStore | None = None
        self._users: SqlUserStore | None = None
        self._attachments: SqlAttachmentStore | None = None

    def __enter__(self) -> Self:
        bind = self.engine if self.snapshot else unsnapshotted(self.engine)
        self._session = Session(bind, expire_on_commit=False, autoflush=False)
        if self.write and is_sqlite(self.engine):
            self._session.connection(execution_options={_BEGIN_OPTION: "IMMEDIATE"})
        self._registry = SqlRegistryStore(self._session)
        self._batches = SqlBatchStore(self._session)
        self._audit = SqlAuditStore(self._session, self.engine.url)
        self._jobs = SqlJobStore(self._session)
        self._users = SqlUserStore(self._session)
        return self

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._session

    @property
    def ledger(self) -> SqlLedgerStore:
        """The ledger's storage inside this unit of work, for :mod:`ledger.book` (made on
        first use: finding the chain key's place is not free)."""
        if self._ledger is None:
            self._ledger = SqlLedgerStore(self.session, key_source(self.engine.url))
        return self._ledger

    @property
    def registry(self) -> SqlRegistryStore:
        """The registry's storage inside this unit of work, for :mod:`ledger.program`."""
        if self._registry is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._registry

    @property
    def batches(self) -> SqlBatchStore:
        """Batches and users inside this unit of work, for :mod:`ledger.disbursement`."""
        if self._batches is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._batches

    @property
    def users(self) -> SqlUserStore:
        """Users and their token hashes inside this unit of work, for :mod:`ledger.users`."""
        if self._users is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._users

    @property
    def audit(self) -> SqlAuditStore:
        """The audit log and idempotent answers inside this unit of work."""
        if self._audit is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._audit

    @property
    def attachments(self) -> SqlAttachmentStore:
        """Originals attached to vouchers inside this unit of work (made on first use)."""
        if self._attachments is None:
            self._attachments = SqlAttachmentStore(self.session)
        return self._attachments

    @property
    def jobs(self) -> SqlJobStore:
        """Job runs inside this unit of work."""
        if self._jobs is None:
            raise RuntimeError("the unit of work is not open; use it in a with block")
        return self._jobs

    def commit(self) -> None:
        self.session.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the unit of work that rolls back alone when it raises (a SAVEPOINT),
        so a job can refuse one studio and go on with the others."""
        with self.session.begin_nested():
            yield

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = self._ledger = self._registry = None
            self._batches = self._audit = self._jobs = self._users = None
            self._attachments = None
