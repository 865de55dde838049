"""The as-of guard and the one clock, on the fake ledger: a guarded account never closes a
day below zero, and nothing is dated after the day it is recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import clock
from ledger.books import book
from ledger.books.daily_balances import Day, day_writes, first_negative_day
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import FutureDateError, OverdraftError, ReversalError
from tests.fakes import FakeLedger

MATCHING = "studio:HJ-S01:fund:matching"
EXPENSE = "expense:materials:studio:HJ-S01"
UNIT = "source:unit:杭锦旗第一中学"
FUNDS = (MATCHING, "studio:HJ-S01:fund:finance")
SOURCES = (UNIT, "source:finance")


def receipt(key: str, on: date, amount: int, fund: str = MATCHING) -> NewTransaction:
    source = UNIT if fund == MATCHING else "source:finance"
    return NewTransaction(key, on, "配套资金到账", (Posting(source, fund, amount),))


def expense(key: str, on: date, amount: int, fund: str = MATCHING) -> NewTransaction:
    return NewTransaction(key, on, "购买教研资料", (Posting(fund, EXPENSE, amount),))


def test_an_expense_dated_before_its_money_arrived_is_refused_naming_the_day() -> None:
    """Matching arrives on 1 June; an expense of 1 March from it would leave the fund
    500 元 short from March to May, although today's balance covers it."""
    ledger = FakeLedger()
    book.post(ledger, [receipt("r1", date(2024, 6, 1), 200_000)])
    with pytest.raises(OverdraftError) as refused:
        book.post(ledger, [expense("e1", date(2024, 3, 1), 50_000)])
    assert (refused.value.day, refused.value.shortfall) == (date(2024, 3, 1), 50_000)
    assert refused.value.label == "271103 专项资金—单位配套—HJ-S01"
    assert "2024-03-01 日终余额将为 -500.00 元，短缺 500.00 元" in str(refused.value)
    assert len(ledger.transactions) == 1
    book.post(ledger, [expense("e1", date(2024, 6, 1), 50_000)])  # on the day it arrived: fine
    assert ledger.balances[MATCHING] == 150_000


def test_a_receipt_later_in_the_same_call_does_not_cover_an_earlier_day() -> None:
    ledger = FakeLedger()
    with pytest.raises(OverdraftError) as refused:
        book.post(
            ledger,
            [expense("e1", date(2024, 3, 1), 100), receipt("r1", date(2024, 3, 2), 100)],
        )
    assert refused.value.day == date(2024, 3, 1)
    assert ledger.transactions == []


def test_a_receipt_earlier_in_the_call_covers_a_later_expense_whatever_the_order() -> None:
    """Days, not the order of the call, decide: the receipt of 1 March pays for the
    expense of 2 March even when it is listed after it."""
    ledger = FakeLedger()
    book.post(ledger, [expense("e1", date(2024, 3, 2), 100), receipt("r1", date(2024, 3, 1), 100)])
    assert ledger.balances[MATCHING] == 0


def test_a_backdated_expense_that_would_leave_a_later_day_short_is_refused() -> None:
    """1,000 元 arrives on 1 March and 800 元 is spent on 1 May; another 300 元 dated
    1 April fits April's balance but leaves May 100 元 short."""
    ledger = FakeLedger()
    book.post(ledger, [receipt("r1", date(2024, 3, 1), 100_000)])
    book.post(ledger, [expense("e1", date(2024, 5, 1), 80_000)])
    with pytest.raises(OverdraftError) as refused:
        book.post(ledger, [expense("e2", date(2024, 4, 1), 30_000)])
    assert (refused.value.day, refused.value.shortfall) == (date(2024, 5, 1), 10_000)


def test_a_reversal_is_not_dated_before_what_it_reverses() -> None:
    ledger = FakeLedger()
    book.post(ledger, [receipt("r1", date(2024, 6, 1), 100_000)])
    [spent] = book.post(ledger, [expense("e1", date(2024, 6, 10), 30_000)])
    with pytest.raises(ReversalError) as refused:
        book.reverse(ledger, spent.seq, idempotency_key="undo", effective_date=date(2024, 6, 9))
    assert str(refused.value) == (
        "冲销凭证的日期 2024-06-09 不能早于原凭证 记-2024-06-0002 的日期（2024-06-10）"
    )
    undone = book.reverse(
        ledger, spent.seq, idempotency_key="undo", effective_date=date(2024, 6, 10)
    )
    assert undone.memo == "冲销 记-2024-06-0002：购买教研资料"
    assert ledger.balances[MATCHING] == 100_000


