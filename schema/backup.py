"""Backup and restore: the whole ledger as one portable, checksummed archive.

An archive is a zip file any tool can list:

- ``manifest.json``: the format and its version, the schema revision the rows were
  written at, the kind of database they came from, when (Beijing time), the chain's
  anchor (``SEQ:HASH`` of its last transaction) and, for each table, its columns with
  their kinds and its number of rows;
- ``tables/NAME.jsonl``: one JSON array per row, in the manifest's column order,
  rows by primary key; bytes in base64, dates and times in ISO 8601, JSON as JSON;
- the zip's comment, last in the file: ``studio-ledger-backup sha256:`` and the
  SHA-256 of every byte before the 64 hexadecimal digits. One byte changed anywhere —
  in a row, a header or the checksum itself — and the archive is refused whole.

What it never holds: the chain key (kept outside the database; back it up apart),
the console's sign-ins (everyone signs in again) and the scheduler's own job table
(rebuilt when it starts).

A backup reads every table in one read-only transaction, a snapshot: it may run while
the service and the scheduler write, and holds what was committed when it began. It
streams, a chunk of rows at a time, into a file beside the target that is renamed into
place only once complete (mode 0600: the archive carries personal data).

A restore checks the checksum before anything else, then that the target is empty (no
table of the ledger, or only what ``db upgrade`` writes into a new one), then, in one
transaction, migrates the target to the archive's schema revision, loads every row,
migrates on to the newest schema and checks that the chain head is the archive's
anchor. A failure anywhere leaves the target as it was (a SQLite file it created is
removed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Final
from zipfile import ZIP_DEFLATED, BadZipFile, ZipFile, ZipInfo

from alembic.util.exc import CommandError
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from ledger.books.book import Anchor
from ledger.clock import local_time, now
from ledger.errors import LedgerError
from schema.db import SIDECARS, sqlite_file
from schema.keys import key_source, safe_name
from schema.migrate import (
    FOREIGN_TABLES,
    head_revision,
    known_revision,
    migrating,
    revision_on,
)

FORMAT: Final = "studio-ledger-backup"
VERSION: Final = 1
MANIFEST: Final = "manifest.json"
_SEAL_PREFIX: Final = b"studio-ledger-backup sha256:"
_SEAL_LENGTH: Final = 64
CHUNK: Final = 2_000
"""Rows read, encoded, decoded and inserted at a time: memory holds a chunk, never a
table."""

LEFT_OUT: Final = frozenset({"alembic_version", "console_sessions", *FOREIGN_TABLES})
"""Tables an archive does not carry: the schema revision (in the manifest instead), the
console's sign-ins, and APScheduler's jobs."""

SEEDED: Final = {
    "chain_head": "SELECT count(*) FROM chain_head WHERE last_seq <> 0",
    "policies": "SELECT count(*) - 1 FROM policies",
    "users": "SELECT count(*) FROM users WHERE name <> 'scheduler'",
}
"""Tables ``db upgrade`` writes rows into in a new database — the chain's genesis head,
the first policy, the scheduler's user — each with the count of rows beyond those: a
target holding nothing more is still empty, and a restore replaces their rows with the
archive's."""


class ArchiveRefused(LedgerError):  # noqa: N818 (a refusal, named as an operator says it)
    """A backup or restore that cannot go ahead; the message names why, and nothing was
    written."""


@dataclass(frozen=True, slots=True)
class TablePart:
    """One table in an archive: its columns (name, kind) and how many rows it holds."""

    name: str
    columns: tuple[tuple[str, str], ...]
    rows: int

    @property
    def member(self) -> str:
        return f"tables/{self.name}.jsonl"


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive says of itself (``manifest.json``)."""

    revision: str
    source: str
    taken_at: str
    anchor: str | None
    tables: tuple[TablePart, ...]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "revision": self.revision,
            "source": self.source,
            "taken_at": self.taken_at,
            "anchor": self.anchor,
            "tables": [
                {"name": t.name, "columns": [list(c) for c in t.columns], "rows": t.rows}
                for t in self.tables
            ],
        }


@dataclass(frozen=True, slots=True)
class BackupMade:
    """A finished archive: where, its checksum, its size and what it holds."""

    path: Path
    sha256: str
    size: int
    manifest: Manifest


# -- kinds: how a column's values are written as JSON and read back --------------------


def kind_of(column_type: Any) -> str:
    """The archive's kind of a column, from its type (reflected from either database)."""
    for kind, types in _KINDS:
        if isinstance(column_type, types):
            return kind
    raise ArchiveRefused(f"列类型 {column_type!r} 无法写入备份")


