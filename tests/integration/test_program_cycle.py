"""The whole program cycle on a real database, as worked examples over three years:
funding by assessment (考核发放) and the 领导小组's decision restoring a studio, carry-over
(结转), the cycle close (终结) and what it refuses, renewal (继续命名) and its refusal,
support from members' units kept apart from matching, the travel rule (含差旅费), rounds
and coded cancellation causes. Amounts to the fen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from jobs import runner
from jobs.work import SCHEDULER_USER
from ledger import program, users
from ledger.batches import disbursement
from ledger.batches.batch import Batch
from ledger.books import book
from ledger.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, ExpensePlan, Receipt
from ledger.registry import cycle_services, roster_services
from ledger.registry.policy import STUDIO_KINDS
from ledger.registry.roster import (
    ROLE_LABELS,
    STATUS_LABELS,
    Grade,
    MembershipInput,
    PersonInput,
    Studio,
    id_check_digit,
)
from ledger.workbooks import imports, statements
from schema.db import UnitOfWork
from tests.conftest import FULL_CYCLE, Clock
from tests.fakes import approver_id_number, created

CLERK = SCHEDULER_USER  # the clerk the migrations create
ADMIN, BOSS, CASHIER = "admin", "boss", "cashier"

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
H1 = Studio("HJ-H01", "班主任工作室", "homeroom", "第二中学", 2024)
S1_GONE = replace(  # its host leaves the county in September 2024
    S1,
    cancelled_on=date(2024, 9, 30),
    cancellation_cause="transferred_out",
    cancellation_reason="主持人调离本旗",
)
FINANCE, EDU = "studio:HJ-S01:fund:finance", "studio:HJ-S01:fund:edu_fund"
MATCHING, SUPPORT = "studio:HJ-S01:fund:matching", "studio:HJ-S01:fund:support"


def person(n: int, unit: str) -> PersonInput:
    first17 = f"15062519860101{n:03d}"
    return PersonInput(first17 + id_check_digit(first17), f"教师{n}", unit, "农行", f"6228{n:011d}")


HOST = person(1, "第一中学")
# six paid members: five from other schools, one from the host's
MEMBERS = [*(person(n, f"外校{n}") for n in range(2, 7)), person(7, "第一中学")]
H_HOST = person(11, "第二中学")
H_MEMBERS = [person(n, f"外校{n}") for n in range(12, 17)]
TRAINEE = person(21, "外校2")


def run(engine: Engine, action: Callable[[UnitOfWork], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


def balances(engine: Engine, *addresses: str) -> list[int]:
    with UnitOfWork(engine, write=False) as uow:
        return [uow.ledger.balance(a, None) or 0 for a in addresses]


@pytest.fixture
def program_db(engine: Engine, clock: Clock) -> Engine:
    """Two studios of round 1 (2024-2026) and users for each role; today is 1 February
    2027, after the cycle's close."""
    clock.set(FULL_CYCLE)
    people = [HOST, *MEMBERS, H_HOST, *H_MEMBERS, TRAINEE]
    places = [MembershipInput("HJ-S01", HOST.id_number, "host", date(2024, 1, 1))]
    places += [MembershipInput("HJ-S01", p.id_number, "member", date(2024, 1, 1)) for p in MEMBERS]
    places += [MembershipInput("HJ-S01", TRAINEE.id_number, "trainee", date(2024, 1, 1))]
    places += [MembershipInput("HJ-H01", H_HOST.id_number, "host", date(2024, 1, 1))]
    places += [
        MembershipInput("HJ-H01", p.id_number, "member", date(2024, 1, 1)) for p in H_MEMBERS
    ]

    def setup(uow: UnitOfWork) -> None:
        roster_services.save_roster(uow, [S1, H1], people, places, by=CLERK)
        for n, (name, role) in enumerate(
            ((BOSS, "approver"), (ADMIN, "admin"), (CASHIER, "cashier"))
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    return engine


def grade(engine: Engine, year: int, studio: str, value: str) -> None:
    run(
        engine,
        lambda uow: roster_services.save_grades(uow, [Grade(year, studio, "", value)], by=CLERK),
    )


def pay_the_year(engine: Engine, year: int, *, confirm: bool = True) -> Batch:
    """December: the year's batch prepared, approved and (unless told not to) paid."""
    batch = run(engine, lambda uow: created(uow, year, CLERK, date(year, 12, 20)))
    run(engine, lambda uow: disbursement.approve(uow, batch.batch.id, BOSS, date(year, 12, 22)))
    if confirm:
        run(
            engine,
            lambda uow: disbursement.confirm(uow, batch.batch.id, CASHIER, date(year, 12, 25)),
        )
    return batch.batch


def play_the_cycle(
    engine: Engine, grades: tuple[str, str, str], *, confirm_last: bool = True
) -> Batch:
    """2024-2026 of both studios: appropriation by assessment, HJ-S01's matching, grades
    (HJ-S01's as given, HJ-H01 合格) and the December payouts (the last one approved but,
    unless told, not paid); the last batch."""
    for year, value in zip((2024, 2025, 2026), grades, strict=True):
        report = run(engine, lambda uow, y=year: fund_services.appropriate(uow, y, by=CLERK))
        assert sorted(str(t.request.metadata["studio"]) for t in report.posted) == [
            "HJ-H01",
            "HJ-S01",
        ]
        receipt = Receipt(date(year, 3, 1), "HJ-S01", 200_000, f"{year}年配套")
        run(engine, lambda uow, r=receipt: fund_services.receive_matching(uow, [r], by=CLERK))
        grade(engine, year, "HJ-S01", value)
        grade(engine, year, "HJ-H01", "qualified")
        last = pay_the_year(engine, year, confirm=confirm_last or year < 2026)
    return last


def test_six_members_carry_10000_a_year_forward_and_the_close_returns_15000_to_each_funder(
    program_db: Engine,
) -> None:
    """50,000 a year in, 40,000 of stipends out (10,000 + 6 × 5,000): 5,000 a year of each
    source is carried over, and at the close 15,000 goes back to county finance and
    15,000 to the education foundation, the matching to the host unit, in one voucher."""
    play_the_cycle(program_db, ("qualified", "excellent", "qualified"))
    assert balances(program_db, FINANCE, EDU, MATCHING) == [1_500_000, 1_500_000, 600_000]
    with UnitOfWork(program_db, write=False) as uow:  # carried over: 5,000 a year per source
        assert [uow.ledger.balance(FINANCE, date(y, 12, 31)) for y in (2024, 2025, 2026)] == [
            500_000,
            1_000_000,
            1_500_000,
        ]
    with pytest.raises(ValidationError, match="尚未期满"):
        run(
            program_db,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2026, 12, 31), by=CLERK),
        )
    closed = run(
        program_db,
        lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
    )
    assert closed.voucher is not None
    assert {(p.source, p.destination, p.amount) for p in closed.voucher.postings} == {
        (FINANCE, "source:finance", 1_500_000),
        (EDU, "source:edu_fund", 1_500_000),
        (MATCHING, "source:unit:U000011", 600_000),  # 第一中学 by its code
    }
    assert closed.voucher.request.memo == "HJ-S01第1周期（2024-2026）终结，结余资金退回"
    assert dict(closed.cycle.returned) == {
        "finance": 1_500_000,
        "edu_fund": 1_500_000,
        "matching": 600_000,
    }
    assert balances(program_db, FINANCE, EDU, MATCHING, SUPPORT) == [0, 0, 0, 0]
    assert closed.not_renamed is False
    with UnitOfWork(program_db, write=False) as uow:
        [view] = cycle_services.cycle_views(uow, date(2027, 1, 10), ["HJ-S01"])
        assert book.verify(uow.ledger).ok
    assert (view.state, view.final_grade, view.outcome) == ("closed", "qualified", "may_renew")
    assert view.voucher == str(closed.voucher.voucher)
    # a second close finds nothing to close and writes nothing
    with pytest.raises(ValidationError, match="没有未结算的周期"):
        run(
            program_db,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 11), by=BOSS),
        )