def test_a_voucher_dated_after_the_day_it_is_recorded_is_refused() -> None:
    ledger = FakeLedger()
    recorded = datetime(2026, 12, 4, 15, 59, tzinfo=UTC)  # 23:59 in Beijing
    with pytest.raises(FutureDateError) as refused:
        book.post(ledger, [receipt("r1", date(2026, 12, 5), 100)], now=recorded)
    assert refused.value.field == "effective_date"
    assert "不能晚于今天（2026-12-04）" in refused.value.message
    assert ledger.transactions == []
    [posted] = book.post(ledger, [receipt("r1", date(2026, 12, 4), 100)], now=recorded)
    assert posted.request.effective_date == date(2026, 12, 4)


def test_today_is_the_day_in_beijing_not_on_the_server() -> None:
    clock.use(lambda: datetime(2026, 12, 31, 16, 0, tzinfo=UTC))  # midnight in Beijing
    try:
        assert clock.today() == date(2027, 1, 1)
    finally:
        clock.use(None)


def test_first_negative_day_is_the_earliest_day_below_zero() -> None:
    days = {
        date(2024, 5, 1): Day(-10, -5),
        date(2024, 3, 1): Day(-10, -1),
        date(2024, 2, 1): Day(9, 9),
    }
    assert first_negative_day(days) == (date(2024, 3, 1), -1)
    assert first_negative_day({date(2024, 3, 1): Day(0, 0)}) is None


def test_a_write_keeps_only_the_days_it_adds_or_changes() -> None:
    existing = {date(2024, 3, 1): Day(100, 100), date(2024, 4, 1): Day(-20, 80)}
    after = {
        date(2024, 3, 1): Day(100, 100),
        date(2024, 3, 15): Day(-5, 95),
        date(2024, 4, 1): Day(-20, 75),
    }
    writes = day_writes(MATCHING, existing, after)
    assert [(w.day, w.kept, w.new) for w in writes] == [
        (date(2024, 3, 15), Day(-5, 95), True),
        (date(2024, 4, 1), Day(-20, 75), False),
    ]


WRITES = st.lists(
    st.tuples(
        st.sampled_from(("in", "out")),
        st.sampled_from(FUNDS),
        st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 12, 31)),
        st.integers(min_value=1, max_value=10_000),
    ),
    max_size=30,
)


def short_some_day(moves: list[tuple[str, date, int]]) -> bool:
    """The oracle, from nothing but the moves: does a fund end any day below zero?"""
    for fund in FUNDS:
        by_day: dict[date, int] = {}
        for _, on, change in (m for m in moves if m[0] == fund):
            by_day[on] = by_day.get(on, 0) + change
        closing = 0
        for on in sorted(by_day):
            closing += by_day[on]
            if closing < 0:
                return True
    return False


@settings(max_examples=200, derandomize=True)
@given(WRITES)
def test_a_dated_write_is_refused_exactly_when_a_fund_would_end_a_day_short(
    writes: list[tuple[str, str, date, int]],
) -> None:
    """Whatever dated writes are tried in whatever order, the ledger refuses exactly those
    that would leave a fund short at the end of some day, given those it accepted; a
    refused one leaves the ledger as it was; and the days it keeps are the postings'
    (``verify``: no DAY, no NEG)."""
    ledger = FakeLedger()
    accepted: list[tuple[str, date, int]] = []
    for i, (kind, fund, on, amount) in enumerate(writes):
        request = (receipt if kind == "in" else expense)(f"w{i}", on, amount, fund)
        move = (fund, on, amount if kind == "in" else -amount)
        before = list(ledger.transactions)
        refused: OverdraftError | None = None
        try:
            book.post(ledger, [request])
        except OverdraftError as error:
            refused = error
        assert (refused is not None) == short_some_day([*accepted, move])
        if refused is None:
            accepted.append(move)
        else:
            assert refused.account == fund
            assert ledger.transactions == before
    report = book.verify(ledger)
    assert report.ok, report.problems()
    assert all(ledger.balances[s] <= 0 for s in SOURCES if s in ledger.balances)
