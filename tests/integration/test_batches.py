"""Disbursement batches on a real database: the whole lifecycle to the fen,
maker-checker, races, failure injection, returns, reissues and no double pay."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.batches import disbursement
from ledger.batches.batch import Batch, LineTally
from ledger.books import book
from ledger.errors import (
    InvalidTransitionError,
    MakerCheckerError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.funds import expenses, fund_services
from ledger.registry import roster_services
from ledger.registry.policy import Policy
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from schema.batch_store import SqlBatchStore
from schema.db import UnitOfWork
from schema.tables import BatchLineRow, TransactionRow, UserRow
from tests.fakes import approver_id_number, created, whole

CLERK = SCHEDULER_USER  # the clerk the migrations create

ON = date(2025, 1, 10)
S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
S2 = Studio("HJ-H01", "班主任工作室", "homeroom", "第二中学", 2024)


def person(n: int, unit: str) -> PersonInput:
    first17 = f"15062519850101{n:03d}"
    return PersonInput(
        first17 + id_check_digit(first17),
        f"教师{n}",
        unit,
        "中国农业银行杭锦旗支行",
        f"62284800{n:011d}",
    )


def run(engine: Engine, action: Callable[[UnitOfWork], Any]) -> Any:
    with UnitOfWork(engine) as uow:
        result = action(uow)
        uow.commit()
    return result


def balances(engine: Engine, *addresses: str) -> list[int]:
    with UnitOfWork(engine, write=False) as uow:
        return [uow.ledger.balance(a, None) or 0 for a in addresses]


@pytest.fixture
def year(engine: Engine) -> Engine:
    """Two studios, 2024 appropriated and graded; users for each role."""
    people = [
        person(1, "第一中学"),
        *(person(n, f"外校{n}") for n in range(2, 7)),
        person(11, "第二中学"),
        *(person(n, f"外校{n}") for n in range(12, 17)),
    ]
    memberships = [MembershipInput("HJ-S01", people[0].id_number, "host", date(2024, 1, 1))]
    memberships += [
        MembershipInput("HJ-S01", p.id_number, "member", date(2024, 1, 1)) for p in people[1:6]
    ]
    memberships += [MembershipInput("HJ-H01", people[6].id_number, "host", date(2024, 1, 1))]
    memberships += [
        MembershipInput("HJ-H01", p.id_number, "member", date(2024, 7, 1)) for p in people[7:]
    ]

    def setup(uow: UnitOfWork) -> None:
        roster_services.save_roster(uow, [S1, S2], people, memberships, by=CLERK)
        fund_services.appropriate(uow, 2024, by=CLERK)
        roster_services.save_grades(
            uow,
            [Grade(2024, "HJ-S01", "", "excellent"), Grade(2024, "HJ-H01", "", "qualified")],
            by=CLERK,
        )
        for n, (name, role) in enumerate(
            (
                ("clerk", "clerk"),
                ("boss1", "approver"),
                ("boss2", "approver"),
                ("audit", "auditor"),
                ("admin", "admin"),
                ("cashier1", "cashier"),
            )
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    return engine


FUND = "studio:HJ-S01:fund:finance"
FUND_EDU = "studio:HJ-S01:fund:edu_fund"
HOST_PAYABLE = "studio:HJ-S01:payable:P000001"


def stored(engine: Engine, batch_id: int) -> Batch:
    """The batch as the database holds it now."""
    with UnitOfWork(engine, write=False) as uow:
        found = uow.batches.batch(batch_id)
    assert found is not None
    return found


def without_lines(batch: Batch) -> Batch:
    """The batch as an approval returns it: its lines added up, not held (a national batch
    is approved a chunk of lines at a time)."""
    return replace(batch, lines=(), tally=LineTally.of(batch.lines))


def create(engine: Engine, by: str = "clerk") -> disbursement.CreatedBatch:
    return run(engine, lambda uow: created(uow, 2024, by, ON))


def test_a_draft_planned_a_studio_and_taxed_two_lines_at_a_time_is_the_draft_planned_whole(
    year: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the database as on the fakes: the draft planned a studio and taxed two lines at
    a time (its lines inserted page by page, their tax stored afterwards) has the lines,
    taxes and totals of the draft planned whole, which was rejected first."""
    whole_batch = create(year).batch
    run(year, lambda uow: disbursement.reject(uow, whole_batch.id, "boss1", "重做"))
    monkeypatch.setattr(roster_services, "STUDIOS_AT_A_TIME", 1)
    monkeypatch.setattr(disbursement, "LINES_AT_A_TIME", 2)
    chunked = create(year).batch

    def shown(batch: Batch) -> list[tuple[object, ...]]:
        lines = [(x.number, x.studio, x.person, x.role, x.gross, x.tax, x.net) for x in batch.lines]
        return [*lines, (batch.gross, batch.tax, batch.approvals_needed)]

    assert chunked.id == whole_batch.id + 1
    assert shown(chunked) == shown(whole_batch)
    assert chunked == stored(year, chunked.id)


