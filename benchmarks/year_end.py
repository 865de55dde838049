"""Benchmark: the national year-end run (issue 17), phase by phase, against its floors.

    python benchmarks/year_end.py --studios 1000 [--pg URL] [--folder DIR]

Builds a roster of N studios × 9 payees (a host and 8 paid members) as the Excel
import reads it, then times each phase through the product's own services, one
unit of work and one commit each — import (roster workbook), grades (grades
workbook), appropriation, entitlements, draft batch, approval posting (two
approvers), confirmation — and, beside each, two floors on the same kind of
database: SQLAlchemy Core ``executemany`` of the very rows the phase wrote (read
back from the ledger database afterwards; for the read-only entitlements phase,
a Core read of the rows it reads), and the raw driver (sqlite3 ``executemany``,
PostgreSQL ``COPY``). Writing the workbooks is set-up and is not timed. The two
imports also show a read+core floor: a bare openpyxl read-only pass over the same
workbook plus the Core floor, since no import can write before it has read.

Each phase's peak resident memory (VmHWM, reset before the phase) is printed
with it. Floors replay into their own fresh databases, set up alike (policy,
users), so every foreign key holds as it does for the ledger; the batch lines a
phase updates (approval, confirmation) are replayed as an ``executemany``
UPDATE. Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from scratch import scratch_urls
from sqlalchemy import Engine, Table, select, text, update

from ledger import users
from ledger.batches import disbursement
from ledger.books.chain_keys import first_ring
from ledger.funds import fund_services
from ledger.registry import roster_services
from ledger.registry.policy import NOTICE_2024, STUDIO_KINDS
from ledger.registry.roster import ROLE_LABELS, STATUS_LABELS, id_check_digit
from ledger.workbooks import imports
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.migrate import upgrade
from schema.tables import Base

YEAR = 2025
ON = date(YEAR, 12, 31)
CLERK, FIRST, SECOND, CASHIER = "基准经办", "基准审核甲", "基准审核乙", "基准出纳"
UNITS = 40  # host units the studios are spread over

# A fresh chain key for this run, written nowhere.
os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())


def _id_number(n: int, region: str = "150627") -> str:
    birth = date(1960, 1, 1) + timedelta(days=n // 1000)
    first17 = f"{region}{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def write_workbooks(folder: Path, studios: int) -> tuple[Path, Path]:
    """The roster and grades workbooks for ``studios`` studios, as a person fills them."""
    roster, grades = folder / "roster.xlsx", folder / "grades.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet(imports.STUDIO_SHEET.title)
    sheet.append([c.header for c in imports.STUDIO_SHEET.columns])
    kind = STUDIO_KINDS["subject"]
    for s in range(studios):
        unit = f"第{s % UNITS + 1}中学"
        sheet.append(
            [_code(s), f"教师{s * 9}名师工作室", kind, unit, YEAR, STATUS_LABELS["active"]]
        )
    sheet = book.create_sheet(imports.MEMBER_SHEET.title)
    sheet.append([c.header for c in imports.MEMBER_SHEET.columns])
    host, member = ROLE_LABELS["host"], ROLE_LABELS["member"]
    for s in range(studios):
        for k in range(9):
            n = s * 9 + k
            unit = f"第{(s + (k if k else 0)) % UNITS + 1}中学"  # members from 8 other schools
            sheet.append(
                [
                    _code(s),
                    f"教师{n}",
                    _id_number(n),
                    host if k == 0 else member,
                    unit,
                    f"{YEAR}-01-01",
                    None,
                    "中国农业银行",
                    f"62284800{n:011d}",
                    None,
                ]
            )
    book.save(roster)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(imports.GRADE_SHEET.title)
    sheet.append([c.header for c in imports.GRADE_SHEET.columns])
    for s in range(studios):
        sheet.append([YEAR, _code(s), None, "优秀" if s % 2 else "合格"])
    book.save(grades)
    return roster, grades


def _code(s: int) -> str:
    return f"GJ-{s + 1:06d}"


def set_up(engine: Engine, studios: int) -> None:
    """A policy for the year with a national quota, a clerk and two approvers."""
    national = replace(
        NOTICE_2024,
        version=f"national-{YEAR}",
        year=YEAR,
        quotas={"principal": 0, "homeroom": 0, "subject": studios},
    )
    with UnitOfWork(engine) as uow:
        users.add_user(uow, "基准管理员", "admin", by=None)
        roster_services.add_policy(uow, national, "基准管理员")
        users.add_user(uow, CLERK, "clerk", by=None)
        for n, name in enumerate((FIRST, SECOND)):
            users.add_user(uow, name, "approver", by=None, id_number=_id_number(n, "110101"))
        users.add_user(uow, CASHIER, "cashier", by=None, id_number=_id_number(2, "110101"))
        uow.commit()


@dataclass
class Phase:
    name: str
    seconds: float
    peak_mib: float
    rows: int
    core: float = 0.0
    raw: float = 0.0
    read: float = 0.0  # an import's bare openpyxl read of its workbook, for the read+core floor


def _reset_peak() -> None:
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _counts(engine: Engine) -> dict[str, tuple[int, Any]]:
    """Each table's row count and greatest first primary-key value."""
    found = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            key = next(iter(table.primary_key.columns))
            count, top = connection.execute(
                select(text("count(*)"), text(f"max({key.name})")).select_from(table)
            ).one()
            found[table.name] = (count, top)
    return found


