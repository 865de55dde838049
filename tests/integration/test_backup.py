"""Backup, restore and moving between databases (issue 34): the demo's whole cycle goes
from SQLite to PostgreSQL and back through archives, row for row, and the chain checks
with the source's anchor on each; a damaged archive and a non-empty target are refused
with nothing written; a backup taken while another writer commits holds one moment."""

from __future__ import annotations

import json
import os
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zipfile import ZipFile

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, insert, inspect, select, text

import schema.backup as archives
from api.cli import main
from demo import story as demo
from jobs import runner
from ledger import users
from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from schema.backup import ArchiveRefused, backup, checked, restore
from schema.db import UnitOfWork, connect
from schema.migrate import current_revision, head_revision, prepare, upgrade
from schema.tables import AuditRow
from tests.conftest import FULL_CYCLE, PG_URL_VARIABLE, today_is

FUND = "studio:HJ-S01:fund:finance"


def _funding(key: str, day: date, fen: int) -> NewTransaction:
    return NewTransaction(key, day, "拨款", (Posting("source:finance", FUND, fen),))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's whole first cycle, played to 1 February 2027, in SQLite."""
    folder = tmp_path_factory.mktemp("backup-demo")
    with today_is(FULL_CYCLE):
        return demo.run(folder / "demo").database


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """Hands out a brand-new, empty database of the kind asked for (no tables at all)."""
    made: list[tuple[Engine, str | None]] = []
    server = os.environ.get(PG_URL_VARIABLE)
    admin = connect(server, isolation_level="AUTOCOMMIT") if server else None

    def new(kind: str) -> Engine:
        if kind == "sqlite":
            engine = connect(f"sqlite:///{tmp_path / f'target-{len(made)}.db'}")
            made.append((engine, None))
            return engine
        if admin is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must test PostgreSQL but {PG_URL_VARIABLE} is not set")
            pytest.skip(f"no PostgreSQL configured: set {PG_URL_VARIABLE}")
        name = f"studio_ledger_restore_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = connect(admin.url.set(database=name).render_as_string(hide_password=False))
        made.append((engine, name))
        return engine

    yield new
    for engine, name in made:
        engine.dispose()
        if admin is not None and name is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    if admin is not None:
        admin.dispose()


def _demo_backup(demo_db: Path, folder: Path) -> archives.BackupMade:
    """The demo's ledger backed up to ``folder / "ledger.zip"``."""
    source = connect(f"sqlite:///{demo_db}")
    try:
        return backup(source, folder / "ledger.zip")
    finally:
        source.dispose()


def _contents(engine: Engine) -> dict[str, list[list[Any]]]:
    """Every row of every table an archive carries, as the archive writes values (so two
    kinds of database compare)."""
    with engine.connect() as connection:
        found = {}
        for table in archives._ledger_tables(connection):
            kinds = [archives.kind_of(c.type) for c in table.columns]
            statement = select(table).order_by(*table.primary_key.columns)
            found[table.name] = [
                [archives.encoded(k, v) for k, v in zip(kinds, row, strict=True)]
                for row in connection.execute(statement)
            ]
        return found


def _verify(engine: Engine, anchor: str | None) -> book.VerifyReport:
    with UnitOfWork(engine, write=False) as uow:
        anchors = [] if anchor is None else [book.parse_anchor(anchor)]
        return book.verify(uow.ledger, anchors)


