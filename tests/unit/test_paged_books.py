"""The three-column ledger laid on pages as 会计基础工作规范 第六十条 asks: 过次页 at the foot
of a page that runs over, 承前页 at the head of the next, with the year's 借方 and 贷方
from its first day to the page's end (the book prints 本年累计) and the balance."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ledger.books.book import AccountEntry
from ledger.books.postings import Voucher
from ledger.books.statements import LedgerRow, ledger_rows, paged_rows


def entry(day: date, inflow: int, outflow: int = 0, memo: str = "拨款") -> AccountEntry:
    return AccountEntry(day, 1, Voucher(day.year, day.month, 1), memo, None, inflow, outflow)


def one_line(row: LedgerRow) -> int:
    return 1


def shown(rows: list[LedgerRow]) -> list[tuple[str, int | None, int | None, int]]:
    return [(r.memo, r.debit, r.credit, r.balance) for r in rows]


def test_a_book_that_fits_its_page_is_left_as_it_is() -> None:
    rows = list(ledger_rows(0, [entry(date(2024, 1, 2), 100)], 2024, 2024))
    assert list(paged_rows(rows, 6, one_line)) == rows
    assert len(rows) == 5
    assert list(paged_rows(rows, 5, one_line)) == rows  # 期末余额 needs no 过次页 after it


def test_a_page_that_runs_over_ends_with_forward_and_the_next_begins_with_brought() -> None:
    entries = [
        entry(date(2024, 1, 2), 2_500_000),
        entry(date(2024, 1, 9), 0, 300_000),
        entry(date(2024, 2, 1), 0, 100_000),
        entry(date(2024, 2, 3), 50_000),
    ]
    rows = list(paged_rows(ledger_rows(0, entries, 2024, 2024), 5, one_line))
    assert shown(rows) == [
        ("上年结转", None, None, 0),
        ("拨款", None, 2_500_000, 2_500_000),
        ("拨款", 300_000, None, 2_200_000),
        ("本月合计", 300_000, 2_500_000, 2_200_000),
        ("过次页", 300_000, 2_500_000, 2_200_000),  # the year to the page's end
        ("承前页", 300_000, 2_500_000, 2_200_000),
        ("本年累计", 300_000, 2_500_000, 2_200_000),
        ("拨款", 100_000, None, 2_100_000),
        ("拨款", None, 50_000, 2_150_000),
        ("过次页", 400_000, 2_550_000, 2_150_000),  # January and February so far
        ("承前页", 400_000, 2_550_000, 2_150_000),
        ("本月合计", 100_000, 50_000, 2_150_000),
        ("本年累计", 400_000, 2_550_000, 2_150_000),
        ("期末余额", None, None, 2_150_000),
    ]
    assert [r.kind for r in rows if r.memo in ("过次页", "承前页")] == ["forward", "brought"] * 2


def test_a_year_not_yet_moved_on_the_page_carries_blanks_not_zeros() -> None:
    entries = [entry(date(2024, 1, 2), 100), entry(date(2025, 3, 2), 200)]
    rows = list(paged_rows(ledger_rows(0, entries, 2024, 2025), 7, one_line))
    assert shown([r for r in rows if r.kind == "forward"]) == [
        ("过次页", None, None, 100),  # after 结转下年 and 2025's 上年结转: nothing moved yet
    ]
    assert [r.memo for r in rows][4:8] == ["结转下年", "上年结转", "过次页", "承前页"]


def test_a_long_memo_counts_for_every_line_it_takes() -> None:
    """A row of three lines does not fit where two are left (one of them is kept for
    the 过次页): it goes to the next page whole."""
    entries = [entry(date(2024, 1, d), 1, memo="长" * d) for d in (2, 3, 4)]
    lines = {"长" * 2: 1, "长" * 3: 3, "长" * 4: 2}
    rows = list(paged_rows(ledger_rows(0, entries, 2024, 2024), 5, lambda r: lines.get(r.memo, 1)))
    assert [r.memo for r in rows][:8] == [
        "上年结转",
        "长" * 2,
        "过次页",
        "承前页",
        "长" * 3,
        "过次页",
        "承前页",
        "长" * 4,
    ]


@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.integers(0, 10**9), st.integers(0, 10**9)),
        min_size=1,
        max_size=60,
    ),
    st.integers(3, 30),
)
def test_every_page_holds_what_it_can_and_carries_the_running_figures(
    moves: list[tuple[int, int, int]], per_page: int
) -> None:
    """Taking the 过次页 and 承前页 rows out gives back the book as it was; each page
    holds at most ``per_page`` lines; each 承前页 repeats the 过次页 above it; and a 过次页
    says the balance of the line above it and the month's movements so far."""
    entries = [entry(date(2024, m, 1), i, o) for m, i, o in sorted(moves)]
    book = list(ledger_rows(0, entries, 2024, 2024))
    rows = list(paged_rows(book, per_page, one_line))
    assert [r for r in rows if r.kind not in ("forward", "brought")] == book
    page: list[LedgerRow] = []
    for before, row in zip([None, *rows], rows, strict=False):
        page.append(row)
        assert len(page) <= per_page
        if row.kind == "forward":
            assert before is not None
            assert row.balance == before.balance
            page = []
        if row.kind == "brought":
            assert before is not None
            assert before.kind == "forward"
            assert (row.debit, row.credit, row.balance) == (
                before.debit,
                before.credit,
                before.balance,
            )
    # read as a person reads the pages: 承前页 plus the entries after it make the next
    # 本年累计 printed (carried figures are the year's, from 1 January)
    carried: tuple[int, int] | None = None
    for row in rows:
        if row.kind == "brought":
            carried = (row.debit or 0, row.credit or 0)
        elif row.kind == "opening":
            carried = None
        elif row.kind == "entry" and carried is not None:
            carried = (carried[0] + (row.debit or 0), carried[1] + (row.credit or 0))
        elif row.kind == "year" and carried is not None:
            assert carried == (row.debit, row.credit)
