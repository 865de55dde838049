"""Benchmark: the as-of guard's cost on a post, with few and with many kept days.

Every write dated D reads the kept days of each account it touches from D on (it must
rewrite their closings anyway) and, with the guard, refuses it when one of them would
close below zero (``ledger.book._guard``). This times posting backdated expenses through
``ledger.book.post`` with the guard and, beside it in the same run, with the guard
switched off, on two ledgers:

- ``small``: the spending fund has 1,000 kept days (every day of 2024-2026 but a few)
  and the table holds nothing else (1,000 kept days);
- ``large``: the same fund among ``--accounts`` - 1 others of 1,000 days each
  (1,000,000 kept days by default).

The kept days are written straight into the tables (accounts and days only: the guard
and the write read nothing else), so building the large ledger takes seconds, not the
hour a million postings would. Each timed post is one expense of 1 元 from the fund,
dated a random day of 2024-2026, so it reads and rewrites the fund's days from then on
(about 500 on average). Prints the mean milliseconds per post and the ratios.

    python benchmarks/as_of_guard.py                    # SQLite files in a temp folder
    python benchmarks/as_of_guard.py --pg URL           # PostgreSQL server

Run by hand; results go in BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from scratch import scratch_urls
from sqlalchemy import Engine, insert, select

from ledger.books import book
from ledger.books.chain_keys import first_ring
from ledger.books.postings import NewTransaction, Posting, utc_now
from schema.db import UnitOfWork, connect
from schema.keys import RING_VARIABLE
from schema.migrate import upgrade
from schema.tables import AccountRow, DailyBalanceRow

os.environ.setdefault(RING_VARIABLE, first_ring(0).env_text())

FUND = "studio:GJ-000001:fund:finance"
EXPENSE = "expense:materials:studio:GJ-000001"
START = date(2024, 1, 1)
DAYS = 1_000
DAILY = 100_000  # each day brings 1,000 元: no backdated 1 元 expense is ever refused


def build(engine: Engine, accounts: int, chunk: int = 50_000) -> None:
    """``accounts`` fund accounts (the first is :data:`FUND`), each with :data:`DAYS`
    consistent kept days and its kept balance the last day's closing."""
    opened = utc_now()
    with engine.begin() as connection:
        connection.execute(
            insert(AccountRow),
            [
                {
                    "address": FUND if n == 0 else f"studio:GJ-{n + 1:06d}:fund:finance",
                    "kind": "fund",
                    "may_go_negative": False,
                    "balance": DAILY * DAYS,
                    "opened_at": opened,
                }
                for n in range(accounts)
            ],
        )
        ids = list(connection.scalars(select(AccountRow.id).order_by(AccountRow.id)))
        rows: list[dict[str, object]] = []
        for account in ids:
            for d in range(DAYS):
                rows.append(
                    {
                        "account_id": account,
                        "day": START + timedelta(days=d),
                        "moved": DAILY,
                        "closing": DAILY * (d + 1),
                    }
                )
                if len(rows) == chunk:
                    connection.execute(insert(DailyBalanceRow), rows)
                    rows = []
        if rows:
            connection.execute(insert(DailyBalanceRow), rows)


def _unguarded(state: object, days: object) -> None:
    """The guard switched off: the days are read and rewritten, nothing is checked."""
    del state, days


def timed_posts(engine: Engine, days: list[date], tag: str) -> list[float]:
    """Seconds for each backdated expense, one unit of work each, as a service posts."""
    times = []
    for i, on in enumerate(days):
        request = NewTransaction(f"{tag}:{i}", on, "资料费", (Posting(FUND, EXPENSE, 100),))
        started = time.perf_counter()
        with UnitOfWork(engine) as uow:
            book.post(uow.ledger, [request])
            uow.commit()
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server to create databases on")
    args = parser.parse_args()
    chooser = random.Random(29)
    guarded = book._guard
    results: dict[tuple[str, bool], float] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_urls(args.pg, Path(folder), ["small", "large"]) as urls,
    ):
        for url, (name, accounts) in zip(
            urls, (("small", 1), ("large", args.accounts)), strict=True
        ):
            engine = connect(url)
            upgrade(engine)
            started = time.perf_counter()
            build(engine, accounts)
            print(
                f"{name}: {accounts * DAYS:,} kept days built in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            days = [START + timedelta(days=chooser.randrange(DAYS)) for _ in range(args.posts)]
            timed_posts(engine, days[:20], f"{name}:warm")
            for rounds in range(2):  # interleaved, so drift hits both alike
                for guard in (True, False):
                    book._guard = guarded if guard else _unguarded
                    spent = timed_posts(engine, days, f"{name}:{guard}:{rounds}")
                    results.setdefault((name, guard), 0.0)
                    results[(name, guard)] += statistics.mean(spent) / 2
            book._guard = guarded
            engine.dispose()
    backend = "PostgreSQL" if args.pg else "SQLite"
    print(f"{backend}: a backdated 1 元 expense, mean of {2 * args.posts} posts each")
    for name in ("small", "large"):
        on, off = results[(name, True)], results[(name, False)]
        print(
            f"  {name:5}: guard {on * 1e3:7.2f} ms/post, no guard {off * 1e3:7.2f} ms/post, "
            f"guard/no guard {on / off:.2f}×"
        )
    print(
        f"  large/small with the guard: {results[('large', True)] / results[('small', True)]:.2f}×"
    )


if __name__ == "__main__":
    main()
