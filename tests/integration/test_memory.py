"""Memory bounded by a chunk, not by the year (issue 34): what a step holds at its peak,
read by tracemalloc at N and at 4N — a ceiling, not a timing. A step that held every
posting or row would hold four times as much at 4N; one bounded by its chunk holds about
the same."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date

from sqlalchemy import Engine

from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from schema.db import UnitOfWork

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
