"""Dates the books can trust, on both databases: nothing dated after today, nothing spent
before its money arrived (the as-of guard), nothing written into a closed month, and
``verify`` finding what was written around those rules. Today is set by the ``clock``
fixture: 4 December 2026, the day the issue was found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from jobs import runner
from jobs.timetable import ScheduleSettings
from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.batches import disbursement
from ledger.books import book, closing, corrections
from ledger.books.postings import NewTransaction, Posting
from ledger.clock import local_time
from ledger.errors import (
    ClosedPeriodError,
    FutureDateError,
    InvalidInputError,
    OverdraftError,
    PermissionDeniedError,
    ReversalError,
    ValidationError,
)
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, ExpensePlan, Receipt
from ledger.registry import cycle_services, roster_services
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from ledger.workbooks import imports
from schema.db import UnitOfWork
from schema.tables import TransactionRow
from tests.conftest import Clock
from tests.fakes import approver_id_number

CLERK = SCHEDULER_USER
BOSS, BOSS2, ADMIN, CASHIER = "boss", "boss2", "admin", "cashier"
TODAY = date(2026, 12, 4)
S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
MATCHING = "studio:HJ-S01:fund:matching"
EXPENSE = "expense:materials:studio:HJ-S01"


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
        roster_services.save_roster(uow, [S1], PEOPLE, places, by=CLERK)
        fund_services.appropriate(uow, 2024, by=CLERK)
        fund_services.receive_matching(
            uow, [Receipt(date(2024, 6, 1), "HJ-S01", 200_000, "2024年配套")], by=CLERK
        )
        fund_services.save_expense_plans(
            uow, [ExpensePlan(2024, "HJ-S01", "materials", 150_000)], by=CLERK
        )
        for n, (name, role) in enumerate(
            ((BOSS, "approver"), (BOSS2, "approver"), (ADMIN, "admin"), (CASHIER, "cashier"))
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
            lambda uow: fund_services.receive_matching(
                uow, [Receipt(day, "HJ-S01", 100_000, "配套")], by=CLERK
            ),
        )
    [error] = refused.value.errors
    assert isinstance(error, FutureDateError)
    assert error.field == "receipts[0].日期"
    assert error.message.startswith(f"不能晚于今天（2026-12-04）：{day.isoformat()}")
    assert transactions(books) == before


def test_an_expense_paid_before_its_matching_arrived_is_refused_naming_account_day_and_shortfall(
    books: Engine,
) -> None:
    """The matching arrived on 1 June; 500 元 of materials dated 1 March would leave the
    fund short from March to May, although today's 2,000 元 covers it."""
    before = transactions(books)
    with pytest.raises(InvalidInputError) as refused:
        run(books, lambda uow: fund_services.spend(uow, [materials(date(2024, 3, 1))], by=CLERK))
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
    run(books, lambda uow: fund_services.spend(uow, [materials(date(2024, 6, 1))], by=CLERK))
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


def test_a_receipts_row_dated_after_today_refuses_the_file_naming_its_row(
    books: Engine, tmp_path: Path
) -> None:
    path = imports.fill_template(
        "receipts",
        tmp_path / "receipts.xlsx",
        {
            "配套资金": [
                ["2026-12-04", "HJ-S01", "500.00", "配套一"],
                ["2026-12-05", "HJ-S01", "500.00", "配套二"],
            ]
        },
    )
    before = transactions(books)
    with pytest.raises(imports.ImportRefused) as refused:
        run(books, lambda uow: imports.import_file(uow, "receipts", path, by=CLERK))
    assert [str(p) for p in refused.value.problems] == [
        "配套资金 第3行 日期: 不能晚于今天（2026-12-04）：2026-12-05 尚未到来"
    ]
    assert transactions(books) == before


def test_a_roster_row_cancelled_after_today_is_named_by_its_column(
    books: Engine, tmp_path: Path
) -> None:
    studio = ["HJ-S01", "语文名师工作室", "名教师工作室", "第一中学", 2024, "撤销"]
    studio += ["2026-12-31", "调离本旗", "主持人将调离本旗"]
    path = imports.fill_template(
        "roster", tmp_path / "roster.xlsx", {"工作室": [studio], "成员": []}
    )
    with pytest.raises(imports.ImportRefused) as refused:
        run(books, lambda uow: imports.import_file(uow, "roster", path, by=CLERK))
    assert [str(p) for p in refused.value.problems] == [
        "工作室 第2行 撤销日期: 不能晚于今天（2026-12-04）：2026-12-31 尚未到来"
    ]