def test_a_studio_graded_unqualified_gets_nothing_next_year_until_a_decision_restores_it(
    program_db: Engine,
) -> None:
    run(program_db, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    grade(program_db, 2024, "HJ-S01", "excellent")
    grade(program_db, 2024, "HJ-H01", "unqualified")
    report = run(program_db, lambda uow: fund_services.appropriate(uow, 2025, by=CLERK))
    assert [str(t.request.metadata["studio"]) for t in report.posted] == ["HJ-S01"]
    assert report.held == [
        (
            "HJ-H01",
            "2024年度考核不合格，按政策暂停拨付，待领导小组决定恢复",
        )
    ]
    h1 = "studio:HJ-H01:fund:finance"
    assert balances(program_db, h1) == [2_500_000]  # 2024 only
    with pytest.raises(PermissionDeniedError):
        run(
            program_db,
            lambda uow: fund_services.restore_funding(
                uow, "HJ-H01", 2025, 100, "整改到位", by=CLERK, on=date(2025, 3, 1)
            ),
        )
    with pytest.raises(InvalidInputError, match="须写明理由"):
        run(
            program_db,
            lambda uow: fund_services.restore_funding(
                uow, "HJ-H01", 2025, 100, " ", by=ADMIN, on=date(2025, 3, 1)
            ),
        )
    decision, funded = run(
        program_db,
        lambda uow: fund_services.restore_funding(
            uow,
            "HJ-H01",
            2025,
            100,
            "领导小组2025年第1次会议：整改到位，恢复拨付",
            by=ADMIN,
            on=date(2025, 3, 1),
        ),
    )
    assert (decision.decided_by, decision.percent) == (ADMIN, 100)
    assert funded is not None
    [voucher] = funded.posted
    assert voucher.request.effective_date == date(2025, 3, 1)
    assert funded.shares["HJ-H01"].basis.startswith(
        "2024年度考核不合格，经领导小组决定恢复拨付100%"
    )
    assert balances(program_db, h1) == [5_000_000]
    # the decision stands once; the appropriation run later funds nothing twice
    with pytest.raises(InvalidTransitionError, match="已有领导小组决定"):
        run(
            program_db,
            lambda uow: fund_services.restore_funding(
                uow, "HJ-H01", 2025, 100, "again", by=ADMIN, on=date(2025, 3, 2)
            ),
        )
    again = run(program_db, lambda uow: fund_services.appropriate(uow, 2025, by=CLERK))
    assert (again.posted, again.held, sorted(again.already)) == ([], [], ["HJ-H01", "HJ-S01"])
    # a studio funded by its grade needs no decision
    with pytest.raises(InvalidTransitionError, match="无需领导小组决定"):
        run(
            program_db,
            lambda uow: fund_services.restore_funding(
                uow, "HJ-S01", 2025, 100, "多余", by=ADMIN, on=date(2025, 3, 1)
            ),
        )


def test_a_missing_grade_holds_the_next_years_funding_until_it_is_recorded(
    program_db: Engine,
) -> None:
    run(program_db, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    grade(program_db, 2024, "HJ-S01", "qualified")
    report = run(program_db, lambda uow: fund_services.appropriate(uow, 2025, by=CLERK))
    assert report.held == [("HJ-H01", "2024年度考核结果未录入，暂缓拨付")]
    grade(program_db, 2024, "HJ-H01", "qualified")
    later = run(program_db, lambda uow: fund_services.appropriate(uow, 2025, by=CLERK))
    assert [str(t.request.metadata["studio"]) for t in later.posted] == ["HJ-H01"]
    assert later.total == 5_000_000


def test_a_close_is_refused_while_a_line_is_unpaid_and_allowed_once_it_is_settled(
    program_db: Engine,
) -> None:
    batch = play_the_cycle(program_db, ("qualified",) * 3, confirm_last=False)
    h1 = [line for line in batch.lines if line.studio == "HJ-H01"]
    assert [line.number for line in h1] == [1, 2, 3, 4, 5, 6]

    def close(on: date) -> cycle_services.CycleClosed:
        return run(program_db, lambda uow: cycle_services.close_cycle(uow, "HJ-H01", on, by=BOSS))

    with pytest.raises(InvalidTransitionError, match=rf"批次#{batch.id}第1行（待审批或待支付）"):
        close(date(2027, 1, 10))
    run(
        program_db,
        lambda uow: disbursement.confirm(uow, batch.id, CASHIER, date(2027, 1, 5), {2: "账户冻结"}),
    )
    with pytest.raises(InvalidTransitionError, match=rf"批次#{batch.id}第2行（银行退回未处理）"):
        close(date(2027, 1, 10))
    with UnitOfWork(program_db, write=False) as uow:  # nothing of the refusals was written
        [view] = cycle_services.cycle_views(uow, date(2027, 1, 10), ["HJ-H01"])
    assert view.state == "ended"
    run(
        program_db,
        lambda uow: disbursement.return_to_fund(uow, batch.id, 2, CASHIER, date(2027, 1, 8)),
    )
    closed = close(date(2027, 1, 10))
    # 3 × 50,000 in; 3 × (10,000 + 5 × 5,000) of stipends out, but one 5,000 came back
    assert dict(closed.cycle.returned) == {"finance": 2_500_000, "edu_fund": 2_500_000}
    assert balances(program_db, "studio:HJ-H01:fund:finance", "studio:HJ-H01:fund:edu_fund") == [
        0,
        0,
    ]


def test_a_close_is_refused_while_stipends_owed_are_in_no_batch(program_db: Engine) -> None:
    """A close returns every fen: done before the last payout, it would leave the year's
    stipends unpayable."""
    for year in (2024, 2025, 2026):
        run(program_db, lambda uow, y=year: fund_services.appropriate(uow, y, by=CLERK))
        grade(program_db, year, "HJ-S01", "qualified")
        grade(program_db, year, "HJ-H01", "qualified")
        if year < 2026:
            pay_the_year(program_db, year)
    with pytest.raises(InvalidTransitionError, match=r"2026年教师1（10,000\.00元）"):
        run(
            program_db,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
        )


def test_renewal_is_refused_after_an_unqualified_final_grade_and_the_studio_is_not_renamed(
    program_db: Engine,
) -> None:
    play_the_cycle(program_db, ("qualified", "qualified", "unqualified"))
    with pytest.raises(InvalidTransitionError, match="先结算"):
        run(
            program_db,
            lambda uow: cycle_services.renew_cycle(uow, "HJ-S01", date(2027, 1, 5), by=ADMIN),
        )
    closed = run(
        program_db,
        lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
    )
    assert closed.not_renamed
    with pytest.raises(InvalidTransitionError, match="已于2027-01-10撤销"):
        run(
            program_db,
            lambda uow: cycle_services.renew_cycle(uow, "HJ-S01", date(2027, 1, 12), by=ADMIN),
        )
    with UnitOfWork(program_db, write=False) as uow:
        studio = roster_services.studio(uow, "HJ-S01")
        [view] = cycle_services.cycle_views(uow, date(2027, 1, 12), ["HJ-S01"])
        report = fund_services.appropriate(uow, 2027, by=CLERK)
    assert (studio.cancelled_on, studio.cancellation_cause) == (date(2027, 1, 10), "not_renamed")
    assert view.outcome == "not_renamed"
    assert report.posted == []  # no cycle covers 2027


def test_a_studio_graded_qualified_is_renamed_for_a_new_cycle_funded_from_its_first_year(
    program_db: Engine, clock: Clock, tmp_path: Path
) -> None:
    play_the_cycle(program_db, ("qualified", "qualified", "excellent"))
    run(
        program_db,
        lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2027, 1, 10), by=BOSS),
    )
    with pytest.raises(PermissionDeniedError):
        run(
            program_db,
            lambda uow: cycle_services.renew_cycle(uow, "HJ-S01", date(2027, 1, 12), by=CLERK),
        )
    with pytest.raises(ValidationError, match="2027-01-09 不能早于第1周期"):
        run(
            program_db,
            lambda uow: cycle_services.renew_cycle(uow, "HJ-S01", date(2027, 1, 9), by=ADMIN),
        )
    renewed = run(
        program_db,
        lambda uow: cycle_services.renew_cycle(uow, "HJ-S01", date(2027, 1, 12), by=ADMIN),
    )
    assert (renewed.cycle.number, renewed.cycle.first_year, renewed.cycle.last_year) == (
        2,
        2027,
        2029,
    )
    assert renewed.appropriation is not None
    [voucher] = renewed.appropriation.posted
    assert voucher.request.effective_date == date(2027, 1, 12)
    assert balances(program_db, FINANCE, EDU) == [2_500_000, 2_500_000]
    with UnitOfWork(program_db, write=False) as uow:
        views = cycle_services.cycle_views(uow, date(2027, 1, 12), ["HJ-S01"])
        assert roster_services.studio(uow, "HJ-S01").cycle_years(
            roster_services.policy(uow, 2027)
        ) == range(2024, 2030)
    assert [(v.cycle.number, v.state, v.outcome) for v in views] == [
        (1, "closed", "renewed"),
        (2, "open", ""),
    ]
    # the next year is funded by 2027's grade, as any year within a cycle, once it begins
    grade(program_db, 2027, "HJ-S01", "qualified")
    clock.set(date(2028, 1, 2))
    report = run(
        program_db, lambda uow: fund_services.appropriate(uow, 2028, by=CLERK, only=["HJ-S01"])
    )
    assert report.total == 5_000_000
    # a renewed studio's cycles are history: a roster file moving its start year is
    # refused on its row, with the rest of the file's problems, before anything is written
    kind, active = STUDIO_KINDS["subject"], STATUS_LABELS["active"]
    moved = ["HJ-S01", S1.name, kind, S1.host_unit, 2025, active]
    host = ["HJ-S01", HOST.name, HOST.id_number, ROLE_LABELS["host"], HOST.unit, "2024-01-01"]
    early = [*host[:2], person(9, "外校9").id_number, ROLE_LABELS["member"], "外校9"]
    early += ["2024-03-01", "2024-02-01"]  # left before joining
    path = imports.fill_template(
        "roster", tmp_path / "r.xlsx", {"工作室": [moved], "成员": [host, early]}
    )
    with pytest.raises(imports.ImportRefused) as refused, UnitOfWork(program_db) as uow:
        imports.import_file(uow, "roster", path, by=CLERK)
    assert [str(p) for p in refused.value.problems] == [
        "工作室 第2行 周期开始年度: HJ-S01已续期或已结算，周期开始年度不能再改",
        "成员 第3行 退出日期: 退出日期早于加入日期",
    ]


