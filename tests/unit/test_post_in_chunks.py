"""One voucher posted a chunk of postings at a time (:func:`book.post_in_chunks`): the
very transaction, balances and days :func:`book.post` records for the same postings
held whole, and every refusal of ``post`` — naming a posting by its place in the whole
voucher — with nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books import book
from ledger.books.chain_keys import ChainKey, KeyRing
from ledger.books.periods import Closing, Period
from ledger.books.postings import NewTransaction, Posting, chain_hash
from ledger.errors import (
    ChainKeyError,
    ClosedPeriodError,
    FutureDateError,
    IdempotencyConflictError,
    InvalidInputError,
    OverdraftError,
)
from tests.fakes import TEST_KEYS, FakeLedger

FIN = "source:finance"
FUND = "studio:HJ-S01:fund:finance"
NOW = datetime(2024, 6, 30, 2, 0, tzinfo=UTC)
ON = date(2024, 6, 28)
HEADER = NewTransaction("batch:1:approve", ON, "2024年度劳务补贴审批转应付", ())


def _payable(n: int) -> str:
    return f"studio:HJ-S01:payable:P{n:06d}"


def _postings(amounts: Sequence[int]) -> list[Posting]:
    return [Posting(FUND, _payable(i), a, f"教师{i}转应付") for i, a in enumerate(amounts)]


def _in_chunks(postings: Sequence[Posting], size: int) -> Callable[[], Iterable[list[Posting]]]:
    return lambda: (list(postings[i : i + size]) for i in range(0, len(postings), size))


def _granted(amount: int) -> FakeLedger:
    ledger = FakeLedger()
    grant = NewTransaction("g1", date(2024, 6, 3), "拨款", (Posting(FIN, FUND, amount),))
    book.post(ledger, [grant], now=NOW)
    return ledger


@given(
    amounts=st.lists(st.integers(1, 10**9), min_size=1, max_size=12),
    size=st.integers(1, 5),
)
def test_a_voucher_posted_in_chunks_is_the_voucher_posted_whole(
    amounts: list[int], size: int
) -> None:
    postings = _postings(amounts)
    whole, chunked = _granted(sum(amounts)), _granted(sum(amounts))
    [expected] = book.post(whole, [replace(HEADER, postings=tuple(postings))], now=NOW, by="王局长")
    got = book.post_in_chunks(chunked, HEADER, _in_chunks(postings, size), now=NOW, by="王局长")
    assert (got.seq, got.voucher, got.hash) == (expected.seq, expected.voucher, expected.hash)
    assert got.request == HEADER
    assert got.recorded_by == "王局长"
    assert chunked.transactions == whole.transactions
    assert chunked.balances == whole.balances
    assert chunked.balances[FUND] == 0
    assert chunked.days == whole.days
    assert chunked.head_key == whole.head_key == TEST_KEYS.current.id  # the key that sealed it
    assert chunked.writing is None
    assert book.verify(chunked).ok


def test_a_posting_is_refused_by_its_place_in_the_whole_voucher() -> None:
    ledger = _granted(100)
    postings = _postings([10, 10, 10, 10, 0])
    with pytest.raises(InvalidInputError) as refused:
        book.post_in_chunks(ledger, HEADER, _in_chunks(postings, 2), now=NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("postings[4].amount", "金额须为正整数（以分计），实为 0")
    ]
    reversing = [*postings[:4], replace(postings[0], reverses=0)]
    with pytest.raises(InvalidInputError) as refused:
        book.post_in_chunks(ledger, HEADER, _in_chunks(reversing, 3), now=NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("postings[4].reverses", "只有冲销交易的分录才能指明原分录")
    ]
    assert len(ledger.transactions) == 1


def test_a_voucher_without_postings_or_memo_is_refused() -> None:
    ledger = _granted(100)
    with pytest.raises(InvalidInputError) as refused:
        book.post_in_chunks(ledger, HEADER, lambda: iter([[], []]), now=NOW)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("postings", "一笔交易至少要有一条分录")
    ]
    with pytest.raises(InvalidInputError) as refused:
        book.post_in_chunks(ledger, replace(HEADER, memo=" "), _in_chunks(_postings([1]), 1))
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("memo", "摘要须为1至200个字符")
    ]
    with pytest.raises(
        ValueError, match=r"^post_in_chunks takes a request without postings that reverses none$"
    ):
        book.post_in_chunks(ledger, replace(HEADER, postings=tuple(_postings([1]))), list)
    assert len(ledger.transactions) == 1


def test_an_overdraft_and_a_future_date_are_refused_naming_the_callers_field() -> None:
    ledger = _granted(29)
    with pytest.raises(OverdraftError) as short:
        book.post_in_chunks(ledger, HEADER, _in_chunks(_postings([10, 10, 10]), 2), now=NOW)
    assert str(short.value) == (
        "记账日期：余额不足：271101 专项资金—财政拨款—HJ-S01 2024-06-28 日终余额将为 -0.01 元，"
        "短缺 0.01 元；没有写入任何内容"
    )
    tomorrow = replace(HEADER, effective_date=date(2024, 7, 1))
    with pytest.raises(FutureDateError) as future:
        book.post_in_chunks(
            ledger, tomorrow, _in_chunks(_postings([1]), 1), now=NOW, date_field="on"
        )
    assert future.value.field == "on"
    assert len(ledger.transactions) == 1
    assert ledger.balances[FUND] == 29


def test_a_repeated_key_returns_the_first_voucher_and_other_content_is_refused() -> None:
    ledger = _granted(100)
    postings = _postings([30, 20])
    first = book.post_in_chunks(ledger, HEADER, _in_chunks(postings, 1), now=NOW)
    again = book.post_in_chunks(ledger, HEADER, _in_chunks(postings, 2), now=NOW)
    assert (again.seq, again.hash, again.postings) == (first.seq, first.hash, tuple(postings))
    with pytest.raises(IdempotencyConflictError) as refused:
        book.post_in_chunks(ledger, HEADER, _in_chunks(_postings([30, 21]), 1), now=NOW)
    assert refused.value.key == "batch:1:approve"
    assert len(ledger.transactions) == 2
    assert ledger.balances[FUND] == 50


def test_postings_that_change_between_the_passes_are_refused_and_nothing_is_kept() -> None:
    ledger = _granted(100)
    passes = iter([_postings([30, 20]), _postings([30, 21])])
    with pytest.raises(RuntimeError, match="changed between passes"):
        book.post_in_chunks(ledger, HEADER, lambda: [next(passes)], now=NOW)
    assert len(ledger.transactions) == 1
    assert ledger.balances[FUND] == 100


def test_the_sealed_hash_is_the_chain_hash_of_the_whole_voucher() -> None:
    ledger = _granted(100)
    postings = _postings([30, 20, 50])
    got = book.post_in_chunks(ledger, HEADER, _in_chunks(postings, 2), now=NOW)
    stored = ledger.transactions[-1]
    assert stored.postings == tuple(postings)
    assert (
        got.hash == stored.hash == chain_hash(stored.prev_hash, stored, ledger.keys.current.secret)
    )


def test_a_closed_month_and_another_ledgers_key_are_refused_before_anything_is_written() -> None:
    ledger = _granted(100)
    ledger.add_closing(Closing(Period(2024, 5), "admin", datetime(2024, 6, 1, 1, 0)))
    in_may = replace(HEADER, effective_date=date(2024, 5, 31))
    with pytest.raises(ClosedPeriodError) as closed:
        book.post_in_chunks(ledger, in_may, _in_chunks(_postings([1]), 1), now=NOW, date_field="on")
    assert closed.value.field == "on"
    ledger.keys = KeyRing((ChainKey(1, bytes(range(1, 33))),))
    with pytest.raises(ChainKeyError) as other:
        book.post_in_chunks(ledger, HEADER, _in_chunks(_postings([1]), 1), now=NOW)
    assert str(other.value) == (
        "账链密钥与账簿不符：第1笔（记-2024-06-0001）的封印在 the fake's ring 的密钥下不成立"
        "（可能是另一账簿的密钥，或密钥文件已被改动），没有写入任何内容"
    )
    assert len(ledger.transactions) == 1
    assert ledger.balances[FUND] == 100
