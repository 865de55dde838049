"""A hypothesis state machine drives the real ledger with random posts, spends,
reversals and repeated keys, and checks it against a plain in-memory model:

- every kept balance equals the model's, and so does every balance as of a date
  (writes come back-dated among later ones);
- a write is refused exactly when the model says a guarded account would close some
  day below zero (the as-of guard), and then nothing of it is kept;
- the balances of all accounts sum to zero;
- no guarded account is below zero at the end of any day it moved (the kept days);
- the chain verifies at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from ledger.books import book
from ledger.books.accounts import may_go_negative
from ledger.books.postings import NewTransaction, Posting, Transaction
from ledger.errors import IdempotencyConflictError, LedgerError, OverdraftError, ReversalError
from schema.db import UnitOfWork

STUDIOS = ("HJ01", "HJ02")
SOURCES = ("finance", "edu_fund")
AMOUNTS = st.integers(min_value=1, max_value=3_000_000)


def fund(studio: str, source: str) -> str:
    return f"studio:{studio}:fund:{source}"


ACCOUNTS = [fund(s, src) for s in STUDIOS for src in SOURCES]
MOVE_DATES = (date(2024, 3, 1), date(2024, 6, 1), date(2024, 7, 1), date(2024, 9, 30))
AS_OF = (date(2024, 1, 1), date(2024, 1, 2), date(2024, 5, 31), date(2024, 7, 1), date(2025, 1, 1))
WORLD = [f"source:{src}" for src in SOURCES]


@dataclass
class Model:
    """What the ledger should hold: balances, keys already used, reversals done."""

    balances: dict[str, int] = field(default_factory=dict)
    by_key: dict[str, NewTransaction] = field(default_factory=dict)
    posted: list[Transaction] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)

    def would_overdraw(self, *writes: tuple[date, tuple[Posting, ...]]) -> bool:
        """Whether any guarded account would end any day below zero with ``writes``."""
        dated = [(t.request.effective_date, t.postings) for t in self.posted] + list(writes)
        moved: dict[str, dict[date, int]] = {}
        for on, postings in dated:
            for p in postings:
                for account, change in ((p.source, -p.amount), (p.destination, p.amount)):
                    days = moved.setdefault(account, {})
                    days[on] = days.get(on, 0) + change
        for account, days in moved.items():
            closing = 0
            for on in sorted(days):
                closing += days[on]
                if closing < 0 and not may_go_negative(account):
                    return True
        return False

    def apply(self, transaction: Transaction) -> None:
        for p in transaction.postings:
            self.balances[p.source] = self.balances.get(p.source, 0) - p.amount
            self.balances[p.destination] = self.balances.get(p.destination, 0) + p.amount
        self.by_key[transaction.request.idempotency_key] = transaction.request
        self.posted.append(transaction)
        if transaction.request.reverses is not None:
            self.reversed.add(transaction.request.reverses)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, fresh_engine: Callable[[], Engine]) -> None:
        super().__init__()
        self.fresh_engine = fresh_engine
        self.model = Model()
        self.counter = 0

    @initialize()
    def open_database(self) -> None:
        self.engine = self.fresh_engine()

    def _key(self) -> str:
        self.counter += 1
        return f"k{self.counter}"

    def _post(self, request: NewTransaction) -> None:
        expect_refusal = self.model.would_overdraw((request.effective_date, request.postings))
        try:
            with UnitOfWork(self.engine) as uow:
                [t] = book.post(uow.ledger, [request])
                uow.commit()
        except OverdraftError:
            assert expect_refusal
            return
        assert not expect_refusal
        self.model.apply(t)

    @rule(studio=st.sampled_from(STUDIOS), source=st.sampled_from(SOURCES), amount=AMOUNTS)
    def appropriate(self, studio: str, source: str, amount: int) -> None:
        self._post(
            NewTransaction(
                self._key(),
                date(2024, 1, 2),
                "拨款",
                (Posting(f"source:{source}", fund(studio, source), amount),),
            )
        )

    @rule(
        src=st.sampled_from(ACCOUNTS),
        dst=st.sampled_from(ACCOUNTS),
        amount=AMOUNTS,
        back=st.sampled_from(WORLD),
        on=st.sampled_from(MOVE_DATES),
    )
    def move(self, src: str, dst: str, amount: int, back: str, on: date) -> None:
        destination = dst if dst != src else back
        self._post(NewTransaction(self._key(), on, "调整", (Posting(src, destination, amount),)))

    @precondition(lambda self: self.model.posted)
    @rule(data=st.data())
    def repeat_a_key(self, data: st.DataObject) -> None:
        first = data.draw(st.sampled_from(self.model.posted))
        with UnitOfWork(self.engine) as uow:
            [again] = book.post(uow.ledger, [first.request])
            uow.commit()
        assert again == first

    @precondition(lambda self: self.model.posted)
    @rule(data=st.data(), amount=AMOUNTS)
    def reuse_a_key_for_other_content(self, data: st.DataObject, amount: int) -> None:
        first = data.draw(st.sampled_from(self.model.posted))
        other = NewTransaction(
            first.request.idempotency_key,
            date(2024, 1, 2),
            "另一笔",
            (Posting("source:finance", ACCOUNTS[0], amount),),
        )
        try:
            with UnitOfWork(self.engine) as uow:
                book.post(uow.ledger, [other])
                uow.commit()
        except IdempotencyConflictError:
            return
        raise AssertionError("a reused key with other content was accepted")

    @precondition(lambda self: self.model.posted)
    @rule(data=st.data(), on=st.sampled_from((date(2024, 1, 2), date(2024, 12, 1))))
    def revert(self, data: st.DataObject, on: date) -> None:
        original = data.draw(st.sampled_from(self.model.posted))
        refusable = (
            original.seq in self.model.reversed
            or original.request.reverses is not None
            or on < original.request.effective_date  # never dated before what it undoes
        )
        back = tuple(Posting(p.destination, p.source, p.amount) for p in original.postings)
        overdraws = self.model.would_overdraw((on, back))
        try:
            with UnitOfWork(self.engine) as uow:
                t = book.reverse(
                    uow.ledger,
                    original.seq,
                    idempotency_key=self._key(),
                    effective_date=on,
                )
                uow.commit()
        except ReversalError:
            assert refusable
            return
        except OverdraftError:
            assert overdraws
            return
        assert not refusable
        assert not overdraws
        self.model.apply(t)

    @rule(amounts=st.lists(AMOUNTS, min_size=2, max_size=4))
    def spend_in_one_batch(self, amounts: list[int]) -> None:
        requests = [
            NewTransaction(
                self._key(), date(2024, 7, 1), "批量支出", (Posting(ACCOUNTS[0], ACCOUNTS[1], a),)
            )
            for a in amounts
        ]
        try:
            with UnitOfWork(self.engine) as uow:
                posted = book.post(uow.ledger, requests)
                uow.commit()
        except LedgerError:
            # refused whole: the model must agree that the lot overdraws some day
            assert self.model.would_overdraw(*((r.effective_date, r.postings) for r in requests))
            return
        assert not self.model.would_overdraw(*((r.effective_date, r.postings) for r in requests))
        for t in posted:
            self.model.apply(t)

    @invariant()
    def balances_match_the_model(self) -> None:
        if not hasattr(self, "engine"):
            return
        with UnitOfWork(self.engine, write=False) as uow:
            kept = uow.ledger.kept_balances()
        assert kept == {a: self.model.balances.get(a, 0) for a in kept}
        assert all(self.model.balances.get(a, 0) == kept.get(a, 0) for a in self.model.balances)
        assert sum(kept.values()) == 0
        assert all(b >= 0 for a, b in kept.items() if not may_go_negative(a))
        with UnitOfWork(self.engine, write=False) as uow:
            days = list(uow.ledger.iter_kept_days())
        assert all(closing >= 0 for _, a, _, closing in days if not may_go_negative(a))

    @invariant()
    def as_of_balances_match_the_model(self) -> None:
        if not hasattr(self, "engine"):
            return
        for as_of in AS_OF:
            expected: dict[str, int] = {}
            for t in self.model.posted:
                if t.request.effective_date <= as_of:
                    for p in t.postings:
                        expected[p.source] = expected.get(p.source, 0) - p.amount
                        expected[p.destination] = expected.get(p.destination, 0) + p.amount
            with UnitOfWork(self.engine, write=False) as uow:
                every = uow.ledger.balances_as_of(as_of)
                one = {a: uow.ledger.balance(a, as_of) for a in every}
            assert every == {a: expected.get(a, 0) for a in every}, as_of
            assert one == every
            assert all(a in every for a in expected)

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            with UnitOfWork(self.engine, write=False) as uow:
                report = book.verify(uow.ledger)
            assert report.ok, report
            assert report.transactions == len(self.model.posted)


@pytest.mark.slow
def test_the_ledger_behaves_like_the_reference_model(fresh_engine: Callable[[], Engine]) -> None:
    run_state_machine_as_test(
        lambda: LedgerMachine(fresh_engine),
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
