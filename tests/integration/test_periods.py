"""Accounting periods on a real database: closing months in order, every kind of
write into a closed month refused with nothing written, corrections posted in an
open month, the database refusing a closed date on its own, and jobs that respect
closed periods."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from jobs import runner
from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.books import book, closing
from ledger.books.periods import Period
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import (
    ClosedPeriodError,
    InvalidInputError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.funds import expenses, fund_services
from ledger.funds.expenses import Expense, Receipt
from ledger.registry import roster_services
from ledger.registry.roster import Grade, Studio
from schema.db import UnitOfWork
from schema.ledger_store import SqlLedgerStore
from schema.tables import TransactionRow
from tests.conftest import Clock
from tests.fakes import approver_id_number

CLERK = SCHEDULER_USER  # the clerk the migrations create

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
FUND = "studio:HJ-S01:fund:finance"
MATCHING = "studio:HJ-S01:fund:matching"
EXPENSE = "expense:materials:studio:HJ-S01"
TODAY = date(2025, 3, 1)


def run(engine: Engine, action: Callable[[UnitOfWork], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


def count(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(TransactionRow)) or 0)


def balance(engine: Engine, address: str) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return uow.ledger.balance(address, None) or 0


@pytest.fixture
def books(engine: Engine, clock: Clock) -> Engine:
    """HJ-S01 appropriated on 2 January 2024, 860 元 of materials spent in March;
    a clerk, an approver and an admin; today is 1 March 2025."""
    clock.set(TODAY)

    def setup(uow: UnitOfWork) -> None:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        fund_services.appropriate(uow, 2024, by=CLERK)
        fund_services.save_expense_plans(
            uow, [expenses.ExpensePlan(2024, "HJ-S01", "materials", 500_000)], by=CLERK
        )
        fund_services.spend(
            uow,
            [Expense(date(2024, 3, 10), "HJ-S01", "finance", "materials", 86_000, "资料")],
            by=CLERK,
        )
        for n, (name, role) in enumerate(
            (("clerk", "clerk"), ("boss", "approver"), ("root", "admin"))
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    return engine


def close(engine: Engine, period: str, by: str = "boss") -> closing.Closed:
    return run(engine, lambda uow: closing.close(uow, period, by))


def test_closing_a_month_closes_every_month_before_it(books: Engine) -> None:
    first = close(books, "2024-03")
    assert first.changed
    assert (first.first, first.through) == (Period(2024, 1), Period(2024, 3))
    assert first.message.startswith("已结账 2024-01..2024-03，结账人 boss；锚点 2:")
    again = close(books, "2024-02", by="root")
    assert (again.changed, again.message) == (False, "2024-02 已结账，未作任何更改")
    year_end = close(books, "2024-12", by="root")
    assert year_end.first == Period(2024, 4)
    assert "（2024年度年结）" in year_end.message

    with UnitOfWork(books, write=False) as uow:
        states = closing.states(uow, TODAY)
    by_month = {str(s.period): s for s in states}
    assert str(states[0].period) == "2024-01"
    assert str(states[-1].period) == "2025-03"  # up to this month
    assert (by_month["2024-01"].label, by_month["2024-01"].closing.by) == ("已结账", "boss")  # type: ignore[union-attr]
    assert (by_month["2024-03"].last_voucher, by_month["2024-03"].closing.by) == (1, "boss")  # type: ignore[union-attr]
    assert by_month["2024-04"].closing.by == "root"  # type: ignore[union-attr]
    assert (by_month["2024-12"].label, by_month["2024-12"].year_end) == ("已年结", True)
    assert (by_month["2025-01"].label, by_month["2025-01"].closed) == ("未结账", False)


def test_only_an_approver_or_admin_closes_and_only_a_month_that_has_ended(books: Engine) -> None:
    with pytest.raises(
        PermissionDeniedError,
        match=r"period\.close：仅限审核人（approver）、管理员（admin）",
    ):
        close(books, "2024-03", by="clerk")
    with pytest.raises(ValidationError, match="2025年3月尚未结束"):
        close(books, "2025-03")
    with pytest.raises(ValidationError, match="会计期间：应写作 YYYY-MM"):
        close(books, "2024-13")
    with UnitOfWork(books, write=False) as uow:
        assert uow.ledger.closed_through() is None


def test_every_write_into_a_closed_month_is_refused_and_writes_nothing(books: Engine) -> None:
    close(books, "2024-03")
    before = (count(books), balance(books, FUND), balance(books, MATCHING))

    with pytest.raises(ClosedPeriodError, match=r"2024年3月已结账（账簿已结账至 2024-03）") as e:
        run(
            books,
            lambda uow: book.post(
                uow.ledger,
                [NewTransaction("late", date(2024, 3, 31), "补记", (Posting(FUND, EXPENSE, 1),))],
            ),
        )
    assert "2024-04 及以后" in str(e.value)
    with pytest.raises(InvalidInputError) as refused:
        run(
            books,
            lambda uow: fund_services.receive_matching(
                uow,
                [
                    Receipt(date(2024, 4, 2), "HJ-S01", 100_000, "配套（开放期间）"),
                    Receipt(date(2024, 2, 10), "HJ-S01", 100_000, "配套（已结账）"),
                ],
                by=CLERK,
            ),
        )
    assert [x.field for x in refused.value.errors] == ["receipts[1].日期"]
    with pytest.raises(InvalidInputError) as refused:
        run(
            books,
            lambda uow: fund_services.spend(
                uow,
                [Expense(date(2024, 1, 20), "HJ-S01", "finance", "materials", 1, "补记")],
                by=CLERK,
            ),
        )
    assert [x.field for x in refused.value.errors] == ["expenses[0].日期"]
    with pytest.raises(ClosedPeriodError, match="2024年1月已结账"):
        run(books, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    with pytest.raises(ClosedPeriodError, match="2024年3月已结账"):
        run(
            books,
            lambda uow: book.reverse(
                uow.ledger, 2, idempotency_key="undo", effective_date=date(2024, 3, 31)
            ),
        )
    assert (count(books), balance(books, FUND), balance(books, MATCHING)) == before


def test_a_correction_of_a_closed_month_is_posted_in_an_open_one(books: Engine) -> None:
    close(books, "2024-03")
    correction = run(
        books,
        lambda uow: book.reverse(
            uow.ledger, 2, idempotency_key="undo-march", effective_date=date(2024, 4, 1)
        ),
    )
    assert (correction.request.reverses, str(correction.voucher)) == (2, "记-2024-04-0001")
    assert correction.memo == "冲销 记-2024-03-0001：资料"
    assert balance(books, FUND) == 2_500_000


def test_repeating_an_import_of_a_closed_month_changes_nothing(books: Engine) -> None:
    receipt = Receipt(date(2024, 2, 10), "HJ-S01", 200_000, "2024年配套")
    [first] = run(books, lambda uow: fund_services.receive_matching(uow, [receipt], by=CLERK))
    close(books, "2024-02")
    [again] = run(books, lambda uow: fund_services.receive_matching(uow, [receipt], by=CLERK))
    assert again == first
    assert balance(books, MATCHING) == 200_000


def test_the_database_refuses_a_closed_date_on_its_own(
    books: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    close(books, "2024-03")
    # code that forgot to look at the periods: the trigger on transactions still refuses
    monkeypatch.setattr(SqlLedgerStore, "closed_through", lambda _self: None)
    with pytest.raises(DBAPIError, match="closed"):
        run(
            books,
            lambda uow: book.post(
                uow.ledger,
                [NewTransaction("late", date(2024, 3, 31), "补记", (Posting(FUND, EXPENSE, 1),))],
            ),
        )
    monkeypatch.undo()
    assert count(books) == 2


def test_a_close_racing_with_writers_never_lets_a_closed_date_in(books: Engine) -> None:
    start = threading.Barrier(5)

    def write(n: int) -> int:
        start.wait()
        kept = 0
        for i in range(15):
            try:
                run(
                    books,
                    lambda uow, i=i: book.post(
                        uow.ledger,
                        [
                            NewTransaction(
                                f"w{n}-{i}",
                                date(2024, 5, 1 + i),
                                "资料费",
                                (Posting(FUND, EXPENSE, 1),),
                            )
                        ],
                    ),
                )
                kept += 1
            except ClosedPeriodError:
                pass
        return kept

    def close_may(_: int) -> int:
        start.wait()
        close(books, "2024-05")
        return 0

    with ThreadPoolExecutor(5) as pool:
        writers = [pool.submit(write, n) for n in range(4)]
        closer = pool.submit(close_may, 0)
        kept = sum(w.result() for w in writers) + closer.result()
    with UnitOfWork(books, write=False) as uow:
        [closed] = uow.ledger.closings()
        late = uow.session.scalar(
            select(func.count())
            .select_from(TransactionRow)
            .where(
                TransactionRow.effective_date <= date(2024, 5, 31),
                TransactionRow.recorded_at > closed.at,
            )
        )
        assert book.verify(uow.ledger).ok
    assert late == 0
    assert count(books) == 2 + kept


def test_the_appropriation_job_for_a_closed_january_refuses_and_records_why(
    books: Engine,
) -> None:
    close(books, "2025-01")
    before = count(books)
    outcome = runner.run(books, "appropriation", "2025")
    assert outcome.status == "failed"
    assert "2025年1月已结账" in outcome.message
    with UnitOfWork(books, write=False) as uow:
        [recorded] = uow.jobs.runs("appropriation", limit=10)
    assert recorded.status == "failed"
    assert recorded.error is not None
    assert recorded.error.startswith("日期：2025年1月已结账")
    assert count(books) == before
    # the budget can still be posted, dated in an open month, by an operator who decides so
    grade = Grade(2024, "HJ-S01", "", "qualified")  # funded by 2024's grade (考核发放)
    run(books, lambda uow: roster_services.save_grades(uow, [grade], by=CLERK))
    report = run(
        books, lambda uow: fund_services.appropriate(uow, 2025, date(2025, 2, 3), by=CLERK)
    )
    assert [t.effective_date for t in report.posted] == [date(2025, 2, 3)]
    assert balance(books, FUND) == 2 * 2_500_000 - 86_000
