"""A national year on PostgreSQL with more payees than one statement may carry parameters
(65,535): the roster, grades, appropriation, draft batch, approval and payment all go
through, to the fen. The parameter limit broke rosters past about 7,300 studios and
batches past 65,535 payees (issue 17); this keeps it from coming back. Speed is
measured in benchmarks/year_end.py, not here."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.batches import disbursement
from ledger.books import book
from ledger.funds import fund_services
from ledger.registry import roster_services
from ledger.registry.policy import NOTICE_2024
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from schema.db import UnitOfWork
from schema.tables import BatchLineRow, PostingRow
from tests.fakes import approver_id_number

STUDIOS = 7_300  # × 9 payees = 65,700 batch lines, past 65,535
YEAR = 2025
ON = date(YEAR, 12, 31)
CLERK = SCHEDULER_USER


def _id_number(n: int) -> str:
    first17 = f"150627{date(1960, 1, 1) + timedelta(days=n // 1000):%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def national_roster(count: int) -> tuple[list[Studio], list[PersonInput], list[MembershipInput]]:
    studios, people, places = [], [], []
    for s in range(count):
        code = f"GJ-{s + 1:06d}"
        studios.append(Studio(code, f"第{s + 1}名师工作室", "subject", f"第{s % 500}中学", YEAR))
        for k in range(9):  # a host and eight members, each from another school
            n = s * 9 + k
            people.append(PersonInput(_id_number(n), f"教师{n}", f"第{(s + k) % 500}中学"))
            role = "host" if k == 0 else "member"
            places.append(MembershipInput(code, people[-1].id_number, role, date(YEAR, 1, 1)))
    return studios, people, places


def _run(engine: Engine, action: object) -> object:
    with UnitOfWork(engine) as uow:
        result = action(uow)  # type: ignore[operator]
        uow.commit()
    return result


def national_year(engine: Engine, count: int) -> list[Studio]:
    """``count`` studios of a host and eight members each, graded, funded, with a
    policy whose quota takes them all, two approvers and a cashier: ready for the year's
    batch (:func:`disbursement.create` for ``YEAR`` on ``ON``)."""
    national = replace(
        NOTICE_2024,
        version=f"national-{YEAR}",
        year=YEAR,
        quotas={"principal": 0, "homeroom": 0, "subject": count},
    )
    studios, people, places = national_roster(count)

    def set_up(uow: UnitOfWork) -> None:
        users.add_user(uow, "admin", "admin", by=None)
        roster_services.add_policy(uow, national, "admin")
        for n, name in enumerate(("boss1", "boss2")):
            users.add_user(uow, name, "approver", by=None, id_number=approver_id_number(n))
        users.add_user(uow, "cashier1", "cashier", by=None, id_number=approver_id_number(5))
        roster_services.save_roster(uow, studios, people, places, by=CLERK)
        fund_services.appropriate(uow, YEAR, date(YEAR, 1, 2), by=CLERK)
        roster_services.save_grades(
            uow, [Grade(YEAR, s.code, "", "qualified") for s in studios], by=CLERK
        )

    _run(engine, set_up)
    return studios


@pytest.mark.slow
@pytest.mark.parametrize("fresh_engine", ["postgresql"], indirect=True)
def test_a_national_year_past_the_parameter_limit(engine: Engine) -> None:
    studios = national_year(engine, STUDIOS)
    created = _run(engine, lambda uow: disbursement.create(uow, YEAR, CLERK, ON))
    batch = created.batch  # type: ignore[attr-defined]
    assert batch.line_count == STUDIOS * 9 == 65_700  # read back in chunks, never whole
    # a host 10,000 元 and eight members 5,000 元 each: the studio's whole 50,000 元
    assert batch.gross == STUDIOS * 5_000_000
    assert batch.tax == STUDIOS * (160_000 + 8 * 80_000)  # 1,600 and 800 元 withheld
    assert batch.approvals_needed == 2
    for approver in ("boss1", "boss2"):
        _run(engine, lambda uow, a=approver: disbursement.approve(uow, batch.id, a, ON))
    paid = _run(engine, lambda uow: disbursement.confirm(uow, batch.id, "cashier1", ON))
    assert paid.batch.state == "paid"  # type: ignore[attr-defined]

    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, "bank:disbursed") == batch.gross - batch.tax
        assert book.balance(uow.ledger, "tax:withheld") == batch.tax
        assert book.balance(uow.ledger, "source:finance") == -STUDIOS * 2_500_000
        funds = uow.ledger.current_balances(
            [
                f"studio:{s.code}:fund:{source}"
                for s in studios
                for source in ("finance", "edu_fund")
            ]
        )
        assert set(funds.values()) == {0}
        assert book.balance(uow.ledger, "studio:GJ-007300:fund:finance", date(YEAR, 6, 30)) == (
            2_500_000
        )
        paid_lines = uow.session.scalar(
            select(func.count()).where(
                BatchLineRow.status == "paid", BatchLineRow.batch_id == batch.id
            )
        )
        postings = uow.session.scalar(select(func.count()).select_from(PostingRow))
        report = book.verify(uow.ledger)
    assert paid_lines == 65_700
    # appropriation 2 per studio; approval 2 per line (fund → payable per source);
    # payment 2 per line (payable → bank, payable → tax)
    assert postings == STUDIOS * 2 + 65_700 * 2 + 65_700 * 2
    assert report.ok, report.problems()
