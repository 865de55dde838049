"""Dates the books can trust, on both databases: nothing dated after today, nothing spent
before its money arrived (the as-of guard), nothing written into a closed month, and
``verify`` finding what was written around those rules. Today is set by the ``clock``
fixture: 4 December 2026, the day the issue was found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jobs import runner
from jobs.timetable import ScheduleSettings
from jobs.work import SCHEDULER_USER
from ledger import book, closing, cycle_services, disbursement, imports, program, users
from ledger.errors import (
    ClosedPeriodError,
    FutureDateError,
    InvalidInputError,
    OverdraftError,
)
from ledger.expenses import Expense, Receipt
from ledger.postings import NewTransaction, Posting
from ledger.program import ExpensePlan, Grade
from ledger.registry import MembershipInput, PersonInput, Studio, id_check_digit
from schema.db import UnitOfWork
from schema.tables import TransactionRow
from tests.conftest import Clock
from tests.fakes import approver_id_number

CLERK = SCHEDULER_USER
BOSS, BOSS2, ADMIN = "boss", "boss2", "admin"
TODAY = date(2026, 12, 4)
S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
MATCHING = "studio:HJ-S01:fund:matching"


def person(n: int, unit: str) -> PersonInput:
    first17 = f"15062519860101{n:03d}"
    return PersonInput(first17 + id_check_digit(first17), f"教师{n}", unit, "农行", f"6228{n:011d}")


PEOPLE = [person(1, "第一中学"), *(person(n, f"外校{n}") for n in range(2, 7))]


def run(engine: Engine, action: Callable[[UnitOfWork], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


def transactions(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(TransactionRow)) or 0)


@pytest.fixture
def books(engine: Engine, clock: Clock) -> Engine:
    """HJ-S01 with a host and five members, 2024's budget, 2,000 元 of matching that
    arrived on 1 June 2024 and a 1,500 元 materials plan; today is 4 December 2026."""
    clock.set(TODAY)
    places = [
        MembershipInput("HJ-S01", p.id_number, "host" if i == 0 else "member", date(2024, 1, 1))
        for i, p in enumerate(PEOPLE)
    ]

    def setup(uow: UnitOfWork) -> None:
        program.save_roster(uow, [S1], PEOPLE, places, by=CLERK)
        program.appropriate(uow, 2024, by=CLERK)
        program.receive_matching(
            uow, [Receipt(date(2024, 6, 1), "HJ-S01", 200_000, "2024年配套")], by=CLERK
        )
        program.save_expense_plans(
            uow, [ExpensePlan(2024, "HJ-S01", "materials", 150_000)], by=CLERK
        )
        for n, (name, role) in enumerate(
            ((BOSS, "approver"), (BOSS2, "approver"), (ADMIN, "admin"))
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    return engine


def materials(on: date, amount: int = 50_000, memo: str = "购买教研资料") -> Expense:
    return Expense(on, "HJ-S01", "matching", "materials", amount, memo)


@pytest.mark.parametrize("day", [date(2026, 12, 5), date(2030, 6, 1)])
def test_a_receipt_dated_after_today_is_refused_naming_the_field_and_today(
    books: Engine, day: date
) -> None:
    before = transactions(books)
    with pytest.raises(InvalidInputError) as refused:
        run(
            books,
            lambda uow: program.receive_matching(
                uow, [Receipt(day, "HJ-S01", 100_000, "配套")], by=CLERK
            ),
        )
    [error] = refused.value.errors
    assert isinstance(error, FutureDateError)
    assert error.field == "receipts[0].日期"
    assert error.message.startswith(f"日期不能晚于今天（2026-12-04）：{day.isoformat()}")
    assert transactions(books) == before


def test_an_expense_paid_before_its_matching_arrived_is_refused_naming_account_day_and_shortfall(
    books: Engine,
) -> None:
    """The matching arrived on 1 June; 500 元 of materials dated 1 March would leave the
    fund short from March to May, although today's 2,000 元 covers it."""
    before = transactions(books)
    with pytest.raises(InvalidInputError) as refused:
        run(books, lambda uow: program.spend(uow, [materials(date(2024, 3, 1))], by=CLERK))
    [error] = refused.value.errors
    assert error.field == "expenses[0].日期"
    assert error.message == (
        "余额不足：271103 专项资金—单位配套—HJ-S01 2024-03-01 日终余额将为 -500.00 元，"
        "短缺 500.00 元：支出不能早于资金到账"
    )
    assert transactions(books) == before
    with UnitOfWork(books, write=False) as uow:
        assert uow.ledger.balance(MATCHING, date(2024, 5, 31)) == 0
        assert uow.ledger.balance(MATCHING, None) == 200_000
        assert book.verify(uow.ledger).ok
    run(books, lambda uow: program.spend(uow, [materials(date(2024, 6, 1))], by=CLERK))
    with UnitOfWork(books, write=False) as uow:
        assert uow.ledger.balance(MATCHING, date(2024, 6, 1)) == 150_000


