"""An account's kept days (ledger.daily_balances): writes in any date order keep every
day's closing equal to the sum of what moved up to it, and the check finds a wrong day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.books.daily_balances import (
    Day,
    DayMismatch,
    day_mismatches,
    days_after_write,
    overdrawing,
)
from ledger.books.postings import NewTransaction, Posting

START = date(2024, 1, 1)

WRITES = st.lists(  # each write: what it moves on up to three dates of the year
    st.dictionaries(
        st.integers(min_value=0, max_value=364).map(lambda n: START + timedelta(days=n)),
        st.integers(min_value=-5_000_000, max_value=5_000_000),
        min_size=1,
        max_size=3,
    ),
    min_size=1,
    max_size=12,
)


def as_of(days: dict[date, Day], on: date) -> int:
    """What a store answers: the closing of the latest day on or before ``on``."""
    earlier = [d for d in days if d <= on]
    return days[max(earlier)].closing if earlier else 0


@given(WRITES, st.lists(st.integers(min_value=-1, max_value=366), min_size=1, max_size=8))
def test_days_kept_write_by_write_give_every_balance_as_of(
    writes: list[dict[date, int]], offsets: list[int]
) -> None:
    kept: dict[date, Day] = {}
    balance = 0
    history: list[tuple[date, int]] = []
    for moved in writes:
        balance += sum(moved.values())
        first = min(moved)
        existing = {d: day for d, day in kept.items() if d >= first}  # what a store reads
        kept.update(days_after_write(existing, moved, balance))
        history.extend(moved.items())
    for day, entry in kept.items():
        assert entry.moved == sum(a for d, a in history if d == day)
    assert kept[max(kept)].closing == balance
    for offset in offsets:
        on = START + timedelta(days=offset)
        assert as_of(kept, on) == sum(a for d, a in history if d <= on)


def test_a_back_dated_write_moves_the_closing_of_every_later_day() -> None:
    kept = {date(2024, 1, 2): Day(500, 500), date(2024, 3, 1): Day(-200, 300)}
    after = days_after_write(kept, {date(2024, 2, 1): 1_000}, 1_300)
    assert after == {
        date(2024, 2, 1): Day(1_000, 1_500),
        date(2024, 3, 1): Day(-200, 1_300),
    }


def test_the_check_names_the_first_wrong_day_of_each_account_only() -> None:
    moved = [
        (1, "a", date(2024, 1, 2), 500),
        (1, "a", date(2024, 3, 1), -200),
        (1, "a", date(2024, 4, 1), 100),
        (2, "b", date(2024, 1, 2), 70),
        (3, "c", date(2024, 5, 5), 9),
    ]
    kept = [
        (1, "a", date(2024, 1, 2), 500),
        (1, "a", date(2024, 3, 1), 301),  # wrong from here on
        (1, "a", date(2024, 4, 1), 401),
        (2, "b", date(2024, 1, 2), 70),
        (2, "b", date(2024, 2, 2), 70),  # a day no posting made
        # c's day is missing
    ]
    assert list(day_mismatches(kept, moved)) == [
        DayMismatch("a", date(2024, 3, 1), 301, 300),
        DayMismatch("b", date(2024, 2, 2), 70, None),
        DayMismatch("c", date(2024, 5, 5), None, 9),
    ]
    assert list(day_mismatches(kept[:1], moved[:1])) == []


# -- worked examples at the guard's edges (mutation testing: python -m tests.mutation) -------

FUND = "studio:HJ-S01:fund:matching"
SOURCE = "source:unit:第一中学"
EXPENSE = "expense:materials:studio:HJ-S01"


def moves(key: str, on: date, source: str, destination: str, amount: int) -> NewTransaction:
    return NewTransaction(key, on, "摘要", (Posting(source, destination, amount),))


def guarded(address: str) -> bool:
    return not address.startswith("source:")


def test_a_write_on_the_day_of_a_kept_day_adds_to_it() -> None:
    kept = {date(2024, 2, 1): Day(500, 500), date(2024, 3, 1): Day(100, 600)}
    after = days_after_write(kept, {date(2024, 2, 1): 200}, 800)
    assert after == {date(2024, 2, 1): Day(700, 700), date(2024, 3, 1): Day(100, 800)}


def test_an_import_names_each_row_that_would_overdraw_judged_with_the_rows_before_it() -> None:
    writes = [
        moves("in", date(2024, 3, 1), SOURCE, FUND, 1_000),  # the source may go below zero
        moves("a", date(2024, 3, 2), FUND, EXPENSE, 600),
        moves("b", date(2024, 3, 2), FUND, EXPENSE, 600),  # 1,000 − 600 − 600 < 0: refused
        moves("c", date(2024, 3, 3), FUND, EXPENSE, 400),  # judged without b: exactly 0
        moves("d", date(2024, 2, 1), FUND, EXPENSE, 1),  # before the money came: refused
    ]
    assert overdrawing({}, {}, writes, guarded) == {
        2: (FUND, date(2024, 3, 2), -200),
        4: (FUND, date(2024, 2, 1), -1),
    }


def test_an_import_is_judged_against_the_days_and_balance_already_kept() -> None:
    kept = {FUND: {date(2024, 3, 1): Day(1_000, 1_000)}}
    spend = [moves("a", date(2024, 3, 5), FUND, EXPENSE, 1_000)]
    assert overdrawing(kept, {FUND: 1_000}, spend, guarded) == {}
    too_much = [moves("a", date(2024, 3, 5), FUND, EXPENSE, 1_001)]
    assert overdrawing(kept, {FUND: 1_000}, too_much, guarded) == {0: (FUND, date(2024, 3, 5), -1)}
    # a write dated before a kept day moves that day's closing too
    early = [moves("a", date(2024, 2, 1), FUND, EXPENSE, 1)]
    assert overdrawing(kept, {FUND: 1_000}, early, guarded) == {0: (FUND, date(2024, 2, 1), -1)}
    # an unguarded account is never refused
    assert overdrawing({}, {}, [moves("s", date(2024, 1, 1), SOURCE, FUND, 5)], guarded) == {}


def test_two_rows_of_one_day_are_judged_together() -> None:
    writes = [
        moves("in", date(2024, 3, 1), SOURCE, FUND, 1_000),
        moves("back", date(2024, 3, 1), FUND, SOURCE, 300),
        moves("a", date(2024, 3, 1), FUND, EXPENSE, 701),
    ]
    assert overdrawing({}, {}, writes, guarded) == {2: (FUND, date(2024, 3, 1), -1)}


def test_every_account_of_the_check_starts_from_zero() -> None:
    moved = [(1, "a", date(2024, 1, 2), 5), (2, "b", date(2024, 1, 2), 7)]
    assert list(day_mismatches(list(moved), moved)) == []
    # a kept day of one account before another's derived day, and the reverse
    assert list(day_mismatches([(2, "b", date(2024, 1, 2), 7)], moved)) == [
        DayMismatch("a", date(2024, 1, 2), None, 5)
    ]
    assert list(day_mismatches([(1, "a", date(2024, 1, 1), 5)], moved[:1])) == [
        DayMismatch("a", date(2024, 1, 1), 5, None)
    ]
    assert list(day_mismatches([], [])) == []
    assert list(day_mismatches([(1, "a", date(2024, 1, 2), 5)], [])) == [
        DayMismatch("a", date(2024, 1, 2), 5, None)
    ]


def test_a_kept_day_with_no_postings_does_not_hide_the_next_accounts_days() -> None:
    kept = [(1, "a", date(2024, 1, 2), 5), (2, "b", date(2024, 1, 2), 7)]
    moved = [(2, "b", date(2024, 1, 2), 8)]
    assert list(day_mismatches(kept, moved)) == [
        DayMismatch("a", date(2024, 1, 2), 5, None),
        DayMismatch("b", date(2024, 1, 2), 7, 8),
    ]


def test_a_wrong_day_reads_in_words() -> None:
    assert str(DayMismatch("tax:withheld", date(2024, 1, 2), 7, 8)) == (
        "tax:withheld 2024-01-02：记存日终余额 7 分，按分录应为 8 分"
    )
    assert str(DayMismatch("tax:withheld", date(2024, 1, 2), None, None)) == (
        "tax:withheld 2024-01-02：未记存当日余额，当日没有分录"
    )