_KINDS: Final[tuple[tuple[str, Any], ...]] = (
    ("json", JSON),
    ("bytes", LargeBinary),
    ("datetime", DateTime),
    ("date", Date),
    ("bool", Boolean),
    ("int", Integer),
    ("text", (String, Text)),
)


def encoded(kind: str, value: Any) -> Any:
    """A value as the archive writes it."""
    if value is None or kind in ("json", "int", "text", "bool"):
        return value
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    return value.isoformat()


def decoded(kind: str, value: Any) -> Any:
    """A value read from the archive, as the database is handed it."""
    if value is None or kind in ("json", "int", "text", "bool"):
        return value
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    return date.fromisoformat(value)


# -- backup --------------------------------------------------------------------------------


def backup(engine: Engine, out: Path) -> BackupMade:
    """Write the whole ledger at ``engine`` to an archive at ``out`` (see the module)."""
    out = out.absolute()
    if out.is_dir():
        raise ArchiveRefused(f"备份文件：{out} 是一个文件夹；请给出文件名，如 {out / 'ledger.zip'}")
    if not out.parent.is_dir():
        raise ArchiveRefused(f"备份文件：文件夹 {out.parent} 不存在")
    if out.resolve() in _kept_files(engine.url):
        raise ArchiveRefused(
            f"备份文件：{out} 是账簿本身的文件（数据库或账链密钥），不能写在它上面"
        )
    descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    partial = Path(name)  # a name of its own: two backups to one --out never share it
    try:
        with os.fdopen(descriptor, "w+b") as file:
            manifest = _write_archive(engine, file)
            checksum = _seal(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupMade(out, checksum, out.stat().st_size, manifest)


def _kept_files(url: URL) -> set[Path]:
    """The files the ledger at ``url`` lives in: a SQLite file and its sidecars, the key
    file. A backup is never written over one of them."""
    kept: set[Path] = set()
    if (file := sqlite_file(url)) is not None:
        database = file.resolve()
        kept |= {database, *(database.with_name(database.name + s) for s in SIDECARS)}
    keys = key_source(url).path
    if keys is not None:
        kept.add(keys.resolve())
    return kept


def _write_archive(engine: Engine, file: IO[bytes]) -> Manifest:
    with _snapshot(engine) as connection:
        revision = _revision_of(connection)
        tables = _ledger_tables(connection)
        anchor = _chain_end(connection)
        parts: list[TablePart] = []
        taken = local_time(now()).replace(microsecond=0)
        stamp = taken.timetuple()[:6]
        with ZipFile(file, "w", compression=ZIP_DEFLATED, compresslevel=6) as archive:
            for table in tables:
                columns = tuple((c.name, kind_of(c.type)) for c in table.columns)
                count = 0
                member = TablePart(table.name, columns, 0).member
                info = ZipInfo(member, date_time=stamp)
                info.compress_type = ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as out:
                    for chunk in _rows(connection, table):
                        out.write(_lines(columns, chunk))
                        count += len(chunk)
                parts.append(TablePart(table.name, columns, count))
            manifest = Manifest(
                revision=revision,
                source=engine.dialect.name,
                taken_at=taken.isoformat(),
                anchor=anchor,
                tables=tuple(parts),
            )
            body = json.dumps(manifest.as_json(), ensure_ascii=False, indent=1)
            archive.writestr(ZipInfo(MANIFEST, date_time=stamp), body, ZIP_DEFLATED)
            archive.comment = _SEAL_PREFIX + b"0" * _SEAL_LENGTH
    return manifest


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction seeing one moment of the database: REPEATABLE READ on
    PostgreSQL; on SQLite (WAL) a read transaction keeps its first read's snapshot."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        if postgresql:
            connection.execution_options(isolation_level="REPEATABLE READ")  # this connection
        connection.begin()
        try:
            if postgresql:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield connection
        finally:
            connection.rollback()


def _revision_of(connection: Connection) -> str:
    revision = revision_on(connection)
    if revision is None:
        raise ArchiveRefused("数据库还没有账簿的库结构（先运行 studio-ledger db upgrade）")
    return revision


def _ledger_tables(connection: Connection) -> list[Table]:
    """The ledger's tables, parents before children (so a restore can insert in order)."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return [t for t in metadata.sorted_tables if t.name not in LEFT_OUT]


def _rows(connection: Connection, table: Table) -> Iterator[list[Any]]:
    statement = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(yield_per=CHUNK).execute(statement)
    for chunk in result.partitions(CHUNK):
        yield list(chunk)


def _lines(columns: tuple[tuple[str, str], ...], rows: list[Any]) -> bytes:
    kinds = [kind for _, kind in columns]
    return "".join(
        json.dumps(
            [encoded(kind, value) for kind, value in zip(kinds, row, strict=True)],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "\n"
        for row in rows
    ).encode("utf-8")


def _seal(file: IO[bytes]) -> str:
    """Write the checksum of every byte before it into the comment's last 64 bytes."""
    file.seek(0, os.SEEK_END)
    end = file.tell()
    checksum = _digest(file, end - _SEAL_LENGTH)
    file.seek(end - _SEAL_LENGTH)
    file.write(checksum.encode("ascii"))
    return checksum


def _digest(file: IO[bytes], length: int) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    left = length
    while left > 0:
        block = file.read(min(left, 1 << 20))
        if not block:
            break
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()


# -- nightly copies -------------------------------------------------------------------------

FOLDER_VARIABLE: Final = "STUDIO_LEDGER_BACKUP_DIR"
KEEP_VARIABLE: Final = "STUDIO_LEDGER_BACKUP_KEEP"
DEFAULT_KEEP: Final = 14


def ledger_name(url: URL) -> str:
    """The name a ledger's nightly copies carry, so that ledgers sharing a folder never
    replace or prune each other's: a SQLite file's name without ``.db``, or for
    PostgreSQL ``HOST-PORT-DATABASE``."""
    if (file := sqlite_file(url)) is not None:
        return safe_name(file.stem)
    return safe_name(f"{url.host or 'localhost'}-{url.port or 5432}-{url.database or 'postgres'}")


def backup_folder(url: URL) -> Path:
    """Where the nightly backups go: ``STUDIO_LEDGER_BACKUP_DIR``; else beside a SQLite
    file (``backups/``), or for PostgreSQL under the operator's data folder
    (``~/.local/share/studio-ledger/backups``)."""
    named = os.environ.get(FOLDER_VARIABLE)
    if named:
        return Path(named).expanduser().absolute()
    if (file := sqlite_file(url)) is not None:
        return file.absolute().parent / "backups"
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data / "studio-ledger" / "backups"


def kept_copies() -> int:
    """How many nightly copies to keep (``STUDIO_LEDGER_BACKUP_KEEP``, at least 1)."""
    text_value = os.environ.get(KEEP_VARIABLE, "")
    if not text_value:
        return DEFAULT_KEEP
    if not text_value.isdigit() or int(text_value) < 1:
        raise ArchiveRefused(f"{KEEP_VARIABLE} 应为正整数：{text_value!r}")
    return int(text_value)


def nightly_name(url: URL, day: date) -> str:
    """``LEDGER-YYYY-MM-DD.zip``: the copy of ``day``'s run (its manifest says when it was
    taken)."""
    return f"{ledger_name(url)}-{day.isoformat()}.zip"


def prune(folder: Path, url: URL, keep: int, made: Path) -> list[Path]:
    """Remove all but the newest ``keep`` nightly copies of the ledger at ``url`` in
    ``folder`` (by their date), never ``made``, the one just written; the files removed.
    Other files there, other ledgers' copies among them, are never touched."""
    pattern = re.compile(re.escape(ledger_name(url)) + r"-\d{4}-\d{2}-\d{2}\.zip")
    copies = sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name) and p.is_file())
    removed = [p for p in copies[: max(len(copies) - keep, 0)] if p != made]
    for path in removed:
        path.unlink()
    return removed