def test_the_ledger_itself_refuses_a_backdated_overdraft_under_its_locks(books: Engine) -> None:
    """The book's guard, below the services: a raw voucher of 1 March from the matching
    fund is refused with the account, its first short day and the shortfall."""
    request = NewTransaction(
        "raw-1",
        date(2024, 3, 1),
        "资料",
        (Posting(MATCHING, "expense:materials:studio:HJ-S01", 1),),
    )
    with pytest.raises(OverdraftError) as refused:
        run(books, lambda uow: book.post(uow.ledger, [request]))
    assert (refused.value.account, refused.value.day, refused.value.shortfall) == (
        MATCHING,
        date(2024, 3, 1),
        1,
    )


def test_a_backdated_row_among_good_ones_refuses_the_whole_file_naming_every_bad_row(
    books: Engine, tmp_path: Path
) -> None:
    """Rows 3 and 5 are paid before the matching arrived; rows 2 and 4 after. Nothing is
    written and both bad rows are named with their date."""
    path = imports.fill_template(
        "expenses",
        tmp_path / "expenses.xlsx",
        {
            "支出": [
                ["2024-06-10", "HJ-S01", "单位配套", "资料费", "300.00", "资料一"],
                ["2024-03-01", "HJ-S01", "单位配套", "资料费", "200.00", "资料二"],
                ["2024-07-10", "HJ-S01", "单位配套", "资料费", "300.00", "资料三"],
                ["2024-05-31", "HJ-S01", "单位配套", "资料费", "100.00", "资料四"],
            ],
            "支出计划": [],
        },
    )
    before = transactions(books)
    with pytest.raises(imports.ImportRefused) as refused:
        run(books, lambda uow: imports.import_file(uow, "expenses", path, by=CLERK))
    assert [str(p) for p in refused.value.problems] == [
        "支出 第3行 日期: 余额不足：271103 专项资金—单位配套—HJ-S01 2024-03-01 日终余额将为 "
        "-200.00 元，短缺 200.00 元：支出不能早于资金到账",
        "支出 第5行 日期: 余额不足：271103 专项资金—单位配套—HJ-S01 2024-05-31 日终余额将为 "
        "-100.00 元，短缺 100.00 元：支出不能早于资金到账",
    ]
    assert transactions(books) == before


def test_no_batch_for_a_year_not_begun_nor_dated_after_today_or_in_a_closed_month(
    books: Engine,
) -> None:
    with pytest.raises(FutureDateError, match="2027年尚未开始（今天是2026-12-04）"):
        run(books, lambda uow: disbursement.create(uow, 2027, CLERK, TODAY))
    with pytest.raises(FutureDateError, match="日期不能晚于今天（2026-12-04）") as later:
        run(books, lambda uow: disbursement.create(uow, 2026, CLERK, date(2026, 12, 20)))
    assert later.value.field == "on"
    run(books, lambda uow: closing.close(uow, "2024-12", BOSS))
    with pytest.raises(ClosedPeriodError, match="2024年12月已结账"):
        run(books, lambda uow: disbursement.create(uow, 2024, CLERK, date(2024, 12, 20)))
    with UnitOfWork(books, write=False) as uow:
        assert uow.batches.batches() == []


def test_a_payment_confirmed_for_tomorrow_is_refused_and_one_before_its_approval_too(
    books: Engine,
) -> None:
    run(
        books,
        lambda uow: program.save_grades(uow, [Grade(2024, "HJ-S01", "", "qualified")], by=CLERK),
    )
    batch = run(books, lambda uow: disbursement.create(uow, 2024, CLERK, TODAY)).batch
    run(books, lambda uow: disbursement.approve(uow, batch.id, BOSS, TODAY))
    run(books, lambda uow: disbursement.approve(uow, batch.id, BOSS2, TODAY))
    with pytest.raises(FutureDateError):
        run(books, lambda uow: disbursement.confirm(uow, batch.id, BOSS, date(2026, 12, 5)))
    # the money became payable today: it cannot have been paid out a month ago
    with pytest.raises(OverdraftError) as early:
        run(books, lambda uow: disbursement.confirm(uow, batch.id, BOSS, date(2026, 11, 4)))
    assert early.value.day == date(2026, 11, 4)
    assert early.value.label.startswith("224101 其他应付款—应付劳务补贴—")
    paid = run(books, lambda uow: disbursement.confirm(uow, batch.id, BOSS, TODAY))
    assert paid.batch.state == "paid"