def test_no_batch_for_a_year_not_begun_nor_dated_after_today_or_in_a_closed_month(
    books: Engine,
) -> None:
    with pytest.raises(FutureDateError, match="2027年尚未开始（今天是2026-12-04）"):
        run(books, lambda uow: disbursement.create(uow, 2027, CLERK, TODAY))
    with pytest.raises(FutureDateError, match="不能晚于今天（2026-12-04）") as later:
        run(books, lambda uow: disbursement.create(uow, 2026, CLERK, date(2026, 12, 20)))
    assert later.value.field == "on"
    # work for a year is not dated before that year began
    with pytest.raises(ValidationError, match="2025年度的事项不能记在2025年以前：2024-11-01"):
        run(books, lambda uow: disbursement.create(uow, 2025, CLERK, date(2024, 11, 1)))
    with pytest.raises(ValidationError, match="2025年度的事项不能记在2025年以前：2024-06-01"):
        run(books, lambda uow: fund_services.appropriate(uow, 2025, date(2024, 6, 1), by=CLERK))
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
        lambda uow: roster_services.save_grades(
            uow, [Grade(2024, "HJ-S01", "", "qualified")], by=CLERK
        ),
    )
    batch = run(books, lambda uow: disbursement.create(uow, 2024, CLERK, TODAY)).batch
    with pytest.raises(ValidationError, match="不能早于批次 #1 的发放月份（2026-12-01）"):
        run(books, lambda uow: disbursement.approve(uow, batch.id, BOSS, date(2026, 11, 30)))
    run(books, lambda uow: disbursement.approve(uow, batch.id, BOSS, TODAY))
    run(books, lambda uow: disbursement.approve(uow, batch.id, BOSS2, TODAY))
    with pytest.raises(FutureDateError):
        run(books, lambda uow: disbursement.confirm(uow, batch.id, CASHIER, date(2026, 12, 5)))
    # the money became payable today: it cannot have been paid out a week ago
    with pytest.raises(ValidationError) as early:
        run(books, lambda uow: disbursement.confirm(uow, batch.id, CASHIER, date(2026, 11, 27)))
    assert (early.value.field, early.value.message) == (
        "on",
        f"2026-11-27 不能早于批次 #{batch.id} 的审批（2026-12-04）",
    )
    paid = run(books, lambda uow: disbursement.confirm(uow, batch.id, CASHIER, TODAY))
    assert paid.batch.state == "paid"


def test_periods_and_cycles_are_not_closed_before_they_end(books: Engine) -> None:
    with pytest.raises(ValidationError, match="2026年12月尚未结束"):
        run(books, lambda uow: closing.close(uow, "2026-12", BOSS))
    with pytest.raises(FutureDateError, match="不能晚于今天"):
        run(
            books,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
        )
    with pytest.raises(ValidationError, match="尚未期满"):
        run(books, lambda uow: cycle_services.close_cycle(uow, "HJ-S01", TODAY, by=BOSS))