def test_nobody_approves_a_batch_that_pays_them(year: Engine) -> None:
    """An approver who is also a studio member (their 身份证号 is a payee's) cannot approve
    the batch that pays them; another approver can. An approver recorded without an ID
    number cannot be checked, so cannot approve at all."""
    batch = create(year).batch
    line = batch.lines[3]
    with UnitOfWork(year, write=False) as uow:
        [member] = [p for p in uow.registry.people() if p.code == line.person]
    run(
        year,
        lambda uow: users.add_user(uow, "member-boss", "approver", None, member.id_number),
    )
    with pytest.raises(
        MakerCheckerError, match=f"本批次第 {line.number} 行向审批人 member-boss 本人付款"
    ):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "member-boss", ON))
    with UnitOfWork(year, write=False) as uow:
        kept, _ = disbursement.show(uow, batch.id)
    assert (kept.state, kept.approved_by) == ("draft", ())
    assert balances(year, FUND, FUND_EDU) == [2_500_000, 2_500_000]

    with year.begin() as connection:  # an approver added before ID numbers were asked for
        connection.execute(
            UserRow.__table__.update().where(UserRow.name == "boss2").values(id_number=None)
        )
    with pytest.raises(MakerCheckerError, match="审批人 boss2 未登记身份证号"):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "boss2", ON))
    outcome = run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    assert outcome.batch.state == "approved"


def test_the_whole_lifecycle_to_the_fen(year: Engine) -> None:
    created = create(year)
    batch = created.batch
    # HJ-S01: host 10,000 + 5 members x 5,000; HJ-H01: host 10,000 + 5 members x 6/12 x 5,000
    assert (batch.state, len(batch.lines), batch.gross) == ("draft", 12, 5_750_000)
    assert batch.tax == 160_000 * 2 + 80_000 * 5 + 5 * 34_000  # 2,500 → (2,500−800)×20%
    assert batch.approvals_needed == 1  # 57,500 元 ≤ 100,000 元
    assert balances(year, FUND, FUND_EDU) == [2_500_000, 2_500_000]

    outcome = run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    assert outcome.batch.state == "approved"
    # HJ-S01's stipends, 35,000 元, leave 7,500 元 in each 25,000 元 source
    assert balances(year, FUND, FUND_EDU, HOST_PAYABLE) == [750_000, 750_000, 1_000_000]

    assert outcome.batch == without_lines(stored(year, batch.id))  # the same, added up

    outcome = run(year, lambda uow: whole(uow, disbursement.confirm(uow, batch.id, "cashier1", ON)))
    assert outcome.batch.state == "paid"
    assert {x.status for x in outcome.batch.lines} == {"paid"}
    assert outcome.batch == stored(year, batch.id)
    assert balances(year, HOST_PAYABLE, "bank:disbursed", "tax:withheld") == [
        0,
        5_750_000 - 890_000,
        890_000,
    ]

    closed = run(year, lambda uow: disbursement.close(uow, batch.id, "boss2"))
    assert closed.batch.state == "closed"
    with UnitOfWork(year, write=False) as uow:
        _, events = disbursement.show(uow, batch.id)
        assert book.verify(uow.ledger).ok
    assert [(e.action, e.actor, e.from_state, e.to_state) for e in events] == [
        ("create", "clerk", "draft", "draft"),
        ("approve", "boss1", "draft", "approved"),
        ("confirm", "cashier1", "approved", "paid"),
        ("close", "boss2", "paid", "closed"),
    ]