def test_periods_and_cycles_are_not_closed_before_they_end(books: Engine) -> None:
    with pytest.raises(Exception, match="2026年12月尚未结束"):
        run(books, lambda uow: closing.close(uow, "2026-12", BOSS))
    with pytest.raises(FutureDateError, match="日期不能晚于今天"):
        run(
            books,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
        )
    with pytest.raises(Exception, match="尚未期满"):
        run(books, lambda uow: cycle_services.close_cycle(uow, "HJ-S01", TODAY, by=BOSS))


def test_a_grade_for_a_year_not_begun_and_a_roster_date_after_today_are_refused(
    books: Engine,
) -> None:
    with pytest.raises(InvalidInputError) as grade:
        run(
            books,
            lambda uow: program.save_grades(
                uow, [Grade(2027, "HJ-S01", "", "qualified")], by=CLERK
            ),
        )
    assert [e.field for e in grade.value.errors] == ["grades[0].year"]
    gone = Studio(
        "HJ-S01",
        "语文名师工作室",
        "subject",
        "第一中学",
        2024,
        cancelled_on=date(2026, 12, 31),
        cancellation_cause="transferred_out",
        cancellation_reason="主持人将调离本旗",
    )
    late_joiner = MembershipInput(
        "HJ-S01", person(9, "外校9").id_number, "member", date(2027, 1, 1)
    )
    with pytest.raises(InvalidInputError) as roster:
        run(
            books,
            lambda uow: program.save_roster(
                uow, [gone], [person(9, "外校9")], [late_joiner], by=CLERK
            ),
        )
    assert [e.field for e in roster.value.errors] == [
        "studios[0].cancelled_on",
        "memberships[0].joined_on",
    ]


def test_a_job_does_not_run_before_it_falls_due(books: Engine) -> None:
    """On 4 December the year-end payout of 2026 (due 31 December, 18:00) and the
    appropriation of 2027 (due 2 January 2027) are refused; 2024's run."""
    settings = ScheduleSettings()
    for job, period, due in (
        ("year-end-payout", "2026", "2026-12-31 18:00"),
        ("appropriation", "2027", "2027-01-02 09:00"),
        ("cycle-close", "2026", "2027-01-20 09:00"),
        ("integrity-check", "2026-12-05", "2026-12-05 00:00"),
    ):
        with pytest.raises(FutureDateError, match=f"于 {due}（北京时间）到期"):
            runner.run_now(books, job, period, ADMIN, "test", settings)
    assert runner.run_now(
        books, "integrity-check", "2026-12-04", ADMIN, "test", settings
    ).status == ("succeeded")


def test_verify_finds_a_negative_day_and_a_voucher_dated_after_it_was_recorded(
    books: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written around the rules (as a database edited behind the ledger's back, or one
    from before them, would hold them): the chain and the kept days are consistent, yet
    ``verify`` names the fund's first short day and the voucher dated in the future."""
    monkeypatch.setattr(book, "_guard", lambda state, days: None)
    monkeypatch.setattr(book, "future_date_error", lambda day, field, today: None)
    early = NewTransaction(
        "early",
        date(2024, 3, 1),
        "资料",
        (Posting(MATCHING, "expense:materials:studio:HJ-S01", 50_000),),
    )
    future = NewTransaction(
        "future", date(2026, 12, 10), "配套", (Posting("source:unit:第一中学", MATCHING, 100),)
    )
    recorded = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    run(books, lambda uow: book.post(uow.ledger, [early, future], now=recorded))
    with UnitOfWork(books, write=False) as uow:
        report = book.verify(uow.ledger)
    assert not report.ok
    assert report.problems() == [
        "NEG: 271103 专项资金—单位配套—HJ-S01 2024-03-01 日终余额为 -500.00 元 "
        "(a guarded account closed a day below zero)",
        "DATE: 记-2026-12-0001（第4笔）日期 2026-12-10 晚于记账时间 2026-12-04 10:00（北京时间） "
        "(dated after the day it was recorded)",
    ]