def test_support_from_a_members_unit_is_kept_apart_and_does_not_count_toward_matching(
    program_db: Engine,
) -> None:
    run(program_db, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    receipts = [
        Receipt(date(2024, 3, 1), "HJ-S01", 100_000, "第一中学配套"),
        Receipt(date(2024, 4, 1), "HJ-S01", 300_000, "外校2支持", "support", "外校2"),
        Receipt(date(2024, 4, 2), "HJ-S01", 100_000, "外校3支持", "support", "外校3"),
    ]
    run(program_db, lambda uow: fund_services.receive_matching(uow, receipts, by=CLERK))
    assert balances(program_db, MATCHING, SUPPORT) == [100_000, 400_000]
    with UnitOfWork(program_db, write=False) as uow:
        short = fund_services.matching_check(uow, 2024)
    assert [(s.studio, s.received, s.shortfall) for s in short if s.studio == "HJ-S01"] == [
        ("HJ-S01", 100_000, 100_000)
    ]
    refused = [
        Receipt(date(2024, 5, 1), "HJ-S01", 1_000, "挂牌单位", "support", "第一中学"),
        Receipt(date(2024, 5, 1), "HJ-S01", 1_000, "陌生单位", "support", "外校99"),
        Receipt(date(2024, 5, 1), "HJ-S01", 1_000, "无单位", "support", ""),
        Receipt(date(2024, 5, 1), "HJ-S01", 1_000, "他校配套", "matching", "外校2"),
    ]
    with pytest.raises(InvalidInputError) as raised:
        run(program_db, lambda uow: fund_services.receive_matching(uow, refused, by=CLERK))
    assert [e.field for e in raised.value.errors] == [
        "receipts[0].出资单位",
        "receipts[2].出资单位",
        "receipts[3].出资单位",
        "receipts[1].出资单位",
    ]
    # at the close the support goes back to each unit in proportion to what it gave
    spend = Expense(date(2024, 6, 1), "HJ-S01", "support", "materials", 100_000, "资料")
    run(
        program_db,
        lambda uow: fund_services.save_expense_plans(
            uow, [ExpensePlan(2024, "HJ-S01", "materials", 100_000)], by=CLERK
        ),
    )
    run(program_db, lambda uow: fund_services.spend(uow, [spend], by=CLERK))
    run(program_db, lambda uow: roster_services.save_roster(uow, [S1_GONE], [], [], by=CLERK))
    with pytest.raises(InvalidTransitionError, match=r"2024年教师\d（考核结果未录入）"):
        run(
            program_db,
            lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2024, 10, 8), by=BOSS),
        )
    grade(program_db, 2024, "HJ-S01", "unqualified")  # nothing is owed: the close may go on
    closed = run(
        program_db,
        lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2024, 10, 8), by=BOSS),
    )
    assert closed.voucher is not None
    backs = {(p.destination, p.amount) for p in closed.voucher.postings if p.source == SUPPORT}
    assert backs == {  # 外校2 and 外校3 by their codes
        ("source:support:U000006", 225_000),
        ("source:support:U000007", 75_000),
    }


