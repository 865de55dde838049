"""An account's kept days (ledger.daily_balances): writes in any date order keep every
day's closing equal to the sum of what moved up to it, and the check finds a wrong day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.books.daily_balances import Day, DayMismatch, day_mismatches, days_after_write

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
