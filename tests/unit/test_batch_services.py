"""The batch's rules as worked examples on the fake stores (tests/fakes.py): a year's
payout prepared, approved, paid but for a bank return, reissued or returned to the fund,
and closed — amounts to the fen, one voucher per action. No database: milliseconds; the
same services run on SQLite and PostgreSQL in tests/integration/test_batches.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ledger import users
from ledger.batches import disbursement
from ledger.batches.availability import Availability, availability
from ledger.batches.batch import BatchState, LineStatus
from ledger.books import book
from ledger.errors import (
    InvalidTransitionError,
    MakerCheckerError,
    NotFoundError,
    PermissionDeniedError,
)
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, ExpensePlan
from ledger.registry import roster_services
from ledger.registry.roster import Grade, MembershipInput, PersonInput, Studio, id_check_digit
from tests.fakes import FakeStores, approver_id_number, created, whole

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
FINANCE, EDU = "studio:HJ-S01:fund:finance", "studio:HJ-S01:fund:edu_fund"


def person(n: int, unit: str) -> PersonInput:
    first17 = f"15062519860101{n:03d}"
    return PersonInput(first17 + id_check_digit(first17), f"教师{n}", unit, "农行", f"6228{n:011d}")


PEOPLE = [person(1, "第一中学"), *(person(n, f"外校{n}") for n in range(2, 7))]


@pytest.fixture
def stores() -> FakeStores:
    """HJ-S01 (a host and five members, all of 2024), graded 合格, funded 50,000 元;
    a clerk and an approver."""
    made = FakeStores()
    users.add_user(made, "管理员", "admin", by=None)
    users.add_user(made, "副管理员", "admin", by=None)
    users.add_user(made, "张会计", "clerk", by="管理员")
    users.add_user(made, "李科长", "approver", by="管理员", id_number=approver_id_number(1))
    users.confirm_user(made, "李科长", by="副管理员")
    users.add_user(made, "赵出纳", "cashier", by="管理员", id_number=approver_id_number(6))
    users.confirm_user(made, "赵出纳", by="副管理员")
    places = [
        MembershipInput("HJ-S01", p.id_number, "host" if i == 0 else "member", date(2024, 1, 1))
        for i, p in enumerate(PEOPLE)
    ]
    roster_services.save_roster(made, [S1], PEOPLE, places, by="张会计")
    roster_services.save_grades(made, [Grade(2024, "HJ-S01", "", "qualified")], by="张会计")
    fund_services.appropriate(made, 2024, by="张会计")
    return made


def test_a_year_is_prepared_approved_and_paid_but_for_one_return_which_is_reissued(
    stores: FakeStores,
) -> None:
    """10,000 + 5 × 5,000 = 35,000 元 gross, 1,600 + 5 × 800 = 5,600 元 withheld; the
    bank returns line 3 (5,000 元), which a reissue pays a week later."""
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    assert (batch.state, len(batch.lines), batch.gross, batch.tax) == (
        BatchState.DRAFT,
        6,
        3_500_000,
        560_000,
    )
    assert batch.approvals_needed == 1
    with pytest.raises(PermissionDeniedError):
        disbursement.approve(stores, batch.id, "张会计", date(2024, 12, 23))
    approved = disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23)).batch
    assert approved.state == BatchState.APPROVED
    kept = whole(stores, disbursement.Outcome(approved, "")).batch.lines
    assert [(x.payee.name, x.payee.bank_account) for x in kept if x.payee] == [
        (f"教师{n}", f"6228{n:011d}") for n in range(1, 7)
    ]  # whom each line pays, kept at the approval; the voucher names them so
    voucher = stores.ledger.transactions[-1]
    assert voucher.postings[0].memo == "教师1（HJ-S01 主持人）旗财政转应付 批次#1-1"
    assert [stores.ledger.balances[f] for f in (FINANCE, EDU)] == [750_000, 750_000]
    late = disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23))  # a race lost
    assert (late.changed, late.message) == (
        False,
        f"批次 #{batch.id} 状态为已审批，无需再审批",
    )
    with pytest.raises(InvalidTransitionError, match="批次已审批，不能驳回"):
        disbursement.reject(stores, batch.id, "李科长", "太迟")

    paid = whole(
        stores,
        disbursement.confirm(stores, batch.id, "赵出纳", date(2024, 12, 25), {3: "账户已销户"}),
    ).batch
    assert paid.state == BatchState.PARTIALLY_PAID
    assert [x.status for x in paid.lines] == [
        LineStatus.PAID,
        LineStatus.PAID,
        LineStatus.FAILED,
        LineStatus.PAID,
        LineStatus.PAID,
        LineStatus.PAID,
    ]
    assert stores.ledger.balances["bank:disbursed"] == (1_000_000 - 160_000) + 4 * 420_000
    assert stores.ledger.balances["tax:withheld"] == 160_000 + 4 * 80_000
    with pytest.raises(InvalidTransitionError, match="第3行被银行退回，尚未处理"):
        disbursement.close(stores, batch.id, "李科长")

    again = disbursement.reissue(stores, 2024, "张会计", date(2024, 12, 26))
    assert [(x.person, x.gross, x.tax) for x in again.lines] == [
        (paid.line(3).person, 500_000, 80_000)
    ]
    assert stores.batches.batch(batch.id).line(3).status == LineStatus.REISSUED  # type: ignore[union-attr]
    vouchers = len(stores.ledger.transactions)
    disbursement.approve(stores, again.id, "李科长", date(2024, 12, 27))
    assert len(stores.ledger.transactions) == vouchers  # its money is payable already
    done = whole(stores, disbursement.confirm(stores, again.id, "赵出纳", date(2024, 12, 30))).batch
    assert done.state == BatchState.PAID
    assert stores.ledger.balances["bank:disbursed"] == 3_500_000 - 560_000
    for batch_id in (batch.id, again.id):
        assert disbursement.close(stores, batch_id, "李科长").batch.state == BatchState.CLOSED
    assert not any(b for a, b in stores.ledger.balances.items() if ":payable:" in a)
    assert book.verify(stores.ledger).ok


def test_a_returned_line_goes_back_to_the_fund_and_the_batch_closes(stores: FakeStores) -> None:
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23))
    whole(
        stores,
        disbursement.confirm(stores, batch.id, "赵出纳", date(2024, 12, 25), {2: "户名不符"}),
    )
    with pytest.raises(InvalidTransitionError, match="只有被银行退回的付款才能退回资金"):
        disbursement.return_to_fund(stores, batch.id, 1, "赵出纳", date(2024, 12, 28))
    returned = disbursement.return_to_fund(stores, batch.id, 2, "赵出纳", date(2024, 12, 28))
    assert returned.batch.line(2).status == LineStatus.RETURNED
    assert [stores.ledger.balances[f] for f in (FINANCE, EDU)] == [1_000_000, 1_000_000]
    assert disbursement.close(stores, batch.id, "李科长").batch.state == BatchState.CLOSED
    assert stores.batches.unsettled_lines("HJ-S01") == []
    assert book.verify(stores.ledger).ok


def test_a_draft_claims_its_funds_and_a_rejected_one_gives_them_back(stores: FakeStores) -> None:
    first = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    assert stores.batches.draft_commitments() == {
        ("HJ-S01", "finance"): 1_750_000,
        ("HJ-S01", "edu_fund"): 1_750_000,
    }
    assert disbursement.available_funds(stores, ["HJ-S01"]) == {  # 25,000 − 17,500 a source
        ("HJ-S01", "finance"): 750_000,
        ("HJ-S01", "edu_fund"): 750_000,
        ("HJ-S01", "matching"): 0,
        ("HJ-S01", "support"): 0,
    }
    with pytest.raises(disbursement.NothingToPayError):  # every line is in the draft
        created(stores, 2024, "张会计", date(2024, 12, 21))
    disbursement.reject(stores, first.id, "李科长", "人数有误")
    assert stores.batches.draft_commitments() == {}
    second = created(stores, 2024, "张会计", date(2024, 12, 21)).batch
    assert (second.id, len(second.lines)) == (2, 6)
    assert stores.batches.unsettled_lines("HJ-S01") == [(2, n, "pending") for n in range(1, 7)]


def test_the_preparer_never_approves_even_as_an_approver(stores: FakeStores) -> None:
    users.add_user(stores, "王局长", "approver", by="管理员", id_number=approver_id_number(2))
    users.confirm_user(stores, "王局长", by="副管理员")
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    # the preparer made an approver since: still not the checker of their own batch
    stores.batches.stored[batch.id] = replace(stores.batches.stored[batch.id], prepared_by="王局长")
    with pytest.raises(MakerCheckerError, match="王局长 是本批次的经办人"):
        disbursement.approve(stores, batch.id, "王局长", date(2024, 12, 23))


def test_the_cashier_pays_and_never_a_batch_they_approved_under_another_account(
    stores: FakeStores,
) -> None:
    """审批与出纳分离: the approver may not record the bank's answer; and 李科长, who
    approved the batch and then became the 出纳 under a new account (the old one
    disabled, the same 身份证号), may not pay it."""
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23))
    with pytest.raises(PermissionDeniedError) as refused:
        whole(stores, disbursement.confirm(stores, batch.id, "李科长", date(2024, 12, 25)))
    assert (
        str(refused.value)
        == "李科长 是审核人（approver），无权执行 batch.confirm：仅限出纳（cashier）"
    )
    users.disable_user(stores, "李科长", by="管理员")
    users.add_user(stores, "李出纳", "cashier", by="管理员", id_number=approver_id_number(1))
    users.confirm_user(stores, "李出纳", by="副管理员")
    with pytest.raises(MakerCheckerError) as same:
        whole(stores, disbursement.confirm(stores, batch.id, "李出纳", date(2024, 12, 25)))
    assert str(same.value) == (
        f"出纳 李出纳 与批次 #{batch.id} 的审批人 李科长 是同一人：出纳不得支付本人审批的批次"
    )
    assert stores.batches.batch(batch.id).state == BatchState.APPROVED  # nothing written
    paid = whole(stores, disbursement.confirm(stores, batch.id, "赵出纳", date(2024, 12, 25))).batch
    assert paid.state == BatchState.PAID


def test_a_reissue_the_bank_returns_again_sends_back_its_roots_approval(
    stores: FakeStores,
) -> None:
    """Line 2 fails, is reissued, and the bank returns the reissue too: returning the
    reissue's line sends back the postings of the first batch's approval (its root's),
    and marks both lines returned."""
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23))
    whole(
        stores,
        disbursement.confirm(stores, batch.id, "赵出纳", date(2024, 12, 25), {2: "户名不符"}),
    )
    again = disbursement.reissue(stores, 2024, "张会计", date(2024, 12, 26))
    disbursement.approve(stores, again.id, "李科长", date(2024, 12, 27))
    whole(
        stores,
        disbursement.confirm(stores, again.id, "赵出纳", date(2024, 12, 28), {1: "账户冻结"}),
    )
    root = stores.batches.batch(batch.id).line(2)  # type: ignore[union-attr]
    returned = disbursement.return_to_fund(stores, again.id, 1, "赵出纳", date(2024, 12, 29))
    assert returned.batch.line(1).status == LineStatus.RETURNED
    assert stores.batches.batch(batch.id).line(2).status == LineStatus.RETURNED  # type: ignore[union-attr]
    assert root.approval_seq is not None
    assert stores.ledger.reversed_positions(root.approval_seq) == set(root.approval_positions)
    assert [stores.ledger.balances[f] for f in (FINANCE, EDU)] == [1_000_000, 1_000_000]
    assert book.verify(stores.ledger).ok


def test_the_funds_around_a_batch_start_from_today_then_from_the_approval_day(
    stores: FakeStores,
) -> None:
    """Before approval: from what the funds can pay now (other drafts' claims taken
    away); after: from the approval day's closing with the batch added back — the same
    figures, though the fund has moved since."""
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    before = availability(stores, batch)
    assert before.basis == "按当前余额减去其他草稿批次占用"
    (s01,) = before.studios
    assert (s01.before, s01.taken, s01.after) == (
        {"finance": 2_500_000, "edu_fund": 2_500_000},
        {"finance": 1_750_000, "edu_fund": 1_750_000},
        {"finance": 750_000, "edu_fund": 750_000},
    )
    assert [(f.before, f.after) for f in before.lines.values()] == [
        (5_000_000, 4_000_000), (4_000_000, 3_500_000), (3_500_000, 3_000_000),
        (3_000_000, 2_500_000), (2_500_000, 2_000_000), (2_000_000, 1_500_000),
    ]  # fmt: skip
    # a batch that claims nothing (rejected) sees this draft's claim taken away
    rejected = availability(stores, replace(batch, id=99, state=BatchState.REJECTED))
    assert rejected.studios[0].before == {"finance": 750_000, "edu_fund": 750_000}
    assert rejected.studios[0].short
    disbursement.approve(stores, batch.id, "李科长", date(2024, 12, 23))
    fund_services.save_expense_plans(
        stores, [ExpensePlan(2024, "HJ-S01", "materials", 500_000)], by="张会计"
    )
    fund_services.spend(
        stores,
        [Expense(date(2024, 12, 24), "HJ-S01", "finance", "materials", 300_000, "资料")],
        by="张会计",
    )  # the fund moves after the approval day
    approved = disbursement.show(stores, batch.id)[0]
    after = availability(stores, approved)
    assert after.basis == "按审批日 2024-12-23 日终余额加回本批次"
    assert (after.studios, after.lines) == (before.studios, before.lines)
    # a pool a line names but takes nothing from, never funded, starts at zero
    first = approved.lines[0]
    odd = replace(approved, lines=(replace(first, split={**first.split, "matching": 0}),))
    assert availability(stores, odd).studios[0].before == {
        "finance": 2_500_000 - 1_750_000 + 500_000,
        "edu_fund": 2_500_000 - 1_750_000 + 500_000,
        "matching": 0,
    }
    # a reissue draws on nothing: its money is payable already
    whole(
        stores,
        disbursement.confirm(stores, batch.id, "赵出纳", date(2024, 12, 24), {3: "账户已销户"}),
    )
    again = disbursement.reissue(stores, 2024, "张会计", date(2024, 12, 27))
    assert availability(stores, again) == Availability((), {}, "按当前余额减去其他草稿批次占用")


def test_an_approved_batch_whose_voucher_is_not_in_the_ledger_is_named(
    stores: FakeStores,
) -> None:
    batch = created(stores, 2024, "张会计", date(2024, 12, 20)).batch
    lost = replace(batch, lines=tuple(x.moved(999, (0,)) for x in batch.lines))
    with pytest.raises(NotFoundError, match=r"^批次 #1 的审批凭证（序号 999）不在账中$"):
        availability(stores, lost)


def _three_studios() -> FakeStores:
    """HJ-S01..03, a host and two members each, graded 合格 and funded; 教师20 also a
    member of HJ-S01 and HJ-S02 from July (2,500 元 from each), 教师21 of HJ-S02 and
    HJ-S03 from October (1,250 元 from each)."""
    made = FakeStores()
    users.add_user(made, "管理员", "admin", by=None)
    users.add_user(made, "张会计", "clerk", by="管理员")
    codes = ("HJ-S01", "HJ-S02", "HJ-S03")
    studios = [
        Studio(c, f"名师工作室{c}", "subject", f"第{n}中学", 2024) for n, c in enumerate(codes)
    ]
    people, places = [], []
    for n, code in enumerate(codes):
        for k, role in enumerate(("host", "member", "member")):
            p = person(10 * n + k + 30, f"第{n}中学" if role == "host" else f"外校{n}{k}")
            people.append(p)
            places.append(MembershipInput(code, p.id_number, role, date(2024, 1, 1)))
    for p, pair, month in (
        (person(20, "外校20"), codes[:2], 7),
        (person(21, "外校21"), codes[1:], 10),
    ):
        people.append(p)
        places += [MembershipInput(c, p.id_number, "member", date(2024, month, 1)) for c in pair]
    roster_services.save_roster(made, studios, people, places, by="张会计")
    grades = [Grade(2024, c, "", "qualified") for c in codes]
    roster_services.save_grades(made, grades, by="张会计")
    fund_services.appropriate(made, 2024, by="张会计")
    return made


def test_a_batch_planned_a_studio_and_taxed_two_lines_at_a_time_is_the_batch_planned_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A large batch is planned a chunk of studios at a time and taxed a chunk of payees
    at a time: the same lines, taxes and totals as planned whole. A payee paid by two
    studios in two chunks is taxed once on the two together (教师20: 800 元 on 5,000,
    400 on each line — not 340 on the first alone and 460 on the rest)."""
    whole_batch = created(_three_studios(), 2024, "张会计", date(2024, 12, 20)).batch
    monkeypatch.setattr(roster_services, "STUDIOS_AT_A_TIME", 1)
    monkeypatch.setattr(disbursement, "LINES_AT_A_TIME", 2)
    chunked = created(_three_studios(), 2024, "张会计", date(2024, 12, 20)).batch

    def shown(lines: object) -> list[tuple[object, ...]]:
        return [(x.number, x.studio, x.person, x.gross, x.tax, x.net) for x in lines]  # type: ignore[attr-defined]

    assert shown(chunked.lines) == shown(whole_batch.lines)
    assert (chunked.gross, chunked.tax, chunked.approvals_needed) == (
        whole_batch.gross,
        whole_batch.tax,
        whole_batch.approvals_needed,
    )
    twice = [x for x in chunked.lines if x.person == chunked.lines[3].person]
    assert [(x.studio, x.gross, x.tax) for x in twice] == [
        ("HJ-S01", 250_000, 40_000),
        ("HJ-S02", 250_000, 40_000),
    ]
    # 3 hosts of 10,000 and 6 members of 5,000; 2,500 × 2 and 1,250 × 2
    assert chunked.gross == 3 * 1_000_000 + 6 * 500_000 + 2 * 250_000 + 2 * 125_000