def _new_rows(
    engine: Engine, before: dict[str, tuple[int, Any]], after: dict[str, tuple[int, Any]]
) -> dict[Table, list[dict]]:
    """The rows each table gained from ``before`` to ``after``, in primary-key order."""
    rows: dict[Table, list[dict]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if after[table.name][0] == before[table.name][0]:
                continue
            key = next(iter(table.primary_key.columns))
            query = select(table).order_by(*table.primary_key.columns)
            if before[table.name][0]:
                query = query.where(key > before[table.name][1])
            query = query.where(key <= after[table.name][1])
            found = [dict(r._mapping) for r in connection.execute(query)]
            if found:  # a composite key's new row under an old first value is left out
                rows[table] = found
    return rows


LINE_UPDATES = {
    "approval": ("approval_seq", "approval_positions"),
    "confirmation": ("status", "payment_seq", "final_tax", "final_net"),
}


def _as_written(rows: dict[Table, list[dict]]) -> dict[Table, list[dict]]:
    """New batch lines as the draft batch wrote them, before approval and payment (read
    after the whole year, they carry what those phases set)."""
    for table, found in rows.items():
        if table.name == "batch_lines":
            for row in found:
                row.update(dict.fromkeys(LINE_UPDATES["approval"] + LINE_UPDATES["confirmation"]))
                row["status"] = "pending"
    return rows


def _updated_lines(engine: Engine, phase: str) -> list[dict]:
    columns = LINE_UPDATES.get(phase)
    if not columns:
        return []
    lines = Base.metadata.tables["batch_lines"]
    with engine.connect() as connection:
        return [
            dict(r._mapping)
            for r in connection.execute(select(lines.c.id, *(lines.c[c] for c in columns)))
        ]


def core_floor(engine: Engine, written: dict[Table, list[dict]], updated: list[dict]) -> float:
    start = time.perf_counter()
    with engine.begin() as connection:
        for table, rows in written.items():
            connection.execute(table.insert(), rows)
        if updated:
            lines = Base.metadata.tables["batch_lines"]
            columns = [c for c in updated[0] if c != "id"]
            connection.execute(
                update(lines)
                .where(lines.c.id == text(":line_id"))
                .values({c: text(f":{c}") for c in columns}),
                [{"line_id": r["id"], **{c: _plain(r[c]) for c in columns}} for r in updated],
            )
    return time.perf_counter() - start


def _plain(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def raw_floor(
    source: Engine, target: Engine, written: dict[Table, list[dict]], updated: list[dict]
) -> float:
    """The same rows through the driver alone: sqlite3 executemany, PostgreSQL COPY."""
    raw = {table: _driver_rows(source, table, list(rows)) for table, rows in written.items()}
    driver = target.raw_connection()
    try:
        start = time.perf_counter()
        cursor = driver.cursor()
        if target.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # the engine's connections are in autocommit mode
            for table, (columns, values) in raw.items():
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values
                )
            if updated:
                columns = [c for c in updated[0] if c != "id"]
                sets = ", ".join(f"{c} = ?" for c in columns)
                cursor.executemany(
                    f"UPDATE batch_lines SET {sets} WHERE id = ?",
                    [(*(_plain(r[c]) for c in columns), r["id"]) for r in updated],
                )
        else:
            from psycopg.types.json import Jsonb  # noqa: PLC0415 (PostgreSQL only)

            for table, (columns, values) in raw.items():
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(
                            [Jsonb(v) if isinstance(v, dict | list) else v for v in value]
                        )
            if updated:
                columns = [c for c in updated[0] if c != "id"]
                sets = ", ".join(f"{c} = %s" for c in columns)
                cursor.executemany(
                    f"UPDATE batch_lines SET {sets} WHERE id = %s",
                    [
                        (
                            *(Jsonb(r[c]) if isinstance(r[c], list) else r[c] for c in columns),
                            r["id"],
                        )
                        for r in updated
                    ],
                )
        driver.commit()
        return time.perf_counter() - start
    finally:
        driver.close()


def _driver_rows(engine: Engine, table: Table, rows: list[dict]) -> tuple[list[str], list[tuple]]:
    """``rows`` as the driver stores them (dates as SQLite text, JSON as text there)."""
    columns = list(rows[0])
    if engine.dialect.name != "sqlite":
        return columns, [tuple(r[c] for c in columns) for r in rows]
    with engine.connect() as connection:
        processors = [table.c[c].type.bind_processor(connection.dialect) for c in columns]
    return columns, [
        tuple(p(r[c]) if p else r[c] for p, c in zip(processors, columns, strict=True))
        for r in rows
    ]


def read_floor(engine: Engine) -> tuple[float, int]:
    """What the entitlements phase reads, read by Core alone."""
    start = time.perf_counter()
    rows = 0
    with engine.connect() as connection:
        for name in ("studios", "people", "memberships", "studio_grades", "person_grades"):
            rows += len(connection.execute(select(Base.metadata.tables[name])).all())
    return time.perf_counter() - start, rows


def run(engine: Engine, floors: tuple[Engine, Engine], folder: Path, studios: int) -> list[Phase]:
    roster, grades = write_workbooks(folder, studios)
    for each in (engine, *floors):
        set_up(each, studios)
    batch_id = 0

    def approve(uow: UnitOfWork) -> object:
        disbursement.approve(uow, batch_id, FIRST, ON)
        return disbursement.approve(uow, batch_id, SECOND, ON)

    def create(uow: UnitOfWork) -> object:
        nonlocal batch_id
        created = disbursement.create(uow, YEAR, CLERK, ON)
        batch_id = created.batch.id
        return created

    steps: list[tuple[str, Callable[[UnitOfWork], object], bool]] = [
        ("import", lambda uow: imports.import_file(uow, "roster", roster, by=CLERK), True),
        ("grades", lambda uow: imports.import_file(uow, "grades", grades, by=CLERK), True),
        (
            "appropriation",
            lambda uow: fund_services.appropriate(uow, YEAR, date(YEAR, 1, 2), by=CLERK),
            True,
        ),
        ("entitlements", lambda uow: disbursement.compute_entitlements(uow, YEAR), False),
        ("draft batch", create, True),
        ("approval", approve, True),
        ("confirmation", lambda uow: disbursement.confirm(uow, batch_id, CASHIER, ON), True),
    ]
    workbooks = {"import": roster, "grades": grades}
    phases = []
    bounds = []
    # The product's phases first, each peak its own; the floors afterwards, so that the
    # rows they hold in this process never count towards a phase's peak.
    for name, step, writes in steps:
        before = _counts(engine)
        _reset_peak()
        start = time.perf_counter()
        with UnitOfWork(engine, write=writes) as uow:
            step(uow)
            if writes:
                uow.commit()
        seconds = time.perf_counter() - start
        phases.append(Phase(name, seconds, _peak_mib(), 0))
        bounds.append((before, _counts(engine), writes))
        print(f"{name:<14} {seconds:9.2f} s  peak {phases[-1].peak_mib:7.1f} MiB", flush=True)
    for phase, (before, after, writes) in zip(phases, bounds, strict=True):
        if writes:
            written = _as_written(_new_rows(engine, before, after))
            updated = _updated_lines(engine, phase.name)
            phase.rows = sum(len(r) for r in written.values()) + len(updated)
            phase.core = core_floor(floors[0], written, updated)
            phase.raw = raw_floor(engine, floors[1], written, updated)
            if phase.name in workbooks:
                phase.read = bare_read(workbooks[phase.name])
            del written, updated
        else:
            phase.core, phase.rows = read_floor(engine)
            phase.raw = phase.core
        print(_line(phase), flush=True)
    return phases


def bare_read(path: Path) -> float:
    """Seconds to read every row of a workbook with openpyxl's read-only mode and
    nothing else: what any import of that workbook must spend before it writes."""
    start = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True)
    for sheet in workbook.worksheets:
        for _ in sheet.iter_rows(values_only=True):
            pass
    workbook.close()
    return time.perf_counter() - start