def test_roles_and_maker_checker(year: Engine) -> None:
    batch = create(year).batch
    with pytest.raises(
        PermissionDeniedError,
        match=r"batch\.approve：仅限审核人（approver）",
    ):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "clerk", ON))
    with pytest.raises(PermissionDeniedError, match=r"audit 是审计（auditor）"):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "audit", ON))
    with pytest.raises(
        PermissionDeniedError,
        match=r"boss1 是审核人（approver），无权执行 batch\.create：仅限",
    ):
        create(year, by="boss1")
    # the preparer is later made an approver: still cannot approve their own batch
    with UnitOfWork(year) as uow:
        uow.session.execute(
            UserRow.__table__.update().where(UserRow.name == "clerk").values(role="approver")
        )
        uow.commit()
    with pytest.raises(MakerCheckerError, match="clerk 是本批次的经办人"):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "clerk", ON))
    assert balances(year, FUND) == [2_500_000]


def test_above_the_threshold_two_distinct_approvers_are_needed(year: Engine) -> None:
    def strict_2025(uow: UnitOfWork) -> None:
        current = roster_services.policy(uow, 2024).to_json()
        roster_services.add_policy(
            uow,
            Policy.from_json(
                {**current, "version": "2025低门槛", "year": 2025, "approval_threshold": 100_000}
            ),
            "admin",
        )
        fund_services.appropriate(uow, 2025, by=CLERK)
        roster_services.save_grades(uow, [Grade(2025, "HJ-S01", "", "qualified")], by=CLERK)

    run(year, strict_2025)
    batch = run(year, lambda uow: created(uow, 2025, "clerk", ON)).batch
    assert (batch.policy_version, batch.approvals_needed) == ("2025低门槛", 2)
    first = run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    assert first.batch.state == "draft"
    assert first.batch == without_lines(stored(year, batch.id))
    assert first.message.startswith(f"批次 #{batch.id} 已有 1 位审批人审批通过，共需 2 位")
    assert balances(year, FUND) == [5_000_000]
    with pytest.raises(MakerCheckerError, match="boss1 已审批过本批次"):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    second = run(year, lambda uow: disbursement.approve(uow, batch.id, "boss2", ON))
    assert second.batch.state == "approved"
    assert second.batch.approved_by == ("boss1", "boss2")
    assert second.batch == without_lines(stored(year, batch.id))
    assert balances(year, FUND) == [5_000_000 - 1_750_000]
    again = run(year, lambda uow: disbursement.approve(uow, batch.id, "boss2", ON))
    assert again.batch == second.batch
    assert (again.changed, again.message) == (
        False,
        f"批次 #{batch.id} 状态为已审批，无需再审批",
    )


def test_two_approvers_racing_produce_one_posting_set(year: Engine) -> None:
    batch = create(year).batch
    start = threading.Barrier(2)

    def approve(name: str) -> str:
        start.wait()
        return run(year, lambda uow: disbursement.approve(uow, batch.id, name, ON)).message

    with ThreadPoolExecutor(2) as pool:
        messages = sorted(pool.map(approve, ["boss1", "boss2"]))
    assert sum("已审批通过：12 行转入应付" in m for m in messages) == 1
    assert sum("状态为已审批，无需再审批" in m for m in messages) == 1
    with UnitOfWork(year, write=False) as uow:
        count = uow.session.scalar(select(func.count()).select_from(TransactionRow))
    assert count == 2 + 1  # two appropriations, one approval voucher for the batch
    assert balances(year, FUND) == [750_000]