def test_a_studio_cancelled_and_closed_stays_cancelled_and_gets_no_budget_again(
    program_db: Engine, tmp_path: Path
) -> None:
    """HJ-S01's host leaves in September 2024 and its cycle closes early: no roster (API or
    workbook) brings it back to 正常, and a year of its closed cycle is never funded, even
    for a studio record put back behind the roster's back."""
    run(program_db, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    run(program_db, lambda uow: roster_services.save_roster(uow, [S1_GONE], [], [], by=CLERK))
    grade(program_db, 2024, "HJ-S01", "unqualified")  # nothing owed
    closed = run(
        program_db,
        lambda uow: cycle_services.close_cycle(uow, "HJ-S01", date(2024, 10, 8), by=BOSS),
    )
    assert dict(closed.cycle.returned) == {"finance": 2_500_000, "edu_fund": 2_500_000}

    with pytest.raises(InvalidInputError) as raised:
        run(program_db, lambda uow: roster_services.save_roster(uow, [S1], [], [], by=CLERK))
    [error] = raised.value.errors
    assert error.field == "studios[0].cancelled_on"
    assert error.message.startswith(
        "HJ-S01 已于2024-09-30撤销，其第1周期（2024-2026）已于2024-10-08结算，"
        "不能在名册中恢复为正常"
    )
    row = ["HJ-S01", "语文名师工作室", "名教师工作室", "第一中学", 2024, "正常"]
    path = imports.fill_template("roster", tmp_path / "roster.xlsx", {"工作室": [row], "成员": []})
    with pytest.raises(imports.ImportRefused) as refused, UnitOfWork(program_db) as uow:
        imports.import_file(uow, "roster", path, by=CLERK)
    [problem] = refused.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("工作室", 2, "状态")
    assert problem.reason == error.message
    with UnitOfWork(program_db, write=False) as uow:
        assert roster_services.studio(uow, "HJ-S01").cancelled_on == date(2024, 9, 30)

    grade(program_db, 2024, "HJ-S01", "excellent")  # a grade that would fund 2025 whole
    grade(program_db, 2024, "HJ-H01", "qualified")
    with UnitOfWork(program_db) as uow:
        uow.registry.save_studios([S1])  # as a hand edit of the table would
        report = fund_services.appropriate(uow, 2025, by=CLERK)
    assert [str(t.request.metadata["studio"]) for t in report.posted] == ["HJ-H01"]
    assert "HJ-S01" not in report.shares
    assert balances(program_db, FINANCE, EDU) == [0, 0]


def test_a_paid_members_travel_claim_is_refused_and_a_mentors_is_not(program_db: Engine) -> None:
    run(program_db, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    run(
        program_db,
        lambda uow: fund_services.save_expense_plans(
            uow, [ExpensePlan(2024, "HJ-S01", "travel", 500_000)], by=CLERK
        ),
    )
    member = Expense(
        date(2024, 5, 1),
        "HJ-S01",
        "finance",
        "travel",
        80_000,
        "外出学习差旅",
        MEMBERS[0].name,
        MEMBERS[0].id_number,
    )
    with pytest.raises(InvalidInputError, match="劳务补贴已含差旅费") as raised:
        run(program_db, lambda uow: fund_services.spend(uow, [member], by=CLERK))
    assert raised.value.errors[0].field == "expenses[0].类别"
    nameless = replace(member, claimant="", claimant_id="")
    with pytest.raises(InvalidInputError, match="须写明报销人及其身份证号"):
        run(program_db, lambda uow: fund_services.spend(uow, [nameless], by=CLERK))
    mentor_id = person(90, "师范大学").id_number
    mentor = replace(member, memo="特聘导师来旗指导", claimant="赵导师", claimant_id=mentor_id)
    trainee = replace(
        member, memo="学员外出学习", claimant=TRAINEE.name, claimant_id=TRAINEE.id_number
    )
    [posted_mentor, posted_trainee] = run(
        program_db, lambda uow: fund_services.spend(uow, [mentor, trainee], by=CLERK)
    )
    assert posted_mentor.request.metadata["claimant"] == "赵导师"
    assert "claimant_code" not in posted_mentor.request.metadata  # not in the registry
    assert posted_trainee.request.metadata["claimant_code"] == "P000014"
    assert balances(program_db, "expense:travel:studio:HJ-S01") == [160_000]


def test_rounds_count_quotas_on_their_own_and_causes_are_coded(program_db: Engine) -> None:
    round_two = [
        Studio(f"HJ2-P0{n}", f"第二轮校长工作室{n}", "principal", "第三中学", 2027, round=2)
        for n in (1, 2, 3)
    ]
    report = run(
        program_db, lambda uow: roster_services.save_roster(uow, round_two, [], [], by=CLERK)
    )
    quota = [w for w in report.warnings if w.rule == "quota"]
    assert [(w.studio, w.message) for w in quota] == [
        ("第2轮名校（园）长工作室", "3个，超过名额2个")
    ]
    with UnitOfWork(program_db, write=False) as uow:
        [view] = cycle_services.cycle_views(uow, date(2027, 1, 1), ["HJ2-P01"])
        studio = roster_services.studio(uow, "HJ2-P01")
    assert (studio.round, view.cycle.first_year, view.cycle.last_year) == (2, 2027, 2029)
    nameless = replace(S1, cancelled_on=date(2024, 9, 30), cancellation_reason="调走了")
    with pytest.raises(InvalidInputError) as raised:
        run(program_db, lambda uow: roster_services.save_roster(uow, [nameless], [], [], by=CLERK))
    assert [e.field for e in raised.value.errors] == ["studios[0].cancellation_cause"]
    coded = replace(nameless, cancellation_cause="transferred_out")
    run(program_db, lambda uow: roster_services.save_roster(uow, [coded], [], [], by=CLERK))
    with UnitOfWork(program_db, write=False) as uow:
        assert roster_services.studio(uow, "HJ-S01").cancellation_cause == "transferred_out"


def test_the_cycle_close_job_closes_what_ended_and_lists_what_it_could_not(
    program_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(program, "today", lambda: date(2027, 1, 20))  # the job's day
    batch = play_the_cycle(program_db, ("qualified",) * 3, confirm_last=False)
    # HJ-H01's line 2 comes back from the bank: the job leaves HJ-H01 open, with why
    run(
        program_db,
        lambda uow: disbursement.confirm(uow, batch.id, CASHIER, date(2027, 1, 5), {2: "账户冻结"}),
    )
    outcome = runner.run(program_db, "cycle-close", "2026")
    assert outcome.status == "succeeded", outcome.message
    assert outcome.counts["closed"] == 1
    assert outcome.counts["returned_fen"] == 1_500_000 + 1_500_000 + 600_000
    assert outcome.counts["returned"][0]["message"] == (
        "HJ-S01 第1周期（2024-2026）退回"
        "旗财政15,000.00元、立教教育基金15,000.00元、单位配套6,000.00元"
    )
    assert [r["studio"] for r in outcome.counts["refused"]] == ["HJ-H01"]
    assert "银行退回未处理" in outcome.counts["refused"][0]["reason"]
    assert balances(program_db, FINANCE, "studio:HJ-H01:fund:finance") == [0, 2_250_000]
    again = runner.run(program_db, "cycle-close", "2026")
    assert again.status == "already"


def test_the_cycles_ledger_carries_each_years_balance_into_the_next(
    program_db: Engine, tmp_path: Path
) -> None:
    """结转: the 明细账 of 2024-2026 opens each year with what the last one left."""
    play_the_cycle(program_db, ("qualified", "qualified", "qualified"))
    path = tmp_path / "cycle.xlsx"
    with UnitOfWork(program_db, write=False) as uow:
        statements.export_ledger(uow, 2024, 2026, path, ADMIN, "HJ-S01")
    sheet = load_workbook(path)["HJ-S01-旗财政"]
    carried = [
        (row[3], row[7])
        for row in sheet.iter_rows(values_only=True)
        if row[3] in ("上年结转", "结转下年", "期末余额")
    ]
    assert carried == [
        ("上年结转", 0),
        ("结转下年", 5000),
        ("上年结转", 5000),
        ("结转下年", 10000),
        ("上年结转", 10000),
        ("期末余额", 15000),
    ]
