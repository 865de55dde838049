"""The ledger on a real database: posting, refusals that write nothing, reversals,
idempotency, vouchers, balances as of a date, and tamper evidence."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import (
    IdempotencyConflictError,
    InvalidInputError,
    NotFoundError,
    OverdraftError,
    ReversalError,
    ValidationError,
)
from schema.db import UnitOfWork
from schema.ledger_store import SqlLedgerStore
from schema.tables import AccountRow, PostingRow, TransactionRow

FUND = "studio:HJ01:fund:finance"
EXPENSE = "expense:training:studio:HJ01"
P1 = "studio:HJ01:payable:P000001"


def appropriation(
    key: str = "appr-2024-HJ01", amount: int = 2_500_000, on: date = date(2024, 1, 2)
) -> NewTransaction:
    return NewTransaction(
        key, on, "2024年度业务经费拨款", (Posting("source:finance", FUND, amount),)
    )


def spend(key: str, amount: int, on: date = date(2024, 3, 1)) -> NewTransaction:
    return NewTransaction(key, on, "培训费", (Posting(FUND, EXPENSE, amount),))


def post(engine: Engine, *requests: NewTransaction) -> list:  # type: ignore[type-arg]
    with UnitOfWork(engine) as uow:
        result = book.post(uow.ledger, list(requests))
        uow.commit()
    return result


def balance(engine: Engine, address: str, as_of: date | None = None) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return book.balance(uow.ledger, address, as_of)


def count(engine: Engine, table: type) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_an_appropriation_moves_money_and_keeps_balances(engine: Engine) -> None:
    [t] = post(engine, appropriation())
    assert (t.seq, str(t.voucher)) == (1, "记-2024-01-0001")
    assert balance(engine, FUND) == 2_500_000
    assert balance(engine, "source:finance") == -2_500_000


def test_a_refused_overdraft_writes_nothing(engine: Engine) -> None:
    post(engine, appropriation(amount=100_000))
    with pytest.raises(OverdraftError) as refused:
        post(engine, spend("s1", 100_001))
    assert refused.value.account == FUND
    assert (refused.value.day, refused.value.shortfall) == (date(2024, 3, 1), 1)
    assert "271101 专项资金—财政拨款—HJ01 2024-03-01 日终余额将为 -0.01 元" in str(refused.value)
    assert balance(engine, FUND) == 100_000
    assert count(engine, TransactionRow) == 1
    assert count(engine, PostingRow) == 1
    with UnitOfWork(engine, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(AccountRow)) == 2


def test_a_batch_is_posted_whole_or_not_at_all(engine: Engine) -> None:
    post(engine, appropriation(amount=100_000))
    with pytest.raises(OverdraftError):
        # the first two fit, the third would overdraw: none of them is kept
        post(engine, spend("s1", 40_000), spend("s2", 40_000), spend("s3", 40_000))
    assert balance(engine, FUND) == 100_000
    assert count(engine, TransactionRow) == 1
    with UnitOfWork(engine, write=False) as uow:
        assert book.verify(uow.ledger).ok


def test_a_failure_mid_transaction_leaves_nothing(engine: Engine) -> None:
    post(engine, appropriation())
    with UnitOfWork(engine) as uow:
        book.post(uow.ledger, [spend("s1", 1_000)])
        # the unit of work ends without commit, as when the caller fails after posting
    assert balance(engine, FUND) == 2_500_000
    assert count(engine, TransactionRow) == 1
    # and the voucher number that was not kept is used by the next write: no gap
    [t] = post(engine, spend("s2", 1_000))
    assert str(t.voucher) == "记-2024-03-0001"


def test_invalid_transactions_are_refused_with_every_field(engine: Engine) -> None:
    bad = NewTransaction("k", date(2024, 1, 2), "", (Posting("source:finance", "nowhere", -1),))
    with pytest.raises(InvalidInputError) as refused:
        post(engine, bad)
    assert [e.field for e in refused.value.errors] == [
        "memo",
        "postings[0].amount",
        "postings[0].destination",
    ]
    assert count(engine, TransactionRow) == 0


def test_repeating_an_idempotency_key_returns_the_first_result(engine: Engine) -> None:
    [first] = post(engine, appropriation())
    [again] = post(engine, appropriation())
    assert again == first
    assert balance(engine, FUND) == 2_500_000
    assert count(engine, TransactionRow) == 1


def test_a_key_repeated_within_one_call_is_posted_once(engine: Engine) -> None:
    first, second = post(engine, appropriation(), appropriation())
    assert first == second
    assert balance(engine, FUND) == 2_500_000


def test_the_same_key_with_other_content_is_refused(engine: Engine) -> None:
    post(engine, appropriation())
    with pytest.raises(IdempotencyConflictError):
        post(engine, appropriation(amount=2_500_001))
    with pytest.raises(IdempotencyConflictError):
        post(engine, spend("x", 1), spend("x", 2))
    assert balance(engine, FUND) == 2_500_000


def test_voucher_numbers_are_gapless_per_month_in_recording_order(engine: Engine) -> None:
    posted = post(
        engine,
        appropriation("a24", on=date(2024, 1, 2)),
        appropriation("a25", on=date(2025, 1, 2)),
        spend("s24", 100, on=date(2024, 6, 20)),
        spend("s25", 100, on=date(2025, 6, 1)),
    )
    # dated back within June: it follows the June voucher recorded before it
    posted += post(engine, spend("s24b", 100, on=date(2024, 6, 3)))
    posted += post(engine, spend("s24c", 100, on=date(2024, 7, 1)))
    assert [str(t.voucher) for t in posted] == [
        "记-2024-01-0001",
        "记-2025-01-0001",
        "记-2024-06-0001",
        "记-2025-06-0001",
        "记-2024-06-0002",
        "记-2024-07-0001",
    ]
    assert [t.seq for t in posted] == [1, 2, 3, 4, 5, 6]


def test_balances_as_of_a_date_count_postings_effective_by_then(engine: Engine) -> None:
    post(
        engine,
        appropriation(),
        spend("s1", 300_000, on=date(2024, 3, 1)),
        spend("s2", 200_000, on=date(2024, 6, 30)),
    )
    assert balance(engine, FUND, date(2024, 1, 1)) == 0
    assert balance(engine, FUND, date(2024, 1, 2)) == 2_500_000
    assert balance(engine, FUND, date(2024, 6, 29)) == 2_200_000
    assert balance(engine, FUND, date(2024, 12, 31)) == 2_000_000
    assert balance(engine, FUND) == 2_000_000
    assert balance(engine, EXPENSE, date(2024, 6, 30)) == 500_000


def test_an_account_never_used_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        balance(engine, "studio:HJ99:fund:finance")


def test_a_reversal_restores_balances_and_cannot_be_repeated(engine: Engine) -> None:
    [original] = post(engine, appropriation())
    with UnitOfWork(engine) as uow:
        reversal = book.reverse(
            uow.ledger, original.seq, idempotency_key="rev-1", effective_date=date(2024, 2, 1)
        )
        uow.commit()
    assert reversal.request.reverses == original.seq
    assert balance(engine, FUND) == 0
    assert balance(engine, "source:finance") == 0
    assert balance(engine, FUND, date(2024, 1, 31)) == 2_500_000
    with UnitOfWork(engine) as uow, pytest.raises(ReversalError, match="已冲销过"):
        book.reverse(
            uow.ledger, original.seq, idempotency_key="rev-2", effective_date=date(2024, 2, 1)
        )
    with UnitOfWork(engine) as uow, pytest.raises(ReversalError, match="本身是冲销凭证"):
        book.reverse(
            uow.ledger, reversal.seq, idempotency_key="rev-3", effective_date=date(2024, 2, 1)
        )
    assert count(engine, TransactionRow) == 2


def _three_lines(engine: Engine) -> int:
    """One voucher paying three people from the fund; its sequence number."""
    post(engine, appropriation())
    [voucher] = post(
        engine,
        NewTransaction(
            "approve-batch-1",
            date(2024, 12, 20),
            "2024年度劳务补贴审批转应付（批次#1，3人）",
            tuple(
                Posting(FUND, f"studio:HJ01:payable:P00000{n}", 100_000 * n, f"第{n}行 教师{n}")
                for n in (1, 2, 3)
            ),
        ),
    )
    return int(voucher.seq)


def test_a_voucher_is_reversed_a_posting_at_a_time_each_once(engine: Engine) -> None:
    seq = _three_lines(engine)
    assert balance(engine, FUND) == 2_500_000 - 600_000
    with UnitOfWork(engine) as uow:
        second = book.reverse(
            uow.ledger,
            seq,
            idempotency_key="return-2",
            effective_date=date(2025, 1, 5),
            positions=[1],
        )
        uow.commit()
    assert second.postings == (
        Posting("studio:HJ01:payable:P000002", FUND, 200_000, "第2行 教师2", 1),
    )
    assert str(second.voucher) == "记-2025-01-0001"
    assert (balance(engine, FUND), balance(engine, "studio:HJ01:payable:P000002")) == (
        2_500_000 - 400_000,
        0,
    )
    with UnitOfWork(engine) as uow, pytest.raises(ReversalError, match="序号为 1 的分录已冲销过"):
        book.reverse(
            uow.ledger,
            seq,
            idempotency_key="again",
            effective_date=date(2025, 1, 5),
            positions=[1],
        )
    with UnitOfWork(engine) as uow, pytest.raises(ReversalError, match="已冲销过"):
        book.reverse(uow.ledger, seq, idempotency_key="all", effective_date=date(2025, 1, 5))
    with UnitOfWork(engine) as uow:
        book.reverse(
            uow.ledger,
            seq,
            idempotency_key="rest",
            effective_date=date(2025, 1, 6),
            positions=[0, 2],
        )
        uow.commit()
    assert balance(engine, FUND) == 2_500_000
    with UnitOfWork(engine, write=False) as uow:
        assert uow.ledger.reversed_positions(seq) == {0, 1, 2}
        assert book.verify(uow.ledger).ok


def test_a_reversal_must_mirror_the_posting_it_names(engine: Engine) -> None:
    seq = _three_lines(engine)
    half = NewTransaction(
        "half",
        date(2025, 1, 5),
        "冲销一半",
        (Posting("studio:HJ01:payable:P000002", FUND, 100_000, reverses=1),),
        reverses=seq,
    )
    with pytest.raises(ReversalError, match="须原样退回其序号为 1 的分录"):
        post(engine, half)
    with pytest.raises(InvalidInputError, match=r"分录第1项 冲销原分录"):
        post(engine, NewTransaction("loose", date(2025, 1, 5), "x", half.postings))
    assert count(engine, TransactionRow) == 2


def test_the_database_refuses_to_reverse_a_posting_twice(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seq = _three_lines(engine)
    with UnitOfWork(engine) as uow:
        book.reverse(
            uow.ledger, seq, idempotency_key="r1", effective_date=date(2025, 1, 5), positions=[0]
        )
        uow.commit()
    # the payable holds money again, so only the reversal rule stands in the way
    post(engine, NewTransaction("top-up", date(2025, 1, 6), "补足", (Posting(FUND, P1, 100_000),)))
    # code that forgot to look: the unique (reverses_seq, reverses_position) still refuses
    monkeypatch.setattr(SqlLedgerStore, "reversed_positions", lambda _self, _seq: set())
    with UnitOfWork(engine) as uow, pytest.raises(IntegrityError):
        book.reverse(
            uow.ledger, seq, idempotency_key="r2", effective_date=date(2025, 1, 6), positions=[0]
        )
    monkeypatch.undo()
    assert balance(engine, FUND) == 2_500_000 - 600_000
    assert balance(engine, P1) == 100_000


def test_a_reversal_that_would_overdraw_is_refused(engine: Engine) -> None:
    [original] = post(engine, appropriation(amount=100_000))
    post(engine, spend("s1", 60_000))
    with UnitOfWork(engine) as uow, pytest.raises(OverdraftError):
        book.reverse(
            uow.ledger, original.seq, idempotency_key="rev", effective_date=date(2024, 4, 1)
        )
    assert balance(engine, FUND) == 40_000


def test_postings_cannot_be_updated_or_deleted_in_the_database(engine: Engine) -> None:
    post(engine, appropriation())
    for statement in (
        "UPDATE postings SET amount = 1",
        "DELETE FROM postings",
        "UPDATE transactions SET memo = 'x'",
        "DELETE FROM transactions",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert balance(engine, FUND) == 2_500_000


def test_the_database_refuses_a_guarded_negative_balance(engine: Engine) -> None:
    post(engine, appropriation())
    with pytest.raises(DBAPIError, match="overdraft_guard"), engine.begin() as connection:
        connection.execute(text(f"UPDATE accounts SET balance = -1 WHERE address = '{FUND}'"))


def _disable_append_only(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER postings_no_update"))
        else:
            connection.execute(text("ALTER TABLE postings DISABLE TRIGGER postings_append_only"))


def test_tampering_with_a_stored_amount_is_found_by_verify(engine: Engine) -> None:
    post(engine, appropriation(), spend("s1", 1_000), spend("s2", 2_000), spend("s3", 3_000))
    with UnitOfWork(engine, write=False) as uow:
        clean = book.verify(uow.ledger)
    assert clean.ok
    assert clean.transactions == 4

    _disable_append_only(engine)  # what someone with database access could do
    with engine.begin() as connection:
        connection.execute(text("UPDATE postings SET amount = 2500 WHERE transaction_seq = 3"))

    with UnitOfWork(engine, write=False) as uow:
        report = book.verify(uow.ledger)
    assert not report.ok
    assert report.broken_link is not None
    assert (report.broken_link.seq, str(report.broken_link.voucher)) == (3, "记-2024-03-0002")
    # the kept balances no longer match the postings either
    assert {m.address for m in report.mismatches} == {FUND, EXPENSE}


def _disable_all_append_only(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in ("transactions", "postings"):
            if engine.dialect.name == "sqlite":
                for action in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER {table}_no_{action}"))
            else:
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _verify(engine: Engine, *anchors: book.Anchor) -> book.VerifyReport:
    with UnitOfWork(engine, write=False) as uow:
        return book.verify(uow.ledger, anchors)


def test_a_deleted_tail_is_caught_by_the_chain_head_and_by_an_anchor(engine: Engine) -> None:
    post(engine, appropriation(), spend("s1", 1_000), spend("s2", 2_000), spend("s3", 3_000))
    clean = _verify(engine)
    assert clean.ok
    printed = clean.anchor  # as a statement or a period close prints it
    assert printed is not None
    assert printed.seq == 4
    with UnitOfWork(engine, write=False) as uow:
        third = uow.ledger.get(3)

    _disable_all_append_only(engine)  # someone with database access deletes the last one
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM postings WHERE transaction_seq = 4"))
        connection.execute(text("DELETE FROM transactions WHERE seq = 4"))
    cut = _verify(engine)
    assert not cut.ok
    assert cut.head_mismatch is not None
    assert "链头记为第4笔" in cut.head_mismatch

    # ... and fixes up the chain head and the kept balances: the ledger is consistent
    # again, and only an anchor kept outside the database shows what is missing
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE chain_head SET last_seq = 3, last_hash = :h"), {"h": third.hash}
        )
        connection.execute(
            text("UPDATE accounts SET balance = balance + 3000 WHERE address = :a"), {"a": FUND}
        )
        connection.execute(
            text("UPDATE accounts SET balance = balance - 3000 WHERE address = :a"),
            {"a": EXPENSE},
        )
    days_left = _verify(engine)  # the accounts' days still hold transaction 4's 3,000
    assert sorted(str(m) for m in days_left.day_mismatches) == [
        f"{EXPENSE} 2024-03-01：记存日终余额 6000 分，按分录应为 3000 分",
        f"{FUND} 2024-03-01：记存日终余额 2494000 分，按分录应为 2497000 分",
    ]
    with engine.begin() as connection:
        for address, change in ((FUND, 3000), (EXPENSE, -3000)):
            connection.execute(
                text(
                    "UPDATE daily_balances SET moved = moved + :c, closing = closing + :c "
                    "WHERE day = '2024-03-01' "
                    "AND account_id = (SELECT id FROM accounts WHERE address = :a)"
                ),
                {"a": address, "c": change},
            )
    # what is left to see: the append-only triggers it had to switch off (GUARD:) ...
    mended = _verify(engine)
    assert mended.missing_guards == _append_only_guards(engine)
    assert [p for p in mended.problems() if not p.startswith("GUARD:")] == []
    # ... and an anchor kept outside the database
    anchored = _verify(engine, printed)
    assert not anchored.ok
    assert anchored.anchor_failures == (
        "锚点 4：账簿中已没有第4笔交易，账簿被截断或回滚到更早的副本",
    )
    assert _verify(engine, book.Anchor(3, third.hash)).anchor_failures == ()  # an older one holds


def _append_only_guards(engine: Engine) -> tuple[str, ...]:
    if engine.dialect.name == "sqlite":
        return tuple(
            f"trigger {t}_no_{a}"
            for t in ("transactions", "postings")
            for a in ("update", "delete")
        )
    return (  # PostgreSQL switches a table's triggers off together
        "trigger transactions_append_only",
        "trigger postings_append_only",
        "trigger transactions_closed_period",
        "trigger transactions_dated_ahead",
    )


def test_verify_names_a_trigger_switched_off_or_dropped(engine: Engine) -> None:
    """The books rely on the database refusing what the ledger refuses; a rule it no
    longer keeps is a finding (GUARD:) even before anything is written around it."""
    post(engine, appropriation())
    assert _verify(engine).ok
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER transactions_dated_ahead"))
        else:
            connection.execute(text("ALTER TABLE transactions DISABLE TRIGGER USER"))
    report = _verify(engine)
    assert not report.ok
    expected = (
        ("trigger transactions_dated_ahead",)
        if engine.dialect.name == "sqlite"
        else (
            "trigger transactions_append_only",
            "trigger transactions_closed_period",
            "trigger transactions_dated_ahead",
        )
    )
    assert report.missing_guards == expected
    assert report.problems() == [
        f"GUARD: 数据库缺少或停用了 {g}，数据库本身不再守护这条规则" for g in expected
    ]


def test_an_anchor_is_read_as_printed_and_a_bad_one_is_named() -> None:
    assert book.parse_anchor(" 7:" + "AB" * 32) == book.Anchor(7, "ab" * 32)
    for bad in ("7", "7:abc", "0:" + "a" * 64, "x:" + "a" * 64):
        with pytest.raises(ValidationError, match="锚点"):
            book.parse_anchor(bad)


def test_verify_finds_a_balance_changed_behind_the_ledgers_back(engine: Engine) -> None:
    post(engine, appropriation())
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE accounts SET balance = 1 WHERE address = '{FUND}'"))
    with UnitOfWork(engine, write=False) as uow:
        report = book.verify(uow.ledger)
    assert report.broken_link is None
    assert [(m.address, m.kept, m.derived) for m in report.mismatches] == [(FUND, 1, 2_500_000)]


def test_a_recording_time_with_a_time_zone_is_stored_in_utc_and_verifies(engine: Engine) -> None:
    shanghai = timezone(timedelta(hours=8))
    with UnitOfWork(engine) as uow:
        [t] = book.post(
            uow.ledger,
            [appropriation()],
            now=datetime(2024, 1, 2, 9, 0, 0, 123456, tzinfo=shanghai),
        )
        uow.commit()
    assert t.recorded_at == datetime(2024, 1, 2, 1, 0, 0, 123456)
    with UnitOfWork(engine, write=False) as uow:
        assert uow.ledger.get(t.seq) == t
        assert book.verify(uow.ledger).ok


def test_a_voucher_posted_in_chunks_is_stored_whole_and_verifies(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,500 postings sent as a chunk of 2,100 (past the size PostgreSQL takes by COPY) and
    one of 400, their 2,501 accounts guarded and written 700 at a time while the store's
    read of their totals streams: stored in order under one voucher, the chain intact,
    every balance and day kept as a whole voucher would keep them."""
    monkeypatch.setattr(book, "ACCOUNTS_AT_A_TIME", 700)
    post(engine, appropriation(amount=2_500 * 100))
    payables = [f"studio:HJ01:payable:P{n:06d}" for n in range(2_500)]
    postings = [Posting(FUND, p, 100, f"教师{n}转应付") for n, p in enumerate(payables)]
    header = NewTransaction("batch:1:approve", date(2024, 3, 1), "审批转应付", ())
    with UnitOfWork(engine) as uow:
        recorded = book.post_in_chunks(
            uow.ledger, header, lambda: (postings[:2_100], postings[2_100:]), by="王局长"
        )
        uow.commit()
    with UnitOfWork(engine, write=False) as uow:
        stored = uow.ledger.get(recorded.seq)
        assert stored is not None
        assert stored.postings == tuple(postings)
        assert (stored.hash, stored.voucher, stored.recorded_by) == (
            recorded.hash,
            recorded.voucher,
            "王局长",
        )
        assert book.verify(uow.ledger).ok
    assert balance(engine, FUND) == 0
    assert balance(engine, payables[2_499], date(2024, 3, 1)) == 100
    assert balance(engine, payables[0], date(2024, 2, 29)) == 0
    assert count(engine, PostingRow) == 2_501


def test_a_voucher_in_chunks_that_leaves_a_fund_short_is_refused_and_nothing_is_kept(
    engine: Engine,
) -> None:
    """The postings are written before the accounts are guarded: the refusal rolls them
    back with the unit of work, and the ledger is as it was."""
    post(engine, appropriation(amount=1_000))
    postings = [Posting(FUND, f"studio:HJ01:payable:P{n:06d}", 300) for n in range(4)]
    header = NewTransaction("batch:1:approve", date(2024, 3, 1), "审批转应付", ())
    with pytest.raises(OverdraftError) as short, UnitOfWork(engine) as uow:
        book.post_in_chunks(uow.ledger, header, lambda: (postings[:3], postings[3:]))
    assert "日终余额将为 -2.00 元，短缺 2.00 元" in str(short.value)
    assert (count(engine, PostingRow), count(engine, TransactionRow)) == (1, 1)
    assert balance(engine, FUND) == 1_000
    with UnitOfWork(engine, write=False) as uow:
        assert book.verify(uow.ledger).ok
