"""Withholding by payment month, on a real database: 劳务报酬 of one payee paid in
one month is taxed as one income, counted in the month the bank's payment is
confirmed. Worked examples with 张老师, a member of HJ-S01 from January to June
and of HJ-H01 from July, owed 2,500 元 by each studio for 2024."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine

from api.cli import main
from jobs.work import SCHEDULER_USER
from ledger import audit as audit_log
from ledger import program, users
from ledger.batches import disbursement
from ledger.batches.batch import Batch, BatchLine
from ledger.books.periods import Period
from ledger.errors import InvalidTransitionError, ValidationError
from ledger.funds import fund_services
from ledger.registry import roster_services
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from ledger.tax import declaration, remittance
from ledger.workbooks import statements
from schema.db import UnitOfWork
from tests.fakes import approver_id_number, created, whole

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
            (("clerk", "clerk"), ("boss", "approver"), ("cashier", "cashier"), ("audit", "auditor"))
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
    batch = run(engine, lambda uow: created(uow, 2024, "clerk", on)).batch
    run(engine, lambda uow: disbursement.approve(uow, batch.id, "boss", on))
    return batch


def zhang(batch: Batch) -> BatchLine:
    [line] = [x for x in batch.lines if x.gross == 250_000]
    return line


def confirm(
    engine: Engine, batch: Batch, on: date, failed: dict[int, str] | None = None
) -> disbursement.Outcome:
    return run(
        engine, lambda uow: whole(uow, disbursement.confirm(uow, batch.id, "cashier", on, failed))
    )


def withheld(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return uow.ledger.balance("tax:withheld", None) or 0


def test_two_batches_planned_before_either_is_paid_are_taxed_as_one_income(
    two_studios: Engine,
) -> None:
    grade(two_studios, "HJ-S01")
    first = batch_on(two_studios, date(2025, 3, 2))
    grade(two_studios, "HJ-H01")
    second = batch_on(two_studios, date(2025, 3, 3))
    # the second batch is planned against the first's line the bank has yet to pay:
    # 5,000 元 in March, 5,000 × 80% × 20% = 800, of which the first withholds 340
    assert (zhang(first).tax, zhang(second).tax) == (34_000, 46_000)

    paid = confirm(two_studios, first, date(2025, 3, 5))
    assert zhang(paid.batch).current_tax == 34_000  # (2,500 − 800) × 20%
    paid = confirm(two_studios, second, date(2025, 3, 20))
    line = zhang(paid.batch)
    # the bank paid what the file said, and the tax withheld is the approved tax
    assert (line.final_tax, line.final_net, line.sent) == (46_000, 204_000, 204_000)
    assert "个税" not in paid.message  # 800 withheld on 5,000 paid: nothing to re-settle
    with UnitOfWork(two_studios, write=False) as uow:
        payment = uow.ledger.get(line.payment_seq or 0)
    assert payment is not None
    assert [p.amount for p in payment.postings if "张老师" in p.memo] == [204_000, 46_000]


def test_one_of_two_lines_failed_leaves_the_tax_of_what_was_paid(two_studios: Engine) -> None:
    """The issue's case: 2,500 + 2,500 元 in one batch plans 800 元 (400 on each line);
    the bank fails one, so 2,500 was paid and 340 is due, not 800 nor 400."""
    grade(two_studios, "HJ-S01")
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    mine = {x.studio: x for x in both.lines if x.gross == 250_000}
    assert (mine["HJ-S01"].tax, mine["HJ-H01"].tax) == (40_000, 40_000)
    before = withheld(two_studios)
    others = sum(x.tax for x in both.lines if x.gross != 250_000)

    paid = confirm(two_studios, both, date(2025, 3, 5), {mine["HJ-S01"].number: "户名不符"})
    assert withheld(two_studios) - before == others + 34_000
    assert (
        "张老师 2025年3月实付收入 2,500.00 元，应扣个税 340.00 元，已扣 400.00 元" in paid.message
    )
    assert "多扣 60.00 元退回应付" in paid.message
    failed = next(x for x in paid.batch.lines if x.number == mine["HJ-S01"].number)
    assert (failed.status, failed.refund, failed.refund_month) == ("failed", 6_000, "2025-03")
    h01 = next(x for x in paid.batch.lines if x.number == mine["HJ-H01"].number)
    with UnitOfWork(two_studios, write=False) as uow:
        assert uow.ledger.balance(f"studio:HJ-S01:payable:{failed.person}", None) == 256_000
        assert uow.ledger.balance(f"studio:HJ-H01:payable:{h01.person}", None) == 0
        resettled = [
            t
            for t in uow.ledger.iter_transactions()
            if t.request.metadata.get("kind") == "tax_resettlement"
        ]
        assert [t.request.memo for t in resettled] == [
            f"劳务报酬个人所得税重算（批次#{both.id}，银行退回后按实付收入重算2025年3月，1人）"
        ]
        assert [(p.source, p.amount) for p in resettled[0].postings] == [("tax:withheld", 6_000)]
        # the bank paid the H01 line exactly what the file said: 2,500 − 400
        assert uow.ledger.get(h01.payment_seq or 0) is not None
    assert h01.sent == 210_000
    with pytest.raises(InvalidTransitionError, match="须重新发放"):
        run(
            two_studios,
            lambda uow: disbursement.return_to_fund(
                uow, both.id, failed.number, "cashier", date(2025, 3, 6)
            ),
        )

    # reissued in March: 460 more is due on 5,000, and the 60 rides with it
    again = run(
        two_studios, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 3, 25))
    )
    [reissued] = again.lines
    assert (reissued.tax, reissued.net, reissued.refund, reissued.sent) == (
        46_000, 204_000, 6_000, 210_000
    )  # fmt: skip
    run(two_studios, lambda uow: disbursement.approve(uow, again.id, "boss", date(2025, 3, 26)))
    paid = confirm(two_studios, again, date(2025, 3, 28))
    assert withheld(two_studios) - before == others + 80_000  # 800 on 5,000 元
    assert "个税" not in paid.message
    with UnitOfWork(two_studios, write=False) as uow:
        assert uow.ledger.balance(f"studio:HJ-S01:payable:{failed.person}", None) == 0


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
    draft = run(two_studios, lambda uow: created(uow, 2024, "clerk", date(2025, 3, 1)))
    run(two_studios, lambda uow: disbursement.reject(uow, draft.batch.id, "boss", "名单有误"))
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    # the rejected draft paid nothing: her two lines of this batch are her March income
    taxes = sorted(x.tax for x in both.lines if x.gross == 250_000)
    assert taxes == [40_000, 40_000]  # 800 on 5,000 元, split in proportion
    paid = confirm(two_studios, both, date(2025, 3, 5))
    assert sorted(x.final_tax or 0 for x in paid.batch.lines if x.gross == 250_000) == taxes


def test_a_reissue_paid_in_a_later_month_is_income_of_that_month(two_studios: Engine) -> None:
    grade(two_studios, "HJ-S01")
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    s1_line = next(x for x in both.lines if x.gross == 250_000 and x.studio == "HJ-S01")
    confirm(two_studios, both, date(2025, 3, 5), {s1_line.number: "户名不符"})
    before = withheld(two_studios)
    # reissued in March: planned against March's 2,500 元 already paid (340 withheld)
    again = run(
        two_studios, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 3, 25))
    )
    [reissued] = again.lines
    assert reissued.tax == 46_000
    run(two_studios, lambda uow: disbursement.approve(uow, again.id, "boss", date(2025, 3, 26)))
    # the bank pays it in April as sent (460 withheld), when it is her only income: 340
    # is due, and with no line of hers left unpaid the 120 is not re-settled but said
    paid = confirm(two_studios, again, date(2025, 4, 2))
    [line] = paid.batch.lines
    assert (line.final_tax, line.final_net, line.sent) == (46_000, 204_000, 210_000)
    assert withheld(two_studios) - before == 46_000
    assert "2025年4月实付收入 2,500.00 元，应扣个税 340.00 元，已扣 460.00 元" in paid.message
    assert "多扣 120.00 元，无待重新发放的行可随之退还，见扣缴申报表" in paid.message


def test_the_month_is_declared_per_person_and_paid_over_once(
    two_studios: Engine, tmp_path: Path
) -> None:
    grade(two_studios, "HJ-S01")
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    s1 = next(x for x in both.lines if x.gross == 250_000 and x.studio == "HJ-S01")
    confirm(two_studios, both, date(2025, 3, 5), {s1.number: "户名不符"})
    again = run(
        two_studios, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 3, 25))
    )
    run(two_studios, lambda uow: disbursement.approve(uow, again.id, "boss", date(2025, 3, 26)))
    march = Period(2025, 3)

    def remit(on: date) -> remittance.Remittance:
        return run(two_studios, lambda uow: remittance.remit(uow, march, "cashier", on))

    # the reissue waits for the bank: its payment could still be March's income
    with pytest.raises(InvalidTransitionError, match=f"批次 #{again.id} 尚待银行答复"):
        remit(date(2025, 4, 10))
    confirm(two_studios, again, date(2025, 3, 28))

    path = tmp_path / "扣缴.xlsx"
    with UnitOfWork(two_studios, write=False) as uow:
        found = statements.export_withholding(uow, march, path, "cashier")
    mine = next(x for x in found.lines if x.name == TEACHER)
    # one row for her across both studios: 5,000 paid in March, 800 due and withheld
    assert (mine.income, mine.deduction, mine.taxable, mine.rate, mine.due, mine.withheld) == (
        500_000, 100_000, 400_000, 20, 80_000, 80_000
    )  # fmt: skip
    assert len(mine.id_number) == 18  # whole: it goes to the tax office
    assert found.ties
    assert found.given_back == 6_000  # the 60 re-settled when one line failed
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][0] == "扣缴个人所得税报告表"
    assert rows[3][:6] == ("序号", "姓名", "身份证件类型", "身份证件号码", "所得项目", "收入额")
    row = next(r for r in rows if r[1] == TEACHER)
    assert row[2:] == (
        "居民身份证", mine.id_number, "劳务报酬所得", 5000, 1000, 4000, "20%", 0, 800, 800, 0
    )  # fmt: skip
    total = next(r for r in rows if r[0] == "合计")
    assert round(total[11] * 100) == found.withheld == withheld(two_studios)
    assert any(
        str(r[0]).startswith("核对：应交税费—代扣个人所得税本月贷方") and "一致" in str(r[0])
        for r in rows
    )
    with UnitOfWork(two_studios, write=False) as uow:
        masked = declaration.declaration(uow, march, "audit")
    assert "*" in next(x.id_number for x in masked.lines if x.name == TEACHER)

    with pytest.raises(ValidationError, match="不能早于"):
        remit(date(2025, 3, 31))  # the month is not over on its last day
    paid = remit(date(2025, 4, 10))
    assert (paid.amount, paid.people) == (found.withheld, len(found.lines))
    assert withheld(two_studios) == 0
    with UnitOfWork(two_studios, write=False) as uow:
        assert uow.ledger.balance("bank:tax_remitted", None) == found.withheld
    with pytest.raises(InvalidTransitionError, match="不能重复缴纳"):
        remit(date(2025, 4, 11))
    # the books show it: the withheld tax's own sheet of the 明细账, and the 科目余额表
    books, trial = tmp_path / "明细账.xlsx", tmp_path / "科目余额表.xlsx"
    with UnitOfWork(two_studios, write=False) as uow:
        statements.export_ledger(uow, 2025, 2025, books, "audit")
        statements.export_trial_balance(uow, date(2025, 4, 30), trial, "audit")
    sheet = load_workbook(books)["应交税费-代扣个人所得税"]
    entries = [r for r in sheet.iter_rows(values_only=True) if r[3] and "代扣" in str(r[3])]
    remitted = next(r for r in entries if str(r[3]).startswith("缴纳2025年3月代扣个人所得税"))
    assert (remitted[4], remitted[6], remitted[7]) == (found.withheld / 100, "平", 0)
    workbook = load_workbook(trial)
    accounts = {r[0]: r for r in workbook["科目余额表"].iter_rows(values_only=True)}
    assert accounts["222101"][6:] == (0, 0)  # nothing left to pay over
    items = {r[2]: r for r in workbook["辅助余额表"].iter_rows(values_only=True)}
    assert items["收支项目：已缴代扣个人所得税"][:2] == ("1002", "银行存款")
    assert items["收支项目：已缴代扣个人所得税"][6] == found.withheld / 100  # 本期贷方


def test_a_month_not_yet_over_is_not_paid_over(two_studios: Engine) -> None:
    this_month = Period.of(program.today())
    with pytest.raises(InvalidTransitionError, match="尚未结束"):
        run(
            two_studios,
            lambda uow: remittance.remit(uow, this_month, "cashier", program.today()),
        )


def test_the_command_line_declares_and_pays_over(two_studios: Engine, tmp_path: Path) -> None:
    grade(two_studios, "HJ-S01")
    grade(two_studios, "HJ-H01")
    both = batch_on(two_studios, date(2025, 3, 2))
    confirm(two_studios, both, date(2025, 3, 5))
    db = ("--db", two_studios.url.render_as_string(hide_password=False))
    runner = CliRunner()
    out = tmp_path / "2025-03.xlsx"
    said = runner.invoke(
        main,
        [*db, "statements", "withholding", "--month", "2025-03", "--out", str(out),
         "--as", "cashier"],
        terminal_width=80,
    )  # fmt: skip
    assert said.exit_code == 0, said.output
    taxed = both.tax  # every line paid as planned: the declaration is the batch's tax
    assert f"已扣缴税额 {taxed / 100:,.2f} 元" in said.output
    assert "与已扣缴税额合计一致" in said.output
    refused = runner.invoke(
        main, [*db, "tax", "remit", "--month", "2025-03", "--as", "boss", "--on", "2025-04-02"]
    )
    assert refused.exit_code == 2
    assert "tax.remit：仅限出纳（cashier）" in refused.output
    paid = runner.invoke(
        main, [*db, "tax", "remit", "--month", "2025-03", "--as", "cashier", "--on", "2025-04-02"]
    )
    assert paid.exit_code == 0, paid.output
    assert paid.output.startswith(f"已缴纳2025年3月代扣个人所得税 {taxed / 100:,.2f} 元")
    again = runner.invoke(
        main, [*db, "tax", "remit", "--month", "2025-03", "--as", "cashier", "--on", "2025-04-03"]
    )
    assert again.exit_code == 2
    assert "不能重复缴纳" in again.output
    with UnitOfWork(two_studios, write=False) as uow:
        entries = audit_log.entries(uow, 0, 10)
    assert [(e.actor, e.action) for e in entries] == [
        ("cashier", "statement.withholding"),
        ("cashier", "tax.remit"),
    ]