def test_a_failure_mid_approval_leaves_no_postings_and_the_batch_in_draft(
    year: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = create(year).batch

    def broken_update(self: object, lines: object) -> None:
        raise RuntimeError("disk full while marking lines")

    monkeypatch.setattr(SqlBatchStore, "save_lines", broken_update)
    with pytest.raises(RuntimeError, match="disk full"):
        run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    monkeypatch.undo()
    with UnitOfWork(year, write=False) as uow:
        after, events = disbursement.show(uow, batch.id)
        count = uow.session.scalar(select(func.count()).select_from(TransactionRow))
    assert after.state == "draft"
    assert after.approved_by == ()
    assert count == 2
    assert [e.action for e in events] == ["create"]
    assert balances(year, FUND) == [2_500_000]
    assert (
        run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON)).batch.state
        == "approved"
    )


def test_nobody_is_paid_twice_across_batches(year: Engine) -> None:
    first = create(year).batch
    with pytest.raises(ValidationError, match="2024年度没有可发放的劳务补贴"):
        create(year)
    with pytest.raises(ValidationError, match=r"理由：最多200个字符"):
        run(year, lambda uow: disbursement.reject(uow, first.id, "boss1", "误" * 201))
    with pytest.raises(ValidationError, match=r"理由：第2个字符 U\+202E"):
        run(year, lambda uow: disbursement.reject(uow, first.id, "boss1", "误\u202e算"))
    rejected = run(year, lambda uow: disbursement.reject(uow, first.id, "boss1", "金额有误"))
    assert rejected.batch.state == "rejected"
    second = create(year)
    assert second.batch.gross == first.gross
    assert all("already" not in reason for _, reason in second.left_out)
    # the database refuses a second line for the same stipend as well
    taken = next(x for x in second.batch.lines if x.role == "host" and x.studio == "HJ-H01")
    claim = (
        BatchLineRow.__table__.update()
        .where(BatchLineRow.batch_id == first.id, BatchLineRow.number == 1)
        .values(paid_key=f"2024:HJ-H01:{taken.person}:host")
    )
    with UnitOfWork(year) as uow, pytest.raises(IntegrityError):
        uow.session.execute(claim)


def test_a_bank_return_is_reissued_and_paid_once(year: Engine) -> None:
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    host_line = next(x for x in batch.lines if x.studio == "HJ-S01" and x.role == "host")
    outcome = run(
        year,
        lambda uow: whole(
            uow,
            disbursement.confirm(uow, batch.id, "cashier1", ON, {host_line.number: "账户已销户"}),
        ),
    )
    assert outcome.batch.state == "partially_paid"
    assert outcome.batch == stored(year, batch.id)  # the failed line and its reason too
    assert balances(year, HOST_PAYABLE) == [1_000_000]  # still payable
    with pytest.raises(InvalidTransitionError, match="行被银行退回，尚未处理"):
        run(year, lambda uow: disbursement.close(uow, batch.id, "boss1"))

    again = run(year, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 2, 1)))
    [line] = again.lines
    assert (line.gross, line.tax, line.net, line.reissue_of) == (
        1_000_000,
        160_000,
        840_000,
        host_line.id,
    )
    assert line.explanation.startswith("重新发放（原行退回：账户已销户）")
    with pytest.raises(ValidationError, match="2024年度没有等待重新发放的银行退回付款"):
        run(year, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 2, 1)))
    run(year, lambda uow: disbursement.approve(uow, again.id, "boss2", date(2025, 2, 1)))
    assert balances(year, HOST_PAYABLE) == [1_000_000]  # approval moved nothing twice
    run(
        year,
        lambda uow: whole(uow, disbursement.confirm(uow, again.id, "cashier1", date(2025, 2, 3))),
    )
    assert balances(year, HOST_PAYABLE, "bank:disbursed") == [0, 5_750_000 - 890_000]
    assert run(year, lambda uow: disbursement.close(uow, batch.id, "boss1")).batch.state == "closed"


