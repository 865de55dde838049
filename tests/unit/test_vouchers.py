"""记账凭证 read from the ledger: each account once per side, 借 before 贷, the totals
equal, nothing shown by its address."""

from __future__ import annotations

import itertools
from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from ledger.books import book
from ledger.books.chart import Names
from ledger.books.postings import NewTransaction, Posting, Transaction, Voucher
from ledger.books.vouchers import (
    LINES_PER_PAGE,
    VoucherLine,
    VoucherView,
    view,
    voucher_lines,
    voucher_pages,
)
from tests.fakes import FakeLedger

S01, S02 = "studio:HJ-S01:fund:finance", "studio:HJ-S02:fund:finance"
NAMES = Names({"HJ-S01": "语文名师工作室"}, {"P000001": "张三", "P000002": "李四"})


def posted(*requests: NewTransaction) -> list[Transaction]:
    return book.post(FakeLedger(), list(requests))


def test_a_batch_approval_shows_each_fund_and_payee_once_debits_first() -> None:
    [funded, approval] = posted(
        NewTransaction(
            "a",
            date(2024, 1, 2),
            "拨款",
            (Posting("source:finance", S01, 3_000_000), Posting("source:finance", S02, 500_000)),
        ),
        NewTransaction(
            "approve",
            date(2024, 12, 20),
            "2024年度劳务补贴",
            (
                Posting(S01, "studio:HJ-S01:payable:P000001", 1_000_000, "张三劳务补贴"),
                Posting(S01, "studio:HJ-S01:payable:P000002", 500_000, "李四劳务补贴"),
                Posting(S02, "studio:HJ-S02:payable:P000002", 250_000, "李四劳务补贴"),
                Posting(S01, "studio:HJ-S01:payable:P000001", 1, "张三补差"),
            ),
        ),
    )
    shown = view(approval, NAMES)
    assert (str(shown.number), shown.on, shown.memo, shown.total) == (
        "记-2024-12-0001",
        date(2024, 12, 20),
        "2024年度劳务补贴",
        1_750_001,
    )
    assert shown.lines == (  # a line of several postings says the voucher's 摘要
        VoucherLine("2024年度劳务补贴", "271101", "专项资金—财政拨款",
                    "工作室：HJ-S01 语文名师工作室", 1_500_001, 0),
        VoucherLine("李四劳务补贴", "271101", "专项资金—财政拨款", "工作室：HJ-S02", 250_000, 0),
        VoucherLine("2024年度劳务补贴", "224101", "其他应付款—应付劳务补贴",
                    "人员：张三（P000001，HJ-S01）", 0, 1_000_001),
        VoucherLine("李四劳务补贴", "224101", "其他应付款—应付劳务补贴",
                    "人员：李四（P000002，HJ-S01）", 0, 500_000),
        VoucherLine("李四劳务补贴", "224101", "其他应付款—应付劳务补贴",
                    "人员：李四（P000002，HJ-S02）", 0, 250_000),
    )  # fmt: skip
    assert view(funded).lines[0] == VoucherLine(
        "拨款", "1002", "银行存款", "收支项目：旗财政拨入", 3_500_000, 0
    )
    assert shown.reverses is None


def test_a_reversal_names_the_voucher_it_reverses() -> None:
    ledger = FakeLedger()
    [funded] = book.post(
        ledger,
        [NewTransaction("a", date(2024, 1, 2), "拨款", (Posting("source:finance", S01, 100),))],
    )
    undone = book.reverse(ledger, funded.seq, idempotency_key="r", effective_date=date(2024, 1, 3))
    shown = view(undone)
    assert shown.reverses == "记-2024-01-0001"
    assert [(x.code, x.debit, x.credit) for x in shown.lines] == [
        ("271101", 100, 0),
        ("1002", 0, 100),
    ]


ACCOUNTS = ("source:finance", "source:edu_fund", S01, S02, "studio:HJ-S01:payable:P000001")


@given(
    st.lists(
        st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 10**12)),
        min_size=1,
        max_size=30,
    )
)
def test_debits_equal_credits_and_each_account_is_once_per_side(
    moves: list[tuple[str, str, int]],
) -> None:
    postings = tuple(Posting(a, b, fen) for a, b, fen in moves if a != b) or (
        Posting("source:finance", S01, 1),
    )
    request = NewTransaction("t", date(2024, 1, 2), "摘要", postings)
    transaction = Transaction(1, Voucher(2024, 1, 1), datetime(2024, 1, 2), request, "0", "1")
    lines = voucher_lines(transaction)
    debits = [x for x in lines if x.debit]
    credit_lines = [x for x in lines if x.credit]
    assert lines == (*debits, *credit_lines)  # 借 before 贷
    assert (
        sum(x.debit for x in lines)
        == sum(x.credit for x in lines)
        == sum(p.amount for p in postings)
    )
    assert all((x.debit == 0) != (x.credit == 0) for x in lines)
    for side in (debits, credit_lines):
        assert len({(x.code, x.item) for x in side}) == len(side)
    assert not any(":" in x.item.split("：", 1)[-1] for x in lines)  # no address shown


def _lines(amounts: list[int]) -> tuple[VoucherLine, ...]:
    debits = [VoucherLine("摘要", "271101", "专项资金", "", a, 0) for a in amounts]
    return (*debits, VoucherLine("摘要", "1002", "银行存款", "", 0, sum(amounts)))


@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=40))
def test_a_printed_voucher_carries_its_totals_from_page_to_page(amounts: list[int]) -> None:
    """Its pages hold its lines in order, six to the first and five (with 承前页) to each
    after; each page brings the last page's totals forward; the last ends at 合计."""
    lines = _lines(amounts)
    shown = VoucherView(Voucher(2024, 12, 1), 1, date(2024, 12, 1), "摘要", lines, None)
    pages = voucher_pages(shown)
    assert [x for p in pages for x in p.lines] == list(lines)
    assert len(pages[0].lines) <= LINES_PER_PAGE
    assert all(len(p.lines) <= LINES_PER_PAGE - 1 for p in pages[1:])
    assert all(p.lines for p in pages)
    assert (pages[0].brought_debit, pages[0].brought_credit) == (0, 0)
    for before, page in itertools.pairwise(pages):
        assert (page.brought_debit, page.brought_credit) == (before.debit, before.credit)
    assert (pages[-1].debit, pages[-1].credit) == (shown.total, shown.total)
    assert [p.page for p in pages] == list(range(1, len(pages) + 1))
    assert {p.pages for p in pages} == {len(pages)}


def test_a_voucher_of_eleven_lines_prints_on_two_pages_and_of_twelve_on_three() -> None:
    for debits, pages in ((10, 2), (11, 3)):
        shown = VoucherView(
            Voucher(2024, 12, 1), 1, date(2024, 12, 1), "摘要", _lines([100] * debits), None
        )
        printed = voucher_pages(shown)
        assert len(printed) == pages
        assert (printed[0].debit, printed[0].credit) == (600, 0)
        assert (printed[1].brought_debit, printed[1].debit) == (600, 1_000 if pages == 2 else 1_100)
        assert (printed[-1].debit, printed[-1].credit) == (100 * debits, 100 * debits)