# -- restore -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Restored:
    """A finished restore: what was loaded, and the anchor the target now ends at."""

    manifest: Manifest
    sha256: str
    target: str


def checked(path: Path) -> tuple[str, Manifest]:
    """The archive's checksum and manifest, once the checksum holds and the manifest is one
    this program can load; else :class:`ArchiveRefused` naming why."""
    try:
        with path.open("rb") as file:
            return _checked(file, path)
    except OSError as error:
        raise ArchiveRefused(f"无法读取备份文件 {path}：{error.strerror}") from None


def _checked(file: IO[bytes], path: Path) -> tuple[str, Manifest]:
    file.seek(0, os.SEEK_END)
    size = file.tell()
    if size < len(_SEAL_PREFIX) + _SEAL_LENGTH:
        raise ArchiveRefused(f"{path} 不是账簿备份：文件太短（{size} 字节）")
    file.seek(size - _SEAL_LENGTH - len(_SEAL_PREFIX))
    tail = file.read()
    if not tail.startswith(_SEAL_PREFIX):
        raise ArchiveRefused(f"{path} 不是账簿备份，或已损坏：文件末尾没有校验和")
    kept = tail[len(_SEAL_PREFIX) :].decode("ascii", "replace")
    actual = _digest(file, size - _SEAL_LENGTH)
    if actual != kept:
        raise ArchiveRefused(
            f"备份文件 {path} 已损坏：校验和不符（文件记载 {kept}，实际 {actual}）；"
            "没有写入任何内容"
        )
    try:
        with ZipFile(file) as archive:
            manifest = _manifest(json.loads(archive.read(MANIFEST)))
    except (BadZipFile, KeyError, ValueError, TypeError) as error:
        raise ArchiveRefused(f"备份文件 {path} 的清单无法读取：{error}") from None
    return actual, manifest


