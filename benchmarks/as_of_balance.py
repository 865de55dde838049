"""Benchmark: a balance as of a date, on a small ledger and on a large one.

Builds two fresh ledgers through ``ledger.book.post``, one with ``--small`` postings and
one with ``--large`` (default 1,000 and 1,000,000), all on one studio's fund account and
spread evenly over three years (2024-2026), so the account has a day for most dates.
Then reads that account's balance as of ``--reads`` random dates through
``ledger.book.balance`` on each, and, beside it, the same balance summed from the
postings (how it was read before the kept days, migration 0015). Prints the mean
microseconds per read and the large/small ratio.

    python benchmarks/as_of_balance.py                    # SQLite files in a temp folder
    python benchmarks/as_of_balance.py --pg URL           # PostgreSQL server (creates databases)

Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from scratch import scratch_urls
from sqlalchemy import Engine, func, select

from ledger.books import book
from ledger.books.chain_keys import first_ring
from ledger.books.postings import NewTransaction, Posting
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.migrate import upgrade
from schema.tables import AccountRow, PostingRow, TransactionRow

os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())

ACCOUNT = "studio:GJ-000001:fund:finance"
START = date(2024, 1, 1)
DAYS = 3 * 365
PER_TRANSACTION = 10  # postings per transaction: the account's movements come in vouchers


def build(engine: Engine, postings: int, chunk: int = 1_000) -> None:
    """``postings`` movements into the account, in vouchers of ten, dated in order."""
    transactions = postings // PER_TRANSACTION
    batch: list[NewTransaction] = []
    for i in range(transactions):
        on = START + timedelta(days=i * DAYS // transactions)
        lines = tuple(
            Posting("source:finance", ACCOUNT, 100 + n, memo=f"第{n + 1}笔")
            for n in range(PER_TRANSACTION)
        )
        batch.append(NewTransaction(f"asof:{i}", on, "拨款", lines))
        if len(batch) == chunk or i == transactions - 1:
            with UnitOfWork(engine) as uow:
                book.post(uow.ledger, batch)
                uow.commit()
            batch = []


def summed(engine: Engine, as_of: date) -> int:
    """The balance as it was read before the kept days: every posting up to the date."""
    with engine.connect() as connection:
        account = connection.scalar(select(AccountRow.id).where(AccountRow.address == ACCOUNT))
        total = connection.scalar(
            select(func.coalesce(func.sum(PostingRow.amount), 0))
            .join(TransactionRow, TransactionRow.seq == PostingRow.transaction_seq)
            .where(PostingRow.destination_account_id == account)
            .where(TransactionRow.effective_date <= as_of)
        )
    return int(total or 0)


def read_times(engine: Engine, dates: list[date], sum_reads: int) -> tuple[float, float]:
    """Mean seconds per as-of read through the ledger, and per summed read."""
    with UnitOfWork(engine, write=False) as uow:
        for d in dates[:50]:  # warm the connection and caches
            book.balance(uow.ledger, ACCOUNT, d)
        started = time.perf_counter()
        kept = [book.balance(uow.ledger, ACCOUNT, d) for d in dates]
        per_read = (time.perf_counter() - started) / len(dates)
    started = time.perf_counter()
    old = [summed(engine, d) for d in dates[:sum_reads]]
    per_sum = (time.perf_counter() - started) / sum_reads
    if old != kept[:sum_reads]:
        raise SystemExit("the kept days and the postings disagree")
    return per_read, per_sum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=2_000)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create databases on")
    args = parser.parse_args()
    chooser = random.Random(17)
    dates = [START + timedelta(days=chooser.randrange(DAYS + 30)) for _ in range(args.reads)]
    results = []
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_urls(args.pg, Path(folder), ["small", "large"]) as urls,
    ):
        for url, size in zip(urls, (args.small, args.large), strict=True):
            engine = connect(url)
            upgrade(engine)
            started = time.perf_counter()
            build(engine, size)
            print(f"built {size:,} postings in {time.perf_counter() - started:.1f} s", flush=True)
            results.append((size, *read_times(engine, dates, sum_reads=50)))
            engine.dispose()
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend}: balance of one account as of {args.reads:,} random dates")
    for size, per_read, per_sum in results:
        print(
            f"  {size:>10,} postings: as-of {per_read * 1e6:8.1f} µs/read, "
            f"summed from postings {per_sum * 1e6:10.1f} µs/read"
        )
    (_, small, small_sum), (_, large, large_sum) = results
    print(f"  ratio large/small: as-of {large / small:.2f}x, summed {large_sum / small_sum:.2f}x")


if __name__ == "__main__":
    main()