@pytest.mark.parametrize("fresh_engine", ["postgresql"], indirect=True)
def test_a_reissue_waits_for_the_batch_whose_returned_line_it_takes(year: Engine) -> None:
    """A reissue takes the returned lines of the year's batches, so it locks those
    batches first: a bank answer or a return still writing one of them (holding its
    lock) finishes before the reissue reads the lines, and it never pays a line the
    other is changing. Here the other holds the lock, and the reissue waits for it
    (PostgreSQL; SQLite lets one writer in at a time anyway)."""
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    host_line = next(x for x in batch.lines if x.studio == "HJ-S01" and x.role == "host")
    run(
        year,
        lambda uow: disbursement.confirm(
            uow, batch.id, "cashier1", ON, {host_line.number: "账户已销户"}
        ),
    )
    with UnitOfWork(year) as answering:
        answering.batches.batch(batch.id, lock=True, lines=False)  # as the bank's answer does
        with UnitOfWork(year) as reissuing:
            reissuing.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                disbursement.reissue(reissuing, 2024, "clerk", date(2025, 2, 1))
    again = run(year, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 2, 1)))
    assert [line.reissue_of for line in again.lines] == [host_line.id]


def test_a_bank_return_can_go_back_to_the_fund(year: Engine) -> None:
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    host_line = next(x for x in batch.lines if x.studio == "HJ-S01" and x.role == "host")
    run(
        year,
        lambda uow: whole(
            uow, disbursement.confirm(uow, batch.id, "cashier1", ON, {host_line.number: "户名不符"})
        ),
    )
    outcome = run(
        year,
        lambda uow: disbursement.return_to_fund(
            uow, batch.id, host_line.number, "cashier1", date(2025, 1, 20)
        ),
    )
    returned = outcome.batch.line(host_line.number)
    assert returned.status == "returned"
    assert balances(year, FUND, FUND_EDU, HOST_PAYABLE) == [1_250_000, 1_250_000, 0]
    # one voucher sending back just this line's two postings of the batch's approval voucher
    with UnitOfWork(year, write=False) as uow:
        back = uow.ledger.get(returned.return_seq or 0)
        approval_seq = returned.approval_seq or 0
        assert uow.ledger.reversed_positions(approval_seq) == set(returned.approval_positions)
    assert back is not None
    assert back.request.reverses == approval_seq
    assert [(p.source, p.destination, p.amount, p.reverses) for p in back.postings] == [
        (HOST_PAYABLE, FUND, 500_000, returned.approval_positions[0]),
        (HOST_PAYABLE, FUND_EDU, 500_000, returned.approval_positions[1]),
    ]
    assert back.memo == f"劳务补贴退回资金 批次#{batch.id}-{host_line.number}：户名不符"
    assert back.postings[0].memo == (
        f"教师1（HJ-S01 主持人）旗财政转应付 批次#{batch.id}-{host_line.number}"
    )
    with pytest.raises(InvalidTransitionError, match="只有被银行退回的付款才能退回资金"):
        run(
            year,
            lambda uow: disbursement.return_to_fund(
                uow, batch.id, host_line.number, "cashier1", date(2025, 1, 20)
            ),
        )
    with pytest.raises(ValidationError, match="2024年度没有等待重新发放的银行退回付款"):
        run(year, lambda uow: disbursement.reissue(uow, 2024, "clerk", date(2025, 2, 1)))
    assert run(year, lambda uow: disbursement.close(uow, batch.id, "boss1")).batch.state == "closed"


def test_confirming_refuses_unknown_lines_and_missing_reasons(year: Engine) -> None:
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with pytest.raises(ValidationError, match="没有第99行"):
        run(
            year,
            lambda uow: whole(uow, disbursement.confirm(uow, batch.id, "cashier1", ON, {99: "x"})),
        )
    with pytest.raises(ValidationError, match="退回的第1行：银行退回须填写原因"):
        run(
            year,
            lambda uow: whole(uow, disbursement.confirm(uow, batch.id, "cashier1", ON, {1: " "})),
        )
    assert balances(year, "bank:disbursed") == [0]


