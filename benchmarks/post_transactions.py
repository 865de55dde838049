"""Benchmark: posting through the ledger service vs a bare Core executemany.

Posts N two-posting transactions through ``ledger.book.post`` (validation,
idempotency look-up, row locks, overdraft guard, vouchers, hash chain, kept
balances), then inserts the very same transaction and posting rows into a
second fresh database of the same kind with a bare SQLAlchemy Core
``executemany``, committing in the same chunks. Prints both times and the ratio.

    python benchmarks/post_transactions.py                  # SQLite files in a temp folder
    python benchmarks/post_transactions.py --pg URL         # PostgreSQL server (creates databases)

Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

from scratch import scratch_urls
from sqlalchemy import Engine, insert, select

from ledger.books import book
from ledger.books.chain_keys import first_ring
from ledger.books.postings import NewTransaction, Posting, Transaction
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.ledger_store import posting_rows, transaction_row
from schema.migrate import upgrade
from schema.tables import AccountRow, PostingRow, TransactionRow

STUDIOS = 1_000


# A fresh chain key for this run, handed down to every phase, written nowhere.
os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())


def requests(count: int) -> list[NewTransaction]:
    return [
        NewTransaction(
            idempotency_key=f"bench:{i}",
            effective_date=date(2024, 1 + i % 12, 2),
            memo="年度业务经费拨款",
            postings=(
                Posting("source:finance", f"studio:S{i % STUDIOS:04d}:fund:finance", 2_500_000),
                Posting("source:edu_fund", f"studio:S{i % STUDIOS:04d}:fund:edu_fund", 2_500_000),
            ),
            metadata={"studio": f"S{i % STUDIOS:04d}", "n": i},
        )
        for i in range(count)
    ]


def through_ledger(
    engine: Engine, all_requests: list[NewTransaction], chunk: int
) -> tuple[float, list[Transaction]]:
    posted: list[Transaction] = []
    started = time.perf_counter()
    for start in range(0, len(all_requests), chunk):
        with UnitOfWork(engine) as uow:
            posted += book.post(uow.ledger, all_requests[start : start + chunk])
            uow.commit()
    return time.perf_counter() - started, posted


def bare_insert(engine: Engine, posted: list[Transaction], chunk: int) -> float:
    addresses = sorted({a for t in posted for p in t.postings for a in (p.source, p.destination)})
    with engine.begin() as connection:
        connection.execute(
            insert(AccountRow),
            [
                {
                    "address": a,
                    "kind": a.split(":")[0],
                    "may_go_negative": a.startswith("source:"),
                    "balance": 0,
                    "opened_at": posted[0].recorded_at,
                }
                for a in addresses
            ],
        )
        ids = dict(connection.execute(select(AccountRow.address, AccountRow.id)).all())
    transaction_rows = [transaction_row(t) for t in posted]
    all_posting_rows = posting_rows(posted, ids)
    per_transaction = len(all_posting_rows) // len(transaction_rows)
    transactions_table = TransactionRow.__table__
    postings_table = PostingRow.__table__
    started = time.perf_counter()
    for start in range(0, len(transaction_rows), chunk):
        with engine.begin() as connection:
            connection.execute(insert(transactions_table), transaction_rows[start : start + chunk])
            connection.execute(
                insert(postings_table),
                all_posting_rows[start * per_transaction : (start + chunk) * per_transaction],
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument(
        "--chunk", type=int, default=1_000, help="transactions per post() call and per commit"
    )
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create databases on")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_urls(args.pg, Path(folder), ["ledger", "bare"]) as urls,
    ):
        ledger_engine, bare_engine = (connect(url) for url in urls)
        for engine in (ledger_engine, bare_engine):
            upgrade(engine)
        all_requests = requests(args.count)
        ledger_seconds, posted = through_ledger(ledger_engine, all_requests, args.chunk)
        with UnitOfWork(ledger_engine, write=False) as uow:
            if not book.verify(uow.ledger).ok:
                raise SystemExit("the ledger did not verify after the run")
        bare_seconds = bare_insert(bare_engine, posted, args.chunk)
        for engine in (ledger_engine, bare_engine):
            engine.dispose()

    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend}: {args.count} two-posting transactions, {args.chunk} per commit")
    print(f"  ledger service : {ledger_seconds:8.2f} s  ({args.count / ledger_seconds:,.0f} tx/s)")
    print(f"  bare executemany: {bare_seconds:8.2f} s  ({args.count / bare_seconds:,.0f} tx/s)")
    print(f"  ratio          : {ledger_seconds / bare_seconds:8.2f}x")


if __name__ == "__main__":
    main()
