"""Memory bounded by a chunk, not by the year (issue 34): what a step holds at its peak,
read by tracemalloc at N and at 4N — a ceiling, not a timing. A step that held every
posting or row would hold four times as much at 4N; one bounded by its chunk holds about
the same."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine

from ledger import users
from ledger.batches import disbursement
from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from ledger.registry import roster_services
from ledger.registry.policy import NOTICE_2024, STUDIO_KINDS
from ledger.registry.roster import ROLE_LABELS, STATUS_LABELS
from ledger.workbooks import imports
from schema.db import UnitOfWork
from tests.integration.test_national_scale import (
    CLERK,
    ON,
    YEAR,
    national_roster,
    national_year,
)

FUND = "studio:HJ01:fund:finance"
PAYABLES = [f"studio:HJ01:payable:P{n:06d}" for n in range(10)]
CHUNK = 1_000


def _peak(step: Callable[[], object]) -> int:
    """The most ``step`` held at once beyond what was held before it, in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        step()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def _post_voucher(engine: Engine, postings: int, key: str) -> None:
    def chunks() -> Iterator[list[Posting]]:
        for start in range(0, postings, CHUNK):
            yield [
                Posting(FUND, PAYABLES[n % 10], 1, f"第{n}行转应付")
                for n in range(start, min(start + CHUNK, postings))
            ]

    with UnitOfWork(engine) as uow:
        header = NewTransaction(key, date(2024, 3, 1), "审批转应付", ())
        book.post_in_chunks(uow.ledger, header, chunks)
        uow.commit()


def test_a_voucher_posted_in_chunks_holds_a_chunk_not_the_voucher(engine: Engine) -> None:
    """4,000 and then 16,000 postings over the same eleven accounts: the voucher four times
    the size is sealed, checked and written within 1.5× the memory of the smaller one."""
    grant = NewTransaction(
        "grant", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 20_500),)
    )
    with UnitOfWork(engine) as uow:
        book.post(uow.ledger, [grant])
        uow.commit()
    _post_voucher(engine, 500, "warm-up")  # statements compiled and cached once
    small = _peak(lambda: _post_voucher(engine, 4_000, "small"))
    large = _peak(lambda: _post_voucher(engine, 16_000, "large"))
    assert large < 1.5 * small, f"{small:,} B at 4,000 postings, {large:,} B at 16,000"
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, FUND) == 0


def _year_at_its_approval(engine: Engine, studios: int) -> int:
    """A national year of ``studios`` studios (nine payees each) with its batch drafted
    and approved once: the batch's id."""
    national_year(engine, studios)
    with UnitOfWork(engine) as uow:
        batch = disbursement.create(uow, YEAR, CLERK, ON).batch
        disbursement.approve(uow, batch.id, "boss1", ON)
        uow.commit()
    return batch.id


def _approve_and_pay(engine: Engine, batch_id: int) -> tuple[int, int]:
    """The peaks of the last approval and of the bank's answer (two lines returned)."""
    peaks = []
    for step in (
        lambda uow: disbursement.approve(uow, batch_id, "boss2", ON),
        lambda uow: disbursement.confirm(
            uow, batch_id, "cashier1", ON, {2: "户名不符", 5: "账户冻结"}
        ),
    ):

        def run(step: Callable[[UnitOfWork], object] = step) -> None:
            with UnitOfWork(engine) as uow:
                step(uow)
                uow.commit()

        peaks.append(_peak(run))
    return peaks[0], peaks[1]


