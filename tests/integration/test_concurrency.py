"""Concurrent writers: separate processes and threads, each with its own
connection, race on one account and on one idempotency key. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import OverdraftError
from schema.db import UnitOfWork, connect
from schema.tables import TransactionRow

FUND = "studio:HJ01:fund:finance"
RACERS = 6

pytestmark = pytest.mark.slow


def _fund(engine: Engine, amount: int) -> None:
    with UnitOfWork(engine) as uow:
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "appr", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, amount),)
                )
            ],
        )
        uow.commit()


def _spend_all(url: str, racer: int, start: multiprocessing.synchronize.Barrier) -> str:
    engine = connect(url)
    request = NewTransaction(
        f"spend-{racer}",
        date(2024, 3, 1),
        "劳务补贴",
        (Posting(FUND, f"studio:HJ01:payable:P{racer}", 100_000),),
    )
    start.wait()
    try:
        with UnitOfWork(engine) as uow:
            book.post(uow.ledger, [request])
            uow.commit()
    except OverdraftError:
        return "refused"
    finally:
        engine.dispose()
    return "posted"


def _racer_process(
    url: str, racer: int, start: multiprocessing.synchronize.Barrier, results: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    results.put(_spend_all(url, racer, start))


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_processes_racing_to_overdraw_one_account_exactly_one_wins(engine: Engine) -> None:
    _fund(engine, 100_000)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(target=_racer_process, args=(_url(engine), i, start, results))
        for i in range(RACERS)
    ]
    for p in processes:
        p.start()
    outcomes = sorted(results.get(timeout=120) for _ in processes)
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert outcomes == ["posted"] + ["refused"] * (RACERS - 1)
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, FUND) == 0
        assert book.verify(uow.ledger).ok


def test_threads_racing_to_overdraw_one_account_exactly_one_wins(engine: Engine) -> None:
    _fund(engine, 100_000)
    start = threading.Barrier(RACERS)
    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = sorted(pool.map(lambda i: _spend_all(_url(engine), i, start), range(RACERS)))
    assert outcomes == ["posted"] + ["refused"] * (RACERS - 1)
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, FUND) == 0


def test_threads_reusing_one_idempotency_key_write_once(engine: Engine) -> None:
    request = NewTransaction(
        "appr-2024-HJ01", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
    )
    start = threading.Barrier(RACERS)

    def post_once(_: int) -> int:
        start.wait()
        with UnitOfWork(engine) as uow:
            [t] = book.post(uow.ledger, [request])
            uow.commit()
        return t.seq

    with ThreadPoolExecutor(RACERS) as pool:
        seqs = list(pool.map(post_once, range(RACERS)))
    assert seqs == [1] * RACERS
    with UnitOfWork(engine, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(TransactionRow)) == 1
        assert book.balance(uow.ledger, FUND) == 2_500_000