def test_a_studio_short_of_funds_is_held_and_approval_never_overdraws(year: Engine) -> None:
    run(
        year,
        lambda uow: fund_services.save_expense_plans(
            uow, [expenses.ExpensePlan(2024, "HJ-S01", "materials", 800_000)], by=CLERK
        ),
    )
    # leaves 17,499.99 元 in finance: one fen short of HJ-S01's stipends from that source
    run(
        year,
        lambda uow: fund_services.spend(
            uow,
            [expenses.Expense(date(2024, 5, 1), "HJ-S01", "finance", "materials", 750_001, "资料")],
            by=CLERK,
        ),
    )
    created = create(year)
    assert {x.studio for x in created.batch.lines} == {"HJ-H01"}
    assert {x.studio for x, _ in created.left_out} == {"HJ-S01"}
    assert next(reason for _, reason in created.left_out) == (
        "工作室旗财政资金不足：需 17,500.00 元，可用 17,499.99 元"
    )


def test_one_approval_voucher_and_one_payment_voucher_for_154_payees(engine: Engine) -> None:
    """22 studios of a host and six members: 154 payees, one voucher per action."""
    codes = [f"HJ-S{n:02d}" for n in range(1, 23)]
    studios = [Studio(code, f"工作室{code}", "subject", f"单位{code}", 2024) for code in codes]
    people = [
        person(7 * i + k, f"单位{code}" if k == 0 else f"外校{k}")
        for i, code in enumerate(codes)
        for k in range(7)
    ]
    memberships = [
        MembershipInput(
            code, people[7 * i + k].id_number, "host" if k == 0 else "member", date(2024, 1, 1)
        )
        for i, code in enumerate(codes)
        for k in range(7)
    ]

    def setup(uow: UnitOfWork) -> None:
        roster_services.save_roster(uow, studios, people, memberships, by=CLERK)
        fund_services.appropriate(uow, 2024, by=CLERK)
        roster_services.save_grades(
            uow, [Grade(2024, code, "", "qualified") for code in codes], by=CLERK
        )
        for n, (name, role) in enumerate(
            (
                ("clerk", "clerk"),
                ("boss1", "approver"),
                ("boss2", "approver"),
                ("cashier1", "cashier"),
            )
        ):
            users.add_user(uow, name, role, by=None, id_number=approver_id_number(n))

    run(engine, setup)
    batch = run(engine, lambda uow: created(uow, 2024, "clerk", ON)).batch
    assert (len(batch.lines), batch.gross, batch.approvals_needed) == (154, 22 * 4_000_000, 2)
    run(engine, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    approved = run(engine, lambda uow: disbursement.approve(uow, batch.id, "boss2", ON))
    assert approved.message.endswith("154 行转入应付（凭证 记-2025-01-0001）")
    paid = run(engine, lambda uow: whole(uow, disbursement.confirm(uow, batch.id, "cashier1", ON)))
    with UnitOfWork(engine, write=False) as uow:
        vouchers = uow.ledger.transactions_page(after=22, limit=10)
        assert book.verify(uow.ledger).ok
    assert [(str(t.voucher), t.memo, len(t.postings)) for t in vouchers] == [
        ("记-2025-01-0001", f"2024年度劳务补贴审批转应付（批次#{batch.id}，154人）", 2 * 154),
        ("记-2025-01-0002", f"2024年度劳务补贴发放（批次#{batch.id}，154人）", 2 * 154),
    ]
    approval, payment = vouchers
    assert {line.approval_seq for line in paid.batch.lines} == {approval.seq}
    assert {line.payment_seq for line in paid.batch.lines} == {payment.seq}
    first = paid.batch.line(1)
    assert [approval.postings[i].memo for i in first.approval_positions] == [
        f"教师0（HJ-S01 主持人）旗财政转应付 批次#{batch.id}-1",
        f"教师0（HJ-S01 主持人）立教教育基金转应付 批次#{batch.id}-1",
    ]
    assert sum(p.amount for p in approval.postings) == 22 * 4_000_000
    assert sum(p.amount for p in payment.postings) == 22 * 4_000_000