def test_approval_and_the_banks_answer_hold_a_chunk_not_the_batch(
    fresh_engine: Callable[[], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 and 240 studios (540 and 2,160 lines) worked 100 lines and 200 accounts at a
    time: the last approval and the bank's answer (two lines returned, every payee's month
    re-settled) for four times the batch within 1.5× the memory. Held whole — the batch,
    its voucher's postings, the accounts, the payees — they took 1.9-2.5× (measured when
    this test was written; about 1.2× now)."""
    monkeypatch.setattr(disbursement, "LINES_AT_A_TIME", 100)
    monkeypatch.setattr(book, "ACCOUNTS_AT_A_TIME", 200)
    engine = fresh_engine()
    _approve_and_pay(engine, _year_at_its_approval(engine, 10))  # statements compiled, cached
    engine = fresh_engine()
    small = _approve_and_pay(engine, _year_at_its_approval(engine, 60))
    engine = fresh_engine()
    large = _approve_and_pay(engine, _year_at_its_approval(engine, 240))
    for what, n, four_n in zip(("approval", "answer"), small, large, strict=True):
        assert four_n < 1.5 * n, f"{what}: {n:,} B at 60 studios, {four_n:,} B at 240"


def _roster_file(path: Path, count: int) -> Path:
    """The roster of ``count`` studios (a host and eight members each) as a clerk fills
    the import's template."""
    studios, people, places = national_roster(count)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(imports.STUDIO_SHEET.title)
    sheet.append([c.header for c in imports.STUDIO_SHEET.columns])
    for s in studios:
        kind, status = STUDIO_KINDS[s.kind], STATUS_LABELS["active"]
        sheet.append([s.code, s.name, kind, s.host_unit, s.cycle_start_year, status])
    sheet = book.create_sheet(imports.MEMBER_SHEET.title)
    sheet.append([c.header for c in imports.MEMBER_SHEET.columns])
    for person, place in zip(people, places, strict=True):
        role = ROLE_LABELS[place.role]
        sheet.append(
            [place.studio, person.name, person.id_number, role, person.unit, place.joined_on]
        )
    book.save(path)
    return path


def _import_roster(engine: Engine, path: Path, count: int) -> None:
    with UnitOfWork(engine) as uow:
        national = replace(
            NOTICE_2024,
            version=f"national-{YEAR}",
            year=YEAR,
            quotas={"principal": 0, "homeroom": 0, "subject": count},
        )
        users.add_user(uow, "admin", "admin", by=None)
        roster_services.add_policy(uow, national, "admin")
        uow.commit()
    with UnitOfWork(engine) as uow:
        report = imports.import_file(uow, "roster", path, by=CLERK)
        uow.commit()
    assert (report.rows, report.warnings) == (count * 10, [])


def test_a_roster_import_holds_a_chunk_not_the_file(
    fresh_engine: Callable[[], Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 and 240 studios (600 and 2,400 rows) read, checked and written 100 rows and 20
    studios' rosters at a time: four times the file within 1.5× the memory. Held whole
    — the file's rows, the records made of them, the registry read back for the
    composition — the import took about 3× (measured when this test was written)."""
    monkeypatch.setattr(imports, "ROWS_AT_A_TIME", 100)
    monkeypatch.setattr(roster_services, "STUDIOS_AT_A_TIME", 20)
    peaks = []
    for count in (10, 60, 240):  # the first compiles and caches the statements
        path = _roster_file(tmp_path / f"roster-{count}.xlsx", count)
        engine = fresh_engine()
        peaks.append(
            _peak(lambda engine=engine, path=path, n=count: _import_roster(engine, path, n))
        )
    small, large = peaks[1:]
    assert large < 1.5 * small, f"{small:,} B at 60 studios, {large:,} B at 240"


def test_a_draft_batch_is_planned_a_chunk_of_studios_at_a_time(
    fresh_engine: Callable[[], Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 and 240 studios (540 and 2,160 lines) planned 20 studios and taxed 100 lines at
    a time: four times the batch within 1.5× the memory. Planned whole — every studio's
    entitlements, every line, every payee's month — it took about 3.4× (measured when this
    test was written)."""
    monkeypatch.setattr(roster_services, "STUDIOS_AT_A_TIME", 20)
    monkeypatch.setattr(disbursement, "LINES_AT_A_TIME", 100)
    peaks = []
    for count in (10, 60, 240):  # the first compiles and caches the statements
        engine = fresh_engine()
        national_year(engine, count)

        def create(engine: Engine = engine) -> None:
            with UnitOfWork(engine) as uow:
                disbursement.create(uow, YEAR, CLERK, ON)
                uow.commit()

        peaks.append(_peak(create))
    small, large = peaks[1:]
    assert large < 1.5 * small, f"{small:,} B at 60 studios, {large:,} B at 240"
