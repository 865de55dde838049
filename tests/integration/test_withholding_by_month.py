"""Withholding by payment month, on a real database: 劳务报酬 of one payee paid in
one month is taxed as one income, counted in the month the bank's payment is
confirmed. Worked examples with 张老师, a member of HJ-S01 from January to June
and of HJ-H01 from July, owed 2,500 元 by each studio for 2024."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.batches import disbursement
from ledger.batches.batch import Batch, BatchLine
from ledger.funds import fund_services
from ledger.registry import roster_services
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from schema.db import UnitOfWork
from tests.fakes import approver_id_number

CLERK = SCHEDULER_USER  # the clerk the migrations create

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
S2 = Studio("HJ-H01", "班主任工作室", "homeroom", "第二中学", 2024)
TEACHER = "张老师"


def person(n: int, unit: str, name: str | None = None) -> PersonInput:
    first17 = f"15062519850101{n:03d}"
    return PersonInput(first17 + id_check_digit(first17), name or f"教师{n}", unit)


def run(engine: Engine, action: Callable[[UnitOfWork], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


@pytest.fixture
def two_studios(engine: Engine) -> Engine:
    zhang = person(99, "外校99", TEACHER)
    people = [zhang, person(1, "第一中学"), person(11, "第二中学")]
    people += [person(n, f"外校{n}") for n in (*range(2, 7), *range(12, 17))]
    memberships = [
        MembershipInput("HJ-S01", people[1].id_number, "host", date(2024, 1, 1)),
        MembershipInput("HJ-H01", people[2].id_number, "host", date(2024, 1, 1)),
        *(MembershipInput("HJ-S01", p.id_number, "member", date(2024, 1, 1)) for p in people[3:8]),
        *(MembershipInput("HJ-H01", p.id_number, "member", date(2024, 1, 1)) for p in people[8:]),
        MembershipInput("HJ-S01", zhang.id_number, "member", date(2024, 1, 1), date(2024, 6, 30)),
        MembershipInput("HJ-H01", zhang.id_number, "member", date(2024, 7, 1)),
    ]

    def setup(uow: UnitOfWork) -> None:
        roster_services.save_roster(uow, [S1, S2], people, memberships, by=CLERK)
        fund_services.appropriate(uow, 2024, by=CLERK)
        for n, (name, role) in enumerate(
            (("clerk", "clerk"), ("boss", "approver"), ("cashier", "cashier"))
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    return engine


def grade(engine: Engine, studio: str) -> None:
    run(
        engine,
        lambda uow: roster_services.save_grades(
            uow, [Grade(2024, studio, "", "qualified")], by=CLERK
        ),
    )


def batch_on(engine: Engine, on: date) -> Batch:
    batch = run(engine, lambda uow: disbursement.create(uow, 2024, "clerk", on)).batch
    run(engine, lambda uow: disbursement.approve(uow, batch.id, "boss", on))
    return batch


def zhang(batch: Batch) -> BatchLine:
    [line] = [x for x in batch.lines if x.gross == 250_000]
    return line


def confirm(
    engine: Engine, batch: Batch, on: date, failed: dict[int, str] | None = None
) -> disbursement.Outcome:
    return run(engine, lambda uow: disbursement.confirm(uow, batch.id, "cashier", on, failed))


def withheld(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return uow.ledger.balance("tax:withheld", None) or 0


def test_two_payments_confirmed_in_one_month_are_taxed_as_one_income(two_studios: Engine) -> None:
    grade(two_studios, "HJ-S01")
    first = batch_on(two_studios, date(2025, 3, 2))
    grade(two_studios, "HJ-H01")
    second = batch_on(two_studios, date(2025, 3, 3))
    # each batch forecasts 340 元 for her: neither payment is confirmed yet
    assert (zhang(first).tax, zhang(second).tax) == (34_000, 34_000)

    paid = confirm(two_studios, first, date(2025, 3, 5))
    assert zhang(paid.batch).current_tax == 34_000  # (2,500 − 800) × 20%
    paid = confirm(two_studios, second, date(2025, 3, 20))
    line = zhang(paid.batch)
    # 5,000 元 in March: 5,000 × 80% × 20% = 800, of which 340 were withheld already
    assert (line.tax, line.final_tax, line.final_net) == (34_000, 46_000, 204_000)
    assert f"line {line.number}: tax 340.00 → 460.00" in paid.message
    assert "tax recomputed for payments in 2025-03" in paid.message
    with UnitOfWork(two_studios, write=False) as uow:
        _, events = disbursement.show(uow, second.id)
        payment = uow.ledger.get(line.payment_seq or 0)
    assert events[-1].reason == f"line {line.number}: tax 340.00 → 460.00"
    assert payment is not None
    assert [p.amount for p in payment.postings if "张老师" in p.memo] == [204_000, 46_000]
    # the batch's totals: every other line was paid as forecast
    assert paid.batch.current_tax == paid.batch.tax + 12_000


def test_a_failed_and_returned_line_is_nobodys_income(two_studios: Engine) -> None:
    grade(two_studios, "HJ-S01")
    first = batch_on(two_studios, date(2025, 3, 2))
    line = zhang(first)
    confirm(two_studios, first, date(2025, 3, 5), {line.number: "账户已销户"})
    run(
        two_studios,
        lambda uow: disbursement.return_to_fund(
            uow, first.id, line.number, "cashier", date(2025, 3, 6)
        ),
    )
    grade(two_studios, "HJ-H01")
    second = batch_on(two_studios, date(2025, 3, 7))
    paid = confirm(two_studios, second, date(2025, 3, 20))
    # only HJ-H01's 2,500 元 reached her in March
    assert zhang(paid.batch).final_tax == 34_000


def test_a_rejected_draft_counts_for_nothing(two_studios: Engine) -> None:
    grade(two_studios, "HJ-S01")
    draft = run(two_studios, lambda uow: disbursement.create(uow, 2024, "clerk", date(2025, 3, 1)))
    run(two_studios, lambda uow: disbursement.reject(uow, draft.batch.id, "boss", "名单有误"))
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    # the rejected draft paid nothing: her two lines of this batch are her March income
    taxes = sorted(x.tax for x in both.lines if x.gross == 250_000)
    assert taxes == [40_000, 40_000]  # 800 on 5,000 元, split in proportion
    paid = confirm(two_studios, both, date(2025, 3, 5))
    assert sorted(x.final_tax or 0 for x in paid.batch.lines if x.gross == 250_000) == taxes


def test_a_reissue_is_income_of_the_month_it_is_paid(two_studios: Engine) -> None:
    grade(two_studios, "HJ-S01")
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    s1_line = next(x for x in both.lines if x.gross == 250_000 and x.studio == "HJ-S01")
    confirm(two_studios, both, date(2025, 3, 5), {s1_line.number: "户名不符"})
    before = withheld(two_studios)
    # reissued in March: forecast against March's 2,500 元 already paid (340 withheld)
    again = run(
        two_studios, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 3, 25))
    )
    [reissued] = again.lines
    assert reissued.tax == 46_000
    run(two_studios, lambda uow: disbursement.approve(uow, again.id, "boss", date(2025, 3, 26)))
    # but the bank pays it in April, when it is her only income: 340 元
    paid = confirm(two_studios, again, date(2025, 4, 2))
    [line] = paid.batch.lines
    assert (line.final_tax, line.final_net) == (34_000, 216_000)
    assert "line 1: tax 460.00 → 340.00" in paid.message
    assert withheld(two_studios) - before == 34_000