def test_a_grade_for_a_year_not_begun_and_a_roster_date_after_today_are_refused(
    books: Engine,
) -> None:
    with pytest.raises(InvalidInputError) as grade:
        run(
            books,
            lambda uow: roster_services.save_grades(
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
            lambda uow: roster_services.save_roster(
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


def test_the_database_refuses_a_voucher_dated_ahead_and_a_short_day_on_its_own(
    books: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the ledger's own checks switched off, the triggers of migration 0017 still
    refuse both, and nothing is written."""
    monkeypatch.setattr(book, "_guard", lambda state, days, field: None)
    monkeypatch.setattr(book, "dating_error", lambda day, field, today, closed: None)
    before = transactions(books)
    early = NewTransaction("early", date(2024, 3, 1), "资料", (Posting(MATCHING, EXPENSE, 50_000),))
    ahead = NewTransaction(
        "ahead", date(2026, 12, 10), "配套", (Posting("source:unit:第一中学", MATCHING, 100),)
    )
    for request, refusal in ((early, "余额不足"), (ahead, "日期不能晚于记账日")):
        with pytest.raises(DBAPIError, match=refusal):
            run(books, lambda uow, r=request: book.post(uow.ledger, [r]))
    assert transactions(books) == before


def _triggers_off(engine: Engine) -> None:
    """What someone with write access to the database could do."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for trigger in ("transactions_no_update", "daily_balances_guard_update"):
                connection.execute(text(f"DROP TRIGGER {trigger}"))
        else:
            for table in ("transactions", "daily_balances"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def test_verify_finds_a_short_day_and_a_voucher_dated_ahead_written_behind_its_back(
    books: Engine,
) -> None:
    """An expense of 1 July is moved to 10 December 2026 and the fund's day of 1 June is
    made to close 100 元 short, by SQL with the triggers off: ``verify`` names the short
    day (NEG:) and the voucher dated after the day it was recorded (DATE:), besides the
    broken link and the days that no longer agree."""
    run(books, lambda uow: fund_services.spend(uow, [materials(date(2024, 7, 1))], by=CLERK))
    with UnitOfWork(books, write=False) as uow:
        assert book.verify(uow.ledger).ok
        [spent] = [t for t in uow.ledger.iter_transactions() if t.memo == "购买教研资料"]
    _triggers_off(books)
    with books.begin() as connection:
        connection.execute(
            text("UPDATE transactions SET effective_date = :day WHERE seq = :seq"),
            {"day": date(2026, 12, 10), "seq": spent.seq},
        )
        connection.execute(
            text(
                "UPDATE daily_balances SET closing = -10000 WHERE day = :day AND account_id = "
                "(SELECT id FROM accounts WHERE address = :address)"
            ),
            {"day": date(2024, 6, 1), "address": MATCHING},
        )
    with UnitOfWork(books, write=False) as uow:
        report = book.verify(uow.ledger)
    problems = report.problems()
    assert not report.ok
    assert (
        "NEG: 271103 专项资金—单位配套—HJ-S01 2024-06-01 日终余额为 -100.00 元，低于零"
    ) in problems
    recorded = f"{local_time(spent.recorded_at):%Y-%m-%d %H:%M}"
    assert (
        f"DATE: {spent.voucher}（第{spent.seq}笔）日期 2026-12-10 晚于记账时间 {recorded}"
        "（北京时间）"
    ) in problems
    assert report.broken_link is not None
    assert report.broken_link.seq == spent.seq


def test_a_correction_reverses_a_voucher_in_an_open_month_naming_what_it_corrects(
    books: Engine,
) -> None:
    """300 元 of training booked to 资料费 in July 2024; 2024 is closed. The approver
    reverses it today, naming the voucher and why; the movement is then posted again."""
    run(
        books,
        lambda uow: fund_services.save_expense_plans(
            uow, [ExpensePlan(2024, "HJ-S01", "training", 50_000)], by=CLERK
        ),
    )
    [spent] = run(
        books, lambda uow: fund_services.spend(uow, [materials(date(2024, 7, 1), 30_000)], by=CLERK)
    )
    run(books, lambda uow: closing.close(uow, "2024-12", BOSS))

    def reverse(by: str, on: date, positions: list[int] | None = None) -> Any:
        return run(
            books,
            lambda uow: corrections.reverse_voucher(
                uow,
                str(spent.voucher),
                on,
                by=by,
                reason="误记为资料费，应为培训费",
                positions=positions,
            ),
        )

    with pytest.raises(PermissionDeniedError):
        reverse(CLERK, TODAY)
    with pytest.raises(ClosedPeriodError):
        reverse(BOSS, date(2024, 12, 31))
    with pytest.raises(FutureDateError):
        reverse(BOSS, date(2026, 12, 5))
    reversal = reverse(BOSS, TODAY)
    assert (str(reversal.voucher), reversal.effective_date, reversal.request.reverses) == (
        "记-2026-12-0001",
        TODAY,
        spent.seq,
    )
    assert reversal.memo == f"冲销 {spent.voucher}：误记为资料费，应为培训费"
    assert reverse(BOSS, TODAY).seq == reversal.seq  # the same correction again: the first
    with pytest.raises(ReversalError, match="已冲销过"):
        reverse(BOSS, TODAY, [0])
    training = Expense(
        TODAY, "HJ-S01", "matching", "training", 30_000, "培训（更正记-2024-07-0001）"
    )
    with pytest.raises(InvalidInputError):  # a 2024 plan does not cover a 2026 expense
        run(books, lambda uow: fund_services.spend(uow, [training], by=CLERK))
    with UnitOfWork(books, write=False) as uow:
        assert uow.ledger.balance("expense:materials:studio:HJ-S01", None) == 0
        assert uow.ledger.balance(MATCHING, date(2024, 12, 31)) == 170_000  # the closed year stands
        assert uow.ledger.balance(MATCHING, None) == 200_000
        assert book.verify(uow.ledger).ok
