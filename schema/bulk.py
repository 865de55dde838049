"""Many rows at once: ``INSERT`` and ``UPDATE`` of a whole step's rows in one go.

Small sets go as one ``executemany`` (SQLAlchemy's batched statements), on both
databases. On PostgreSQL a large set goes by ``COPY``, the server's own bulk path: an
insert straight into its table, an update into a temporary table of the columns it
sets and then one ``UPDATE … FROM`` joined on the key. Either way the rows are written
in the caller's transaction, every constraint and trigger holds as for a plain
statement, and a refusal reaches the caller as SQLAlchemy's error (an
:class:`~sqlalchemy.exc.IntegrityError` for a key taken by another writer, which
:func:`schema.db.is_conflict` recognises).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import Any, Final

from sqlalchemy import JSON, Column, Connection, MetaData, Table, bindparam, insert, update
from sqlalchemy.exc import DBAPIError

COPY_FROM: Final = 2_000
"""Rows from which PostgreSQL is sent them by COPY (below it, one executemany is as
quick and needs no temporary table)."""

Row = Mapping[str, Any]


BULK_ROWS: Final = 20_000
"""Rows taken from the caller at a time: a step's rows may come from a generator (a
voucher of a million postings), and are never all held at once."""


def _parts(rows: Iterable[Row]) -> Iterator[list[Row]]:
    """``rows`` :data:`BULK_ROWS` at a time; a row whose columns differ from the first
    row's is refused (a statement built from the first row would drop what it adds)."""
    remaining = iter(rows)
    columns: set[str] | None = None
    while part := list(islice(remaining, BULK_ROWS)):
        if columns is None:
            columns = set(part[0])
        if any(row.keys() != columns for row in part):
            raise ValueError(f"rows with different columns: {sorted(columns)} and others")
        yield part


def insert_rows(connection: Connection, table: Table, rows: Iterable[Row]) -> None:
    """Insert ``rows`` (column → value, every row the same columns) into ``table``."""
    parts = _parts(rows)
    first = next(parts, None)
    if first is None:
        return
    if not _by_copy(connection, first):
        for part in chain([first], parts):
            connection.execute(insert(table), part)
        return
    _copy(connection, table, table.name, list(first[0]), _each(chain([first], parts)))


def update_rows(
    connection: Connection, table: Table, key: Sequence[str], rows: Iterable[Row]
) -> None:
    """Set, in each row of ``table`` whose ``key`` columns match one of ``rows``, the
    other columns ``rows`` give (every row the same columns)."""
    parts = _parts(rows)
    first = next(parts, None)
    if first is None:
        return
    columns = list(first[0])
    setting = [c for c in columns if c not in key]
    if not _by_copy(connection, first):
        names = {c: f"bulk_{c}" for c in columns}  # a bind name may not be a column's
        statement = (
            update(table)
            .where(*(table.c[k] == bindparam(names[k]) for k in key))
            .values({c: bindparam(names[c]) for c in setting})
        )
        for part in chain([first], parts):
            connection.execute(statement, [{names[c]: r[c] for c in columns} for r in part])
        return
    staging = Table(
        f"bulk_{table.name}_{uuid.uuid4().hex[:8]}",
        MetaData(),
        *(Column(c, table.c[c].type) for c in columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    staging.create(connection)
    _copy(connection, table, staging.name, columns, _each(chain([first], parts)))
    connection.execute(
        update(table)
        .where(*(table.c[k] == staging.c[k] for k in key))
        .values({c: staging.c[c] for c in setting})
    )
    staging.drop(connection)


def _by_copy(connection: Connection, first: Sequence[Row]) -> bool:
    """COPY when the first part already reaches :data:`COPY_FROM` rows (a smaller first
    part is the only one)."""
    return connection.dialect.name == "postgresql" and len(first) >= COPY_FROM


def _each(parts: Iterable[list[Row]]) -> Iterator[Row]:
    for part in parts:
        yield from part


def _copy(
    connection: Connection, table: Table, into: str, columns: list[str], rows: Iterable[Row]
) -> None:
    """``COPY into (columns) FROM STDIN`` of ``rows`` on the unit of work's own
    connection (so in its transaction); JSON columns written as JSON text."""
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    listed = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{into}" ({listed}) FROM STDIN'
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([_json(row[c]) if c in as_json else row[c] for c in columns])
    except Exception as error:
        mapped = _as_sqlalchemy(statement, error)
        if mapped is error:
            raise
        raise mapped from error


def _json(value: Any) -> str:
    """A JSON column's value as text; ``None`` as JSON ``null``, as a plain statement
    writes it (SQLAlchemy's JSON type), so both paths store the same."""
    return json.dumps(value, ensure_ascii=False)


def _as_sqlalchemy(statement: str, error: Exception) -> Exception:
    """The driver's error as SQLAlchemy raises it for a statement it ran itself (its own
    class: IntegrityError, DataError, OperationalError …); any other error as it is."""
    import psycopg  # noqa: PLC0415 (only PostgreSQL gets here)

    if not isinstance(error, psycopg.Error):
        return error
    return DBAPIError.instance(statement, None, error, psycopg.Error)