def _manifest(body: dict[str, Any]) -> Manifest:
    if body.get("format") != FORMAT:
        raise ValueError("不是账簿备份")
    if body.get("version") != VERSION:
        raise ValueError(f"备份格式第 {body.get('version')} 版，本程序只读第 {VERSION} 版")
    return Manifest(
        revision=str(body["revision"]),
        source=str(body["source"]),
        taken_at=str(body["taken_at"]),
        anchor=body["anchor"],
        tables=tuple(
            TablePart(t["name"], tuple((str(n), str(k)) for n, k in t["columns"]), int(t["rows"]))
            for t in body["tables"]
        ),
    )


def restore(engine: Engine, path: Path) -> Restored:
    """Load the archive at ``path`` into the empty database at ``engine`` (see the
    module); :class:`ArchiveRefused` when it cannot, having written nothing."""
    try:
        with path.open("rb") as file:  # one handle: the bytes checked are the bytes loaded
            checksum, manifest = _checked(file, path)
            _check_revision(manifest.revision)
            _restore(engine, file, path, manifest)
    except OSError as error:
        raise ArchiveRefused(f"无法读取备份文件 {path}：{error.strerror}") from None
    return Restored(manifest, checksum, engine.dialect.name)


def _restore(engine: Engine, file: IO[bytes], path: Path, manifest: Manifest) -> None:
    try:
        with ZipFile(file) as archive, migrating(engine) as migrate:
            connection = migrate.connection
            _check_empty(connection)  # inside the transaction that writes
            migrate.to(manifest.revision)
            tables = {t.name: t for t in _ledger_tables(connection)}
            _check_tables(manifest, tables)
            for name in reversed(list(tables)):
                if name in SEEDED:
                    connection.execute(tables[name].delete())
            with _own_rules_off(connection, tables):
                for part in manifest.tables:
                    _load(connection, archive, part, tables[part.name])
            _reset_sequences(connection, tables.values())
            migrate.to(head_revision() or manifest.revision)
            _check_anchor(connection, manifest)
    except ArchiveRefused:
        raise
    except (BadZipFile, ValueError, KeyError, TypeError) as error:
        raise ArchiveRefused(f"备份文件 {path} 无法读入：{error}；没有写入任何内容") from None
    except SQLAlchemyError as error:
        raise ArchiveRefused(
            f"备份无法写入目标数据库：{getattr(error, 'orig', None) or error}；没有写入任何内容"
        ) from None
    except CommandError as error:
        raise ArchiveRefused(f"目标数据库的库结构无法迁移：{error}；没有写入任何内容") from None


