"""The program services on a real database: roster, grades, appropriation,
matching, expenses against plan, cycle close and entitlements, to the fen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Engine, text

from jobs.work import SCHEDULER_USER
from ledger import program, users
from ledger.batches import disbursement
from ledger.books import book, statements
from ledger.errors import InvalidInputError, PermissionDeniedError, ValidationError
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, ExpensePlan, Receipt
from ledger.money import yuan
from ledger.registry import roster_services
from ledger.registry.policy import NOTICE_2024
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from schema.db import UnitOfWork
from tests.conftest import Clock

CLERK = SCHEDULER_USER  # the clerk the migrations create

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
S2 = Studio("HJ-H01", "班主任工作室", "homeroom", "第二中学", 2024)


def person(n: int, unit: str) -> PersonInput:
    first17 = f"15010219{80 + n % 20:02d}0101{n:03d}"
    return PersonInput(
        first17 + id_check_digit(first17),
        f"教师{n}",
        unit,
        "中国农业银行",
        f"62284800{n:011d}",
        "13800000000",
    )


HOST = person(1, "第一中学")
MEMBERS = [person(n, f"外校{n}") for n in range(2, 7)]  # five from other units
LATE = person(7, "第一中学")


def roster(*, extra: list[MembershipInput] | None = None) -> tuple:  # type: ignore[type-arg]
    people = [HOST, *MEMBERS, LATE]
    memberships = [MembershipInput("HJ-S01", HOST.id_number, "host", date(2024, 1, 1))]
    memberships += [
        MembershipInput("HJ-S01", p.id_number, "member", date(2024, 1, 1)) for p in MEMBERS
    ]
    memberships += [MembershipInput("HJ-S01", LATE.id_number, "member", date(2024, 7, 1))]
    return [S1, S2], people, memberships + (extra or [])


def save_roster(
    engine: Engine,
    *,
    extra: list[MembershipInput] | None = None,
    studios: list[Studio] | None = None,
) -> program.SaveReport:
    default_studios, people, memberships = roster(extra=extra)
    with UnitOfWork(engine) as uow:
        report = roster_services.save_roster(
            uow, studios or default_studios, people, memberships, by=CLERK
        )
        uow.commit()
    return report


def run(engine: Engine, action):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


def balance(engine: Engine, address: str) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return book.balance(uow.ledger, address)


def test_the_default_policy_is_seeded_by_the_migration(engine: Engine) -> None:
    with UnitOfWork(engine, write=False) as uow:
        assert roster_services.policy(uow, 2024) == NOTICE_2024
        assert roster_services.policy(uow, 2026) == NOTICE_2024
        with pytest.raises(ValidationError, match="没有适用于2023年度的政策"):
            roster_services.policy(uow, 2023)


def test_a_new_years_policy_governs_from_its_year_and_old_results_keep_theirs(
    engine: Engine,
) -> None:
    richer = replace(NOTICE_2024, version="2025修订", year=2025, member_stipend=yuan(6_000))
    run(engine, lambda uow: users.add_user(uow, "admin", "admin", by=None))
    refused = pytest.raises(PermissionDeniedError, match=r"policy\.add：仅限管理员")
    with UnitOfWork(engine) as uow, refused:
        roster_services.add_policy(uow, richer, CLERK)
    run(engine, lambda uow: roster_services.add_policy(uow, richer, "admin"))
    with UnitOfWork(engine, write=False) as uow:
        assert roster_services.policy(uow, 2024).version == "杭政办发〔2024〕2号"
        assert roster_services.policy(uow, 2025).member_stipend == 600_000
    with UnitOfWork(engine) as uow, pytest.raises(ValidationError, match="政策录入后不再修改"):
        roster_services.add_policy(uow, replace(richer, version="again"), "admin")


def test_saving_a_roster_twice_changes_nothing_the_second_time(engine: Engine) -> None:
    first = save_roster(engine)
    assert first.changed == 2 + 7 + 7
    assert first.warnings == [] or all(not w.refused for w in first.warnings)
    assert save_roster(engine).changed == 0
    with UnitOfWork(engine, write=False) as uow:
        people = uow.registry.people()
    assert [p.code for p in people] == [f"P{n:06d}" for n in range(1, 8)]


def test_a_second_host_at_the_same_time_is_refused_and_nothing_is_saved(engine: Engine) -> None:
    extra = [MembershipInput("HJ-S01", LATE.id_number, "host", date(2024, 3, 1))]
    with pytest.raises(roster_services.CompositionRefused, match="每个工作室只能有1名主持人"):
        save_roster(engine, extra=extra)
    with UnitOfWork(engine, write=False) as uow:
        assert uow.registry.studios() == []
        assert uow.registry.people() == []


def test_the_appropriation_funds_each_studio_once(engine: Engine) -> None:
    save_roster(engine)
    report = run(engine, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    assert len(report.posted) == 2
    assert report.total == 2 * yuan(50_000)
    assert report.policy_version == "杭政办发〔2024〕2号"
    assert balance(engine, "studio:HJ-S01:fund:finance") == 2_500_000
    assert balance(engine, "studio:HJ-S01:fund:edu_fund") == 2_500_000
    again = run(engine, lambda uow: fund_services.appropriate(uow, 2024, by=CLERK))
    assert (again.posted, again.already, again.total) == ([], ["HJ-H01", "HJ-S01"], 0)
    assert balance(engine, "source:finance") == -5_000_000


def test_a_studio_cancelled_before_january_2nd_and_a_year_outside_the_cycle_get_nothing(
    engine: Engine, clock: Clock
) -> None:
    clock.set(date(2027, 1, 2))
    cancelled = replace(
        S2,
        cancelled_on=date(2024, 12, 1),
        cancellation_cause="transferred_out",
        cancellation_reason="主持人调离",
    )
    save_roster(engine, studios=[S1, cancelled])
    grades = [Grade(2024, code, "", "qualified") for code in ("HJ-S01", "HJ-H01")]
    run(engine, lambda uow: roster_services.save_grades(uow, grades, by=CLERK))
    assert [
        t.request.metadata["studio"]
        for t in run(engine, lambda uow: fund_services.appropriate(uow, 2025, by=CLERK)).posted
    ] == ["HJ-S01"]
    assert run(engine, lambda uow: fund_services.appropriate(uow, 2027, by=CLERK)).posted == []


def test_matching_receipts_come_from_the_host_unit(engine: Engine) -> None:
    save_roster(engine)
    receipt = Receipt(date(2024, 3, 1), "HJ-S01", 180_000, "第一中学配套经费")
    run(engine, lambda uow: fund_services.receive_matching(uow, [receipt], by=CLERK))
    run(
        engine, lambda uow: fund_services.receive_matching(uow, [receipt], by=CLERK)
    )  # same row again
    assert balance(engine, "studio:HJ-S01:fund:matching") == 180_000
    assert run(engine, lambda uow: uow.registry.unit_codes(["第一中学"])) == {"第一中学": "U000006"}
    assert balance(engine, "source:unit:U000006") == -180_000


def test_a_unit_is_addressed_by_its_code_so_any_name_the_roster_takes_works(
    engine: Engine,
) -> None:
    """A host unit and a member's unit whose names no account address could carry
    (full-width brackets, a space) receive matching and support; their accounts carry
    codes numbered in name order, the books show their names."""
    host, other = "杭锦旗第一中学（初中部）", "杭锦旗 第二中学"
    _, _, memberships = roster()
    people = [replace(HOST, unit=host), replace(MEMBERS[0], unit=other), *MEMBERS[1:], LATE]
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(
            uow, [replace(S1, host_unit=host), S2], people, memberships, by=CLERK
        )
        uow.commit()
    receipts = [
        Receipt(date(2024, 3, 1), "HJ-S01", 300_000, "挂牌单位配套"),
        Receipt(date(2024, 3, 2), "HJ-S01", 50_000, "成员单位支持", "support", other),
    ]
    run(engine, lambda uow: fund_services.receive_matching(uow, receipts, by=CLERK))
    with UnitOfWork(engine, write=False) as uow:
        codes = {u.name: u.code for u in uow.registry.units()}
    assert codes == {
        "外校3": "U000001",
        "外校4": "U000002",
        "外校5": "U000003",
        "外校6": "U000004",
        other: "U000005",
        host: "U000006",
        "第一中学": "U000007",
        "第二中学": "U000008",
    }
    assert balance(engine, "source:unit:U000006") == -300_000
    assert balance(engine, "source:support:U000005") == -50_000
    assert balance(engine, "studio:HJ-S01:fund:matching") == 300_000
    assert balance(engine, "studio:HJ-S01:fund:support") == 50_000
    with UnitOfWork(engine, write=False) as uow:
        rows = {
            line.account: line.chart.name
            for line in statements.trial_lines(uow, date(2024, 12, 31))
        }
        assert rows["source:unit:U000006"] == f"银行存款—单位配套拨入—{host}"
        assert rows["source:support:U000005"] == f"银行存款—成员单位支持拨入—{other}"


def test_the_matching_check_counts_what_the_unit_paid_net_of_reversals(engine: Engine) -> None:
    save_roster(engine)
    paid = Receipt(date(2024, 3, 1), "HJ-S01", 150_000, "第一中学配套经费")
    mistaken = Receipt(date(2024, 4, 1), "HJ-S01", 60_000, "误记")
    last_year = Receipt(date(2023, 12, 30), "HJ-S01", 90_000, "上年配套")
    [_, wrong, _] = run(
        engine,
        lambda uow: fund_services.receive_matching(uow, [paid, mistaken, last_year], by=CLERK),
    )
    run(
        engine,
        lambda uow: book.reverse(
            uow.ledger, wrong.seq, idempotency_key="fix", effective_date=date(2024, 4, 2)
        ),
    )
    with UnitOfWork(engine, write=False) as uow:
        assert fund_services.matching_received(uow, 2024) == {"HJ-S01": 150_000}
        short = fund_services.matching_check(uow, 2024)
    assert [(s.studio, s.host_unit, s.received, s.shortfall) for s in short] == [
        ("HJ-H01", "第二中学", 0, 200_000),
        ("HJ-S01", "第一中学", 150_000, 50_000),
    ]


def test_expenses_are_refused_over_plan_and_over_balance_and_kept_within(engine: Engine) -> None:
    save_roster(engine)
    run(
        engine,
        lambda uow: fund_services.receive_matching(
            uow, [Receipt(date(2024, 3, 1), "HJ-S01", 200_000, "配套")], by=CLERK
        ),
    )
    run(
        engine,
        lambda uow: fund_services.save_expense_plans(
            uow,
            [
                ExpensePlan(2024, "HJ-S01", "training", 150_000),
                ExpensePlan(2024, "HJ-S01", "materials", 500_000),
            ],
            by=CLERK,
        ),
    )

    within = Expense(date(2024, 4, 1), "HJ-S01", "matching", "training", 100_000, "培训")
    run(engine, lambda uow: fund_services.spend(uow, [within], by=CLERK))
    assert balance(engine, "expense:training:studio:HJ-S01") == 100_000

    over_plan = Expense(date(2024, 5, 1), "HJ-S01", "matching", "training", 50_001, "培训二")
    with pytest.raises(InvalidInputError, match="超出支出计划"):
        run(engine, lambda uow: fund_services.spend(uow, [over_plan], by=CLERK))
    unplanned = Expense(date(2024, 5, 1), "HJ-S01", "matching", "meetings", 1_000, "会议")
    with pytest.raises(InvalidInputError, match="没有2024年度会议费的支出计划"):
        run(engine, lambda uow: fund_services.spend(uow, [unplanned], by=CLERK))
    over_balance = Expense(date(2024, 5, 1), "HJ-S01", "matching", "materials", 100_001, "资料")
    with pytest.raises(InvalidInputError) as short:
        run(engine, lambda uow: fund_services.spend(uow, [over_balance], by=CLERK))
    [error] = short.value.errors
    assert (error.field, error.message) == (
        "expenses[0].日期",
        "余额不足：271103 专项资金—单位配套—HJ-S01 2024-05-01 日终余额将为 -0.01 元，"
        "短缺 0.01 元：支出不能早于资金到账",
    )
    # two expenses of one call count together against the plan
    halves = [replace(within, on=date(2024, 6, d), amount=30_000, memo=f"培训{d}") for d in (1, 2)]
    with pytest.raises(InvalidInputError, match="超出支出计划"):
        run(engine, lambda uow: fund_services.spend(uow, halves, by=CLERK))
    assert balance(engine, "studio:HJ-S01:fund:matching") == 100_000
    # repeating the first expense posts nothing and is not counted against the plan again
    run(engine, lambda uow: fund_services.spend(uow, [within], by=CLERK))
    assert balance(engine, "expense:training:studio:HJ-S01") == 100_000


def test_entitlements_from_the_stored_roster_and_grades(engine: Engine) -> None:
    save_roster(engine)
    run(
        engine,
        lambda uow: roster_services.save_grades(
            uow,
            [
                Grade(2024, "HJ-S01", "", "excellent"),
                Grade(2024, "HJ-S01", MEMBERS[0].id_number, "unqualified"),
            ],
            by=CLERK,
        ),
    )
    with UnitOfWork(engine, write=False) as uow:
        report = disbursement.compute_entitlements(uow, 2024)
    by_name = {line.name: line for line in report.lines}
    assert by_name["教师1"].gross == 1_000_000
    assert by_name["教师2"].gross == 0  # own grade 不合格
    assert by_name["教师3"].gross == 500_000
    assert by_name["教师7"].gross == 250_000  # joined 1 July
    assert report.total == 1_000_000 + 4 * 500_000 + 250_000
    assert report.held == []


def test_a_grade_for_someone_outside_the_studio_is_refused(engine: Engine) -> None:
    save_roster(engine)
    with pytest.raises(InvalidInputError, match="不是工作室 HJ-H01 的成员"):
        run(
            engine,
            lambda uow: roster_services.save_grades(
                uow, [Grade(2024, "HJ-H01", HOST.id_number, "excellent")], by=CLERK
            ),
        )
    with pytest.raises(InvalidInputError, match="工作室 HJ-X99 不在名册中"):
        run(
            engine,
            lambda uow: roster_services.save_grades(
                uow, [Grade(2024, "HJ-X99", "", "qualified")], by=CLERK
            ),
        )


def test_payee_codes_count_on_past_p999999(engine: Engine) -> None:
    """Codes are numbered, not compared as text: after P999999 comes P1000000 (as text,
    P1000000 sorts before P999999 and the next code would be taken twice)."""
    with UnitOfWork(engine) as uow:
        uow.registry.register_units(["一中", "二中", "三中", "四中"])
        codes, _ = uow.registry.save_people([person(1, "一中")])
        uow.session.execute(
            text("UPDATE people SET code = 'P999999' WHERE code = :c"),
            {"c": codes[person(1, "一中").id_number]},
        )
        made, changed = uow.registry.save_people([person(2, "二中"), person(3, "三中")])
        uow.commit()
    assert sorted(made.values()) == ["P1000000", "P1000001"]
    assert changed == 2
    with UnitOfWork(engine) as uow:
        again, changed = uow.registry.save_people([person(2, "二中"), person(4, "四中")])
    assert again[person(2, "二中").id_number] == "P1000000"
    assert again[person(4, "四中").id_number] == "P1000002"
    assert changed == 1  # person 2 is unchanged
