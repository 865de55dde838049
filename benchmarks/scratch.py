"""Fresh databases for one benchmark run: SQLite files in a folder, or databases created
on a PostgreSQL server and dropped when the run ends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from schema.db import connect


@contextmanager
def scratch_urls(pg_url: str | None, folder: Path, names: Sequence[str]) -> Iterator[list[str]]:
    """One database URL per name, each database new and empty; PostgreSQL ones are
    dropped afterwards (SQLite files go with the caller's folder)."""
    if pg_url is None:
        yield [f"sqlite:///{folder / f'{name}.db'}" for name in names]
        return
    admin = connect(pg_url, isolation_level="AUTOCOMMIT")
    created = [f"bench_{name}_{uuid.uuid4().hex[:8]}" for name in names]
    try:
        with admin.connect() as connection:
            for database in created:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
        base = make_url(pg_url)
        yield [base.set(database=d).render_as_string(hide_password=False) for d in created]
    finally:
        with admin.connect() as connection:
            for database in created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