@contextmanager
def _own_rules_off(connection: Connection, tables: dict[str, Table]) -> Iterator[None]:
    """The ledger's own triggers (append-only rows, no voucher dated after it was
    recorded, none in a closed period) off while the rows are loaded, on again after,
    in the same transaction: each row met them when it was first written, and rows older
    than a rule, which its migration kept, would otherwise be refused (``verify``
    reports those). Keys, foreign keys and checks still hold."""
    if connection.dialect.name == "postgresql":
        for name in tables:
            connection.exec_driver_sql(f'ALTER TABLE "{name}" DISABLE TRIGGER USER')
        yield
        for name in tables:
            connection.exec_driver_sql(f'ALTER TABLE "{name}" ENABLE TRIGGER USER')
        return
    triggers = connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL")
    ).all()
    for name, _ in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _, sql in triggers:
        connection.exec_driver_sql(sql)


def _check_revision(revision: str) -> None:
    if not known_revision(revision):
        raise ArchiveRefused(
            f"备份的库结构版本 {revision} 本程序不认识（备份来自更新版本的 studio-ledger？"
            f"本程序最新为 {head_revision()}）：请用同一或更新版本的 studio-ledger 恢复"
        ) from None


def _check_empty(connection: Connection) -> None:
    """Refuse a target holding anything but what ``db upgrade`` writes into a new one."""
    names = set(inspect(connection).get_table_names()) - FOREIGN_TABLES
    if not names:
        return
    if revision_on(connection) is None:
        raise ArchiveRefused(
            f"目标数据库不是空的：已有表 {'、'.join(sorted(names)[:5])}，却不是账簿的库；"
            "恢复只写入空库，没有写入任何内容"
        )
    for table in _ledger_tables(connection):
        beyond = SEEDED.get(table.name)
        if beyond is None:
            held = connection.execute(select(func.count()).select_from(table)).scalar_one()
        else:
            held = connection.execute(text(beyond)).scalar_one()
        if held > 0:
            raise ArchiveRefused(
                f"目标数据库不是空的：表 {table.name} 已有 {held} 行数据；恢复只写入空库"
                "（新建的库，或只运行过 db upgrade 的库），没有写入任何内容"
            )


def _check_tables(manifest: Manifest, tables: dict[str, Table]) -> None:
    carried = {t.name for t in manifest.tables}
    if carried != set(tables):
        raise ArchiveRefused(
            f"备份的表与库结构 {manifest.revision} 的表不一致："
            f"多出 {sorted(carried - set(tables))}，缺少 {sorted(set(tables) - carried)}"
        )
    for part in manifest.tables:
        names = [c.name for c in tables[part.name].columns]
        if sorted(names) != sorted(n for n, _ in part.columns):
            raise ArchiveRefused(f"备份中表 {part.name} 的列与库结构 {manifest.revision} 不一致")


def _load(connection: Connection, archive: ZipFile, part: TablePart, table: Table) -> None:
    names = [n for n, _ in part.columns]
    kinds = [k for _, k in part.columns]
    statement = insert(table)
    count = 0
    with archive.open(part.member) as member:
        chunk: list[dict[str, Any]] = []
        for line in member:
            values = json.loads(line)
            chunk.append({n: decoded(k, v) for n, k, v in zip(names, kinds, values, strict=True)})
            if len(chunk) == CHUNK:
                connection.execute(statement, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            connection.execute(statement, chunk)
            count += len(chunk)
    if count != part.rows:
        raise ValueError(f"表 {part.name} 应有 {part.rows} 行，读到 {count} 行")


def _reset_sequences(connection: Connection, tables: Any) -> None:
    """On PostgreSQL, move each serial key's sequence past the rows loaded with their own
    keys, so the next row written gets a new one."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence is None:
                continue
            after = select(func.coalesce(func.max(column), 0) + 1).scalar_subquery()
            connection.execute(select(func.setval(sequence, after, false())))


def _chain_end(connection: Connection) -> str | None:
    """The chain head as an anchor, ``SEQ:HASH`` (:class:`ledger.books.book.Anchor`); None
    while the chain is empty."""
    head = connection.execute(text("SELECT last_seq, last_hash FROM chain_head")).one()
    return str(Anchor(head.last_seq, head.last_hash)) if head.last_seq else None


def _check_anchor(connection: Connection, manifest: Manifest) -> None:
    ends = _chain_end(connection)
    if ends != manifest.anchor:
        raise ArchiveRefused(
            f"恢复后的账链末端 {ends} 与备份记载的 {manifest.anchor} 不符；没有写入任何内容"
        )