def _line(p: Phase) -> str:
    read = (
        f"  read+core {p.read + p.core:6.2f} s ({p.seconds / (p.read + p.core):5.2f}×)"
        if p.read
        else ""
    )
    return (
        f"{p.name:<14} {p.seconds:9.2f} s  rows {p.rows:>9,}  core {p.core:8.2f} s "
        f"({p.seconds / p.core if p.core else 0:5.2f}×)  raw {p.raw:8.2f} s "
        f"({p.seconds / p.raw if p.raw else 0:5.2f}×)  peak {p.peak_mib:7.1f} MiB{read}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studios", type=int, default=1_000)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create databases on")
    parser.add_argument("--folder", type=Path, help="where the workbooks and SQLite files go")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as folder,
        scratch_urls(args.pg, Path(folder), ["ledger", "core", "raw"]) as urls,
    ):
        ledger, core, raw = (connect(url) for url in urls)
        try:
            for engine in (ledger, core, raw):
                upgrade(engine)
            print(
                f"{args.studios:,} studios × 9 payees on {ledger.dialect.name} "
                f"({ledger.dialect.server_version_info})",
                flush=True,
            )
            total = sum(p.seconds for p in run(ledger, (core, raw), Path(folder), args.studios))
            print(f"whole year: {total:.1f} s")
        finally:
            for engine in (ledger, core, raw):
                engine.dispose()


if __name__ == "__main__":
    main()