def test_the_demo_moves_sqlite_to_postgresql_and_back_row_for_row(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    source = connect(f"sqlite:///{demo_db}")
    before = _contents(source)
    first = backup(source, tmp_path / "from-sqlite.zip")
    assert first.manifest.source == "sqlite"
    assert first.manifest.revision == head_revision()
    assert first.manifest.anchor == str(_verify(source, None).anchor)
    assert {t.name: t.rows for t in first.manifest.tables} == {
        name: len(rows) for name, rows in before.items()
    }
    assert "console_sessions" not in before
    assert "alembic_version" not in before
    assert len(before["transactions"]) == 196
    assert len(before["attachment_contents"]) > 0
    assert os.stat(first.path).st_mode & 0o777 == 0o600  # personal data inside

    postgres = new_database("postgresql")
    restored = restore(postgres, first.path)
    assert restored.sha256 == first.sha256
    assert current_revision(postgres) == head_revision()
    assert _contents(postgres) == before
    report = _verify(postgres, first.manifest.anchor)
    assert report.ok, report.problems()

    second = backup(postgres, tmp_path / "from-postgresql.zip")
    assert second.manifest.source == "postgresql"
    assert second.manifest.anchor == first.manifest.anchor
    back = new_database("sqlite")
    restore(back, second.path)
    assert _contents(back) == before
    report = _verify(back, second.manifest.anchor)
    assert report.ok, report.problems()
    source.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_restored_ledger_goes_on_posting(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path, kind: str
) -> None:
    """Keys the database hands out (a posting's id, an audit entry's) go on after the
    rows restored, and the chain goes on from the archive's last link."""
    made = _demo_backup(demo_db, tmp_path)
    target = new_database(kind)
    restore(target, made.path)
    with today_is(FULL_CYCLE), UnitOfWork(target) as uow:
        (posted,) = book.post(
            uow.ledger,
            [_funding("after-restore", FULL_CYCLE, 1_00)],
            by="张会计",
        )
        uow.commit()
    assert posted.seq == 197
    with UnitOfWork(target, write=False) as uow:
        assert book.balance(uow.ledger, FUND) == _balance(made, FUND) + 1_00
    report = _verify(target, made.manifest.anchor)
    assert report.ok, report.problems()
    assert report.transactions == 197


def _balance(made: archives.BackupMade, address: str) -> int:
    """An account's balance as the archive holds it."""
    with ZipFile(made.path) as archive:
        part = next(t for t in made.manifest.tables if t.name == "accounts")
        names = [n for n, _ in part.columns]
        for line in archive.open(part.member):
            row = dict(zip(names, json.loads(line), strict=True))
            if row["address"] == address:
                return int(row["balance"])
    raise AssertionError(address)


@pytest.mark.parametrize("where", [0, 1_000, -1, -70])
def test_an_archive_with_one_byte_changed_is_refused_and_nothing_written(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path, where: int
) -> None:
    made = _demo_backup(demo_db, tmp_path)
    damaged = bytearray(made.path.read_bytes())
    damaged[where] ^= 0x20
    made.path.write_bytes(bytes(damaged))
    target = new_database("sqlite")
    with pytest.raises(ArchiveRefused, match="已损坏") as refused:
        restore(target, made.path)
    assert str(made.path) in str(refused.value)
    assert inspect(target).get_table_names() == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_target_holding_anything_is_refused_and_left_as_it_was(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path, kind: str
) -> None:
    made = _demo_backup(demo_db, tmp_path)
    target = new_database(kind)
    prepare(target)
    with UnitOfWork(target) as uow:
        book.post(uow.ledger, [_funding("held", date(2024, 1, 2), 5_00)])
        uow.commit()
    held = _contents(target)
    with pytest.raises(ArchiveRefused, match="目标数据库不是空的：表 accounts 已有 2 行数据"):
        restore(target, made.path)
    assert _contents(target) == held

    with_user = new_database(kind)
    prepare(with_user)  # the scheduler's user is seeded; a user someone added is not
    with UnitOfWork(with_user) as uow:
        users.add_user(uow, "张会计", "clerk", by=None)
        uow.commit()
    with pytest.raises(ArchiveRefused, match="表 users 已有 1 行数据"):
        restore(with_user, made.path)

    other = new_database(kind)
    with other.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    with pytest.raises(ArchiveRefused, match="已有表 notes，却不是账簿的库"):
        restore(other, made.path)
    assert inspect(other).get_table_names() == ["notes"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_only_upgraded_is_empty_enough(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path, kind: str
) -> None:
    """An operator who ran ``db upgrade`` on the new database first: the rows it seeds (the
    genesis head, the first policy, the scheduler's user) give way to the archive's."""
    source = connect(f"sqlite:///{demo_db}")
    made = backup(source, tmp_path / "ledger.zip")
    before = _contents(source)
    source.dispose()
    target = new_database(kind)
    prepare(target)
    restore(target, made.path)
    assert _contents(target) == before


def test_an_archive_of_an_older_schema_is_restored_and_upgraded(
    new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    older = new_database("sqlite")
    upgrade(older, "0025")
    made = backup(older, tmp_path / "older.zip")
    assert made.manifest.revision == "0025"
    assert made.manifest.anchor is None
    target = new_database("sqlite")
    prepare(target)  # at the newest schema: taken down to 0025 while empty, then up again
    restore(target, made.path)
    assert current_revision(target) == head_revision()


def test_an_archive_from_a_newer_program_is_refused(
    new_database: Callable[[str], Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = new_database("sqlite")
    upgrade(source)
    monkeypatch.setattr(archives, "_revision_of", lambda _c: "0099")
    made = backup(source, tmp_path / "newer.zip")
    monkeypatch.undo()
    target = new_database("sqlite")
    with pytest.raises(ArchiveRefused, match="库结构版本 0099 本程序不认识"):
        restore(target, made.path)
    assert inspect(target).get_table_names() == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_backup_holds_one_moment_while_another_writer_commits(
    new_database: Callable[[str], Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    """A posting committed between the backup's reads of two tables is in neither: the
    archive's accounts, postings, days and chain head are of one moment."""
    source = new_database(kind)
    upgrade(source)
    with UnitOfWork(source) as uow:
        book.post(uow.ledger, [_funding("first", date(2024, 1, 2), 7_00)])
        uow.commit()
    reads = archives._rows
    wrote: list[str] = []

    def rows_then_write(connection: Any, table: Any) -> Iterator[list[Any]]:
        yield from reads(connection, table)
        if table.name == "accounts" and not wrote:
            with UnitOfWork(source) as uow:
                book.post(uow.ledger, [_funding("meanwhile", date(2024, 1, 3), 9_00)])
                uow.commit()
            wrote.append(table.name)

    monkeypatch.setattr(archives, "_rows", rows_then_write)
    made = backup(source, tmp_path / "moment.zip")
    assert wrote == ["accounts"]
    assert made.manifest.anchor is not None
    assert made.manifest.anchor.startswith("1:")
    target = new_database("sqlite")
    restore(target, made.path)
    report = _verify(target, made.manifest.anchor)
    assert report.ok, report.problems()
    assert report.transactions == 1
    with UnitOfWork(target, write=False) as uow:
        assert book.balance(uow.ledger, FUND) == 7_00


def test_backup_and_restore_from_the_command_line(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_ = CliRunner()
    archive = tmp_path / "ledger.zip"
    made = runner_.invoke(main, ["--db", str(demo_db), "backup", "--out", str(archive)])
    assert made.exit_code == 0, made.stderr
    lines = made.stdout.splitlines()
    assert lines[0].endswith(
        f"取自 sqlite，库结构版本 {head_revision()}：27 张表，" + f"{_rows(archive):,} 行"
    )
    sha = lines[1].removeprefix("sha256 ")
    anchor = lines[2].removeprefix("账链末端 ")
    assert anchor == str(_verify(connect(f"sqlite:///{demo_db}"), None).anchor)
    assert lines[3] == f"备份完成：{archive}（{archive.stat().st_size:,} 字节）"
    assert lines[4] == "账链密钥不在备份中，请另行保管：STUDIO_LEDGER_CHAIN_KEY"

    checked_only = runner_.invoke(main, ["--db", "x.db", "restore", str(archive), "--check"])
    assert checked_only.exit_code == 0
    assert checked_only.stdout.splitlines()[-1] == f"备份文件完好：{archive}"
    assert not Path("x.db").exists()

    target = tmp_path / "restored.db"
    done = runner_.invoke(main, ["--db", str(target), "restore", str(archive)])
    assert done.exit_code == 0, done.stderr
    assert f"sha256 {sha}" in done.stdout
    assert "账链密钥：STUDIO_LEDGER_CHAIN_KEY（与本账相符）" in done.stdout
    assert f"核对：studio-ledger verify --anchor {anchor}" in done.stdout
    verified = runner_.invoke(main, ["--db", str(target), "verify", "--anchor", anchor])
    assert verified.exit_code == 0
    assert verified.stdout.startswith("ok: 196 transactions")

    again = runner_.invoke(main, ["--db", str(target), "restore", str(archive)])
    assert again.exit_code == 2
    assert "拒绝：目标数据库不是空的" in again.stderr

    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    archive.write_bytes(bytes(damaged))
    fresh = tmp_path / "never.db"
    refused = runner_.invoke(main, ["--db", str(fresh), "restore", str(archive)])
    assert refused.exit_code == 2
    assert f"拒绝：备份文件 {archive} 已损坏：校验和不符" in refused.stderr
    assert not fresh.exists()
    assert not list(tmp_path.glob("never.db*"))

    def logged(database: Path) -> list[tuple[str, str, str]]:
        with UnitOfWork(connect(f"sqlite:///{database}"), write=False) as uow:
            return [(e.actor, e.action, e.object) for e in uow.audit.entries(0, 10_000)]

    # the backup's own entry is written after its snapshot: in the source, not the archive
    assert logged(demo_db)[-1] == ("(installation)", "ledger.backup", "backup:ledger.zip")
    assert logged(target)[-1] == ("(installation)", "ledger.restore", "backup:ledger.zip")
    assert ("(installation)", "ledger.backup", "backup:ledger.zip") not in logged(target)


def _rows(archive: Path) -> int:
    return checked(archive)[1].rows


def test_the_nightly_backup_keeps_the_newest_copies_of_each_ledger(
    new_database: Callable[[str], Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ledgers backed up into one folder keep their own copies: each named by its
    ledger, each pruned among its own, other files left alone."""
    first, second = new_database("sqlite"), new_database("sqlite")  # target-0, target-1
    for engine in (first, second):
        upgrade(engine)
    folder = tmp_path / "nightly"
    monkeypatch.setenv(archives.FOLDER_VARIABLE, str(folder))
    monkeypatch.setenv(archives.KEEP_VARIABLE, "2")
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    outcomes = [runner.run(first, "backup", f"2026-12-0{d}") for d in (1, 2, 3)]
    others = [runner.run(second, "backup", f"2026-12-0{d}") for d in (2, 3)]
    assert [o.status for o in outcomes + others] == ["succeeded"] * 5
    assert outcomes[2].counts["removed"] == ["target-0-2026-12-01.zip"]
    assert others[1].counts["removed"] == []
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt",
        "target-0-2026-12-02.zip",
        "target-0-2026-12-03.zip",
        "target-1-2026-12-02.zip",
        "target-1-2026-12-03.zip",
    ]
    last = folder / "target-0-2026-12-03.zip"
    assert outcomes[2].counts["sha256"] == checked(last)[0]
    assert outcomes[2].counts["file"] == str(last)
    with first.connect() as connection:
        runs = select(func.count()).select_from(text("job_runs")).where(text("job = 'backup'"))
        assert connection.execute(runs).scalar_one() == 3

    monkeypatch.setenv(archives.KEEP_VARIABLE, "none")  # refused before anything is written
    refused = runner.run(first, "backup", "2026-12-04")
    assert refused.status == "failed"
    assert "STUDIO_LEDGER_BACKUP_KEEP 应为正整数" in refused.message
    assert not (folder / "target-0-2026-12-04.zip").exists()


def test_a_backup_is_never_written_over_the_ledger_itself(
    new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    source = new_database("sqlite")
    upgrade(source)
    database = Path(source.url.database or "")
    for out in (database, database.with_name(database.name + "-wal")):
        with pytest.raises(ArchiveRefused, match="是账簿本身的文件"):
            backup(source, out)
    assert current_revision(source) == head_revision()
    assert not list(tmp_path.glob("*.partial"))
    assert not list(tmp_path.glob(".*.partial"))


def _resealed(made: archives.BackupMade, to: Path, **manifest: object) -> Path:
    """The archive ``made`` with its manifest changed and sealed again, as a forger or a
    bug would: the checksum holds, the content does not."""
    with ZipFile(made.path) as source, ZipFile(to, "w") as copy:
        for member in source.infolist():
            body = source.read(member)
            if member.filename == archives.MANIFEST:
                body = json.dumps({**json.loads(body), **manifest}).encode()
            copy.writestr(member, body)
        copy.comment = archives._SEAL_PREFIX + b"0" * archives._SEAL_LENGTH
    with to.open("r+b") as file:
        archives._seal(file)
    return to


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_refusal_after_the_schema_is_made_leaves_the_target_as_it_was(
    demo_db: Path, new_database: Callable[[str], Engine], tmp_path: Path, kind: str
) -> None:
    made = _demo_backup(demo_db, tmp_path)
    wrong = _resealed(made, tmp_path / "wrong.zip", anchor="1:" + "0" * 64)
    target = new_database(kind)
    with pytest.raises(ArchiveRefused, match=r"恢复后的账链末端 196:.* 与备份记载的 1:0+ 不符"):
        restore(target, wrong)
    assert inspect(target).get_table_names() == []

    fresh = tmp_path / "never.db"
    refused = CliRunner().invoke(main, ["--db", str(fresh), "restore", str(wrong)])
    assert refused.exit_code == 2
    assert "恢复后的账链末端" in refused.stderr
    assert not list(tmp_path.glob("never.db*"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_rows_older_than_a_rule_are_restored_as_they_are(
    new_database: Callable[[str], Engine], tmp_path: Path, kind: str
) -> None:
    """A day a guarded fund closed below zero, kept from before the rule (migration 0017
    keeps such rows; ``verify`` reports them): the restore copies it, and the rule holds
    again afterwards."""
    source = new_database("sqlite")
    upgrade(source)
    with UnitOfWork(source) as uow:
        book.post(uow.ledger, [_funding("first", date(2024, 1, 2), 7_00)])
        uow.commit()
    with source.begin() as connection:
        connection.execute(text("DROP TRIGGER daily_balances_guard_update"))
        connection.execute(
            text(
                "UPDATE daily_balances SET closing = -5 WHERE account_id = "
                "(SELECT id FROM accounts WHERE address = :fund)"
            ),
            {"fund": FUND},
        )
    made = backup(source, tmp_path / "legacy.zip")
    target = new_database(kind)
    restore(target, made.path)
    assert _contents(target)["daily_balances"] == _contents(source)["daily_balances"]
    problems = [str(p) for p in _verify(target, made.manifest.anchor).problems()]
    assert any(p.startswith("NEG:") for p in problems), problems
    with pytest.raises(Exception, match=r"余额不足|below zero"), target.begin() as connection:
        connection.execute(text("UPDATE daily_balances SET closing = -6 WHERE closing = -5"))


def _peak(work: Callable[[], object]) -> int:
    """The most memory Python held at once while ``work`` ran, in bytes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_backup_and_restore_hold_a_chunk_not_the_ledger(
    new_database: Callable[[str], Engine], tmp_path: Path
) -> None:
    """Four times the rows, not four times the memory: both stream a chunk at a time."""
    peaks: dict[int, tuple[int, int]] = {}
    for rows in (6_000, 24_000):
        source = new_database("sqlite")
        upgrade(source)
        with source.begin() as connection:
            for start in range(0, rows, 3_000):
                connection.execute(
                    insert(AuditRow),
                    [
                        {
                            "at": datetime(2025, 1, 1) + timedelta(seconds=i),
                            "actor": "张会计",
                            "action": "receipt.record",
                            "object": f"voucher:{i}",
                            "request_id": f"r{i:08d}",
                            "detail": {"memo": "单位配套资金" * 8, "amount_fen": i},
                        }
                        for i in range(start, start + 3_000)
                    ],
                )
        archive = tmp_path / f"{rows}.zip"
        written = _peak(lambda: backup(source, archive))  # noqa: B023 (called at once)
        target = new_database("sqlite")
        read = _peak(lambda: restore(target, archive))  # noqa: B023 (called at once)
        assert checked(archive)[1].rows >= rows
        peaks[rows] = (written, read)
    (small_written, small_read), (large_written, large_read) = peaks[6_000], peaks[24_000]
    assert large_written <= 1.5 * small_written, peaks
    assert large_read <= 1.5 * small_read, peaks
