"""Batch planning, the state machine and maker-checker, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from ledger.batches.batch import (
    Batch,
    BatchLine,
    BatchState,
    LineStatus,
    LineTally,
    Payee,
    Tally,
    approvals_needed,
    check_approver,
    check_cashier,
    check_not_own_pay,
    next_state,
    paid_key,
    plan_batch,
)
from ledger.batches.entitlements import EntitlementLine
from ledger.errors import InvalidTransitionError, MakerCheckerError, ValidationError
from ledger.money import yuan
from ledger.registry.policy import NOTICE_2024
from ledger.registry.roster import Person
from ledger.tax.withholding import MonthIncome, Payment


def line(
    studio: str, person: str, role: str, gross: int, *, held: str | None = None
) -> EntitlementLine:
    half = (gross + 1) // 2
    return EntitlementLine(
        2024,
        studio,
        person,
        person,
        role,
        tuple(range(1, 13)),
        "qualified",
        "studio",
        100,
        gross,
        gross,
        {"finance": half, "edu_fund": gross - half},
        "说明",
        held,
        NOTICE_2024.version,
    )


PLENTY = {(s, src): yuan(25_000) for s in ("S1", "S2") for src in ("finance", "edu_fund")}


def plan(lines: list[EntitlementLine], **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"already_paid": {}, "available": PLENTY, "month_income": {}}
    options.update(kwargs)
    return plan_batch(lines, NOTICE_2024, **options)  # type: ignore[arg-type]


def test_a_host_and_a_member_are_taxed_by_the_labour_remuneration_rule() -> None:
    result = plan([line("S1", "P1", "host", yuan(10_000)), line("S1", "P2", "member", yuan(5_000))])
    assert [(x.gross, x.tax, x.net) for x in result.lines] == [
        (1_000_000, 160_000, 840_000),
        (500_000, 80_000, 420_000),
    ]
    assert result.lines[0].split == {"finance": 500_000, "edu_fund": 500_000}
    assert result.left_out == []


def test_one_payees_lines_in_a_month_are_taxed_together() -> None:
    # 2,500 + 2,500 from two studios: taxed as 5,000 (800), not twice as 2,500 (340 + 340)
    result = plan(
        [line("S1", "P1", "member", yuan(2_500)), line("S2", "P1", "member", yuan(2_500))]
    )
    assert [x.tax for x in result.lines] == [40_000, 40_000]
    assert result.tax == yuan(800)


def test_earlier_income_in_the_month_counts() -> None:
    result = plan(
        [line("S1", "P1", "member", yuan(2_000))],
        month_income={"P1": MonthIncome(paid=yuan(3_000), withheld=yuan(440))},
    )
    assert result.lines[0].tax == yuan(360)  # tax(5,000) 800 − 440 already withheld


def test_held_zero_and_already_paid_lines_are_left_out_with_reasons() -> None:
    lines = [
        line("S1", "P1", "host", yuan(10_000), held="缺少2024年度考核等次"),
        line("S1", "P2", "member", 0),
        line("S1", "P3", "member", yuan(5_000)),
        line("S1", "P4", "member", yuan(5_000)),
    ]
    result = plan(lines, already_paid={paid_key(2024, "S1", "P3", "member"): 7})
    assert [x.entitlement.person for x in result.lines] == ["P4"]
    assert [(x.person, reason.split(" (")[0]) for x, reason in result.left_out] == [
        ("P1", "缺少2024年度考核等次"),
        ("P2", "应发金额为零：说明"),
        ("P3", "已在批次#7中发放"),
    ]


def test_a_studio_short_of_funds_is_held_whole_and_others_go_ahead() -> None:
    available = {**PLENTY, ("S1", "edu_fund"): 499_999}
    result = plan(
        [line("S1", "P1", "host", yuan(10_000)), line("S2", "P2", "member", yuan(5_000))],
        available=available,
    )
    assert [x.entitlement.studio for x in result.lines] == ["S2"]
    [(held, reason)] = result.left_out
    assert held.studio == "S1"
    assert reason.startswith("工作室立教教育基金资金不足：需 5,000.00 元，可用 4,999.99 元")


def test_the_state_machine_allows_only_its_transitions() -> None:
    assert next_state("draft", "approve") == "approved"
    assert next_state("approved", "pay_partially") == "partially_paid"
    assert next_state("partially_paid", "close") == "closed"
    with pytest.raises(
        InvalidTransitionError,
        match=r"^批次已发放，不能审批通过（当前可以：关闭）$",
    ):
        next_state("paid", "approve")
    with pytest.raises(InvalidTransitionError, match="已是最终状态"):
        next_state("rejected", "approve")


def test_maker_checker() -> None:
    assert approvals_needed(yuan(100_000), NOTICE_2024) == 1
    assert approvals_needed(yuan(100_000) + 1, NOTICE_2024) == 2
    with pytest.raises(MakerCheckerError, match="clerk1 是本批次的经办人，不能审批本批次"):
        check_approver("clerk1", "clerk1", [])
    with pytest.raises(MakerCheckerError, match="boss 已审批过本批次"):
        check_approver("boss", "clerk1", ["boss"])
    check_approver("boss2", "clerk1", ["boss"])


def test_policy_without_withholding_pays_gross() -> None:
    untaxed = replace(NOTICE_2024, withholding="none")
    result = plan_batch(
        [line("S1", "P1", "host", yuan(10_000))],
        untaxed,
        already_paid={},
        available=PLENTY,
        month_income={},
    )
    assert (result.lines[0].tax, result.lines[0].net) == (0, 1_000_000)


def stored_line(line_id: int, gross: int = 1_000_000) -> BatchLine:
    return BatchLine(
        line_id, line_id, 2024, "HJ-S01", f"P{line_id}", "host", (1, 12), "qualified", 100,
        gross, {"finance": gross // 2, "foundation": gross // 2}, 180_000, gross - 180_000,
        "", LineStatus.PENDING,
    )  # fmt: skip


def test_each_step_of_a_line_changes_only_what_the_step_decides() -> None:
    line = stored_line(1)
    payee = Payee("教师1", "150625198501010112", "中国农业银行杭锦旗支行", "6228480000000000001")
    assert line.payee is None
    assert line.frozen(payee) == replace(line, payee=payee)  # whom it pays, as approved
    moved = line.moved(41, (2, 3))
    assert (moved.approval_seq, moved.approval_positions, moved.status) == (41, (2, 3), "pending")
    paid = moved.paid(42)
    assert (paid.status, paid.payment_seq, paid.final_tax, paid.final_net) == (
        LineStatus.PAID,
        42,
        180_000,
        820_000,
    )  # the bank pays what was approved and sent
    assert (paid.gross, paid.tax, paid.net, paid.sent) == (1_000_000, 180_000, 820_000, 820_000)
    bounced = moved.bounced("账户已销户")
    carrying = bounced.refunded(6_000, "2024-12")
    assert (carrying.refund, carrying.refund_month, carrying.sent) == (6_000, "2024-12", 826_000)
    with pytest.raises(
        InvalidTransitionError, match=r"^第1行已带有退还的多扣个税 60\.00 元，不能再带一笔$"
    ):
        carrying.refunded(1, "2025-01")
    assert (bounced.status, bounced.failure_reason, bounced.payment_seq) == (
        "failed",
        "账户已销户",
        None,
    )
    assert bounced.reissued().status == LineStatus.REISSUED
    assert bounced.reissued().reopened().status == LineStatus.FAILED
    returned = bounced.returned(43)
    assert (returned.status, returned.return_seq, returned.approval_seq) == ("returned", 43, 41)


def test_a_batch_as_a_step_leaves_it_replaces_only_the_changed_lines() -> None:
    first, second = stored_line(1), stored_line(2, 500_000)
    batch = Batch(
        7, 2024, BatchState.APPROVED, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 2, 1_500_000, 360_000, (first, second), ("boss1", "boss2"),
    )  # fmt: skip
    after = batch.changed(BatchState.PARTIALLY_PAID, [second.bounced("户名不符")])
    assert after.state == BatchState.PARTIALLY_PAID
    assert after.lines == (first, second.bounced("户名不符"))
    assert after.approved_by == ("boss1", "boss2")
    assert [x.number for x in after.failed] == [2]
    assert batch.lines == (first, second)  # the batch itself is a value: unchanged


def test_a_payee_names_what_the_roster_says_differently_now_masked() -> None:
    first17 = "15062519850101011"
    approved = Payee("教师11", first17 + "2", "中国农业银行杭锦旗支行", "6228480000000000011")
    same = Person("P000011", approved.id_number, "教师11", "第二中学", approved.bank_name,
                  approved.bank_account)  # fmt: skip
    assert approved.changes_in(same) == []
    moved = replace(same, name="教师十一", bank_name="", bank_account="6217000000000000099")
    assert approved.changes_in(moved) == [
        "姓名 教师11 → 教师十一",
        "开户银行 中国农业银行杭锦旗支行 → —",
        "银行账号 ***************0011 → ***************0099",
    ]
    assert Payee.of(same) == approved


def test_a_batch_reconciles_when_the_bank_answered_for_every_line_and_returns_are_settled() -> None:
    lines = tuple(stored_line(n, 500_000) for n in (1, 2, 3, 4))  # 320,000 net each
    draft = Batch(
        7, 2024, BatchState.DRAFT, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 1, 2_000_000, 720_000, lines, (),
    )  # fmt: skip
    assert draft.reconciliation.sent == Tally()
    assert str(draft.reconciliation) == "对账：尚未发送银行"
    sent = draft.changed(BatchState.APPROVED)
    assert (sent.reconciliation.pending, sent.reconciliation.reconciled) == (
        Tally(4, 1_280_000),
        False,
    )
    refunding = lines[2].bounced("户名不符").refunded(6_000, "2024-12")  # carries 60 元 back
    answered = sent.changed(
        BatchState.PARTIALLY_PAID, [lines[0].paid(9), lines[1].paid(9), refunding]
    )
    r = answered.reconciliation
    assert (r.sent, r.succeeded, r.failed, r.pending) == (
        Tally(4, 1_286_000),  # line 3 sends its net and the refund it carries
        Tally(2, 640_000),
        Tally(1, 326_000),
        Tally(1, 320_000),
    )
    parts = (r.succeeded, r.failed, r.pending, r.reissued, r.returned)
    assert sum(t.amount for t in parts) == r.sent.amount
    assert not r.reconciled
    settled = answered.changed(
        BatchState.PARTIALLY_PAID, [refunding.reissued(), lines[3].paid(9)]
    ).reconciliation
    assert (settled.reissued, settled.reconciled) == (Tally(1, 326_000), True)
    assert str(settled) == (
        "对账：已发送 4 笔 12,860.00 元；成功 3 笔 9,600.00 元，银行退回待处理 0 笔 0.00 元，"
        "待银行答复 0 笔 0.00 元，已重新发放 1 笔 3,260.00 元，已退回资金 0 笔 0.00 元；已全部对平"
    )


# -- worked examples at every rule's edge (mutation testing: python -m tests.mutation) ------


def test_a_studio_needing_exactly_what_it_holds_is_paid() -> None:
    available = {**PLENTY, ("S1", "finance"): yuan(5_000), ("S1", "edu_fund"): yuan(5_000)}
    result = plan([line("S1", "P1", "host", yuan(10_000))], available=available)
    assert [x.entitlement.person for x in result.lines] == ["P1"]
    assert result.left_out == []


def test_a_studios_lines_are_held_on_what_they_need_together() -> None:
    # two members of 5,000 each need 5,000 a source together; the source holds 4,999.99
    available = {("S1", "finance"): yuan(5_000), ("S1", "edu_fund"): yuan(5_000) - 1}
    result = plan(
        [line("S1", "P1", "member", yuan(5_000)), line("S1", "P2", "member", yuan(5_000))],
        available=available,
    )
    assert result.lines == []
    assert [reason for _, reason in result.left_out] == [
        "工作室立教教育基金资金不足：需 5,000.00 元，可用 4,999.99 元"
    ] * 2


def test_a_studio_with_no_balance_recorded_holds_nothing() -> None:
    result = plan([line("S9", "P1", "member", yuan(5_000))], available={})
    [(held, reason)] = result.left_out
    assert (held.person, reason) == (
        "P1",
        "工作室立教教育基金资金不足：需 2,500.00 元，可用 0.00 元",
    )


def test_a_refused_transition_says_what_the_batch_is_and_can_do() -> None:
    with pytest.raises(InvalidTransitionError) as refused:
        next_state("draft", "pay")
    assert str(refused.value) == "批次草稿，不能确认支付（当前可以：审批通过、驳回、作废）"
    with pytest.raises(InvalidTransitionError) as refused:
        next_state("closed", "reopen")
    assert str(refused.value) == "批次已关闭，不能reopen（已是最终状态）"


def test_nobody_approves_their_own_pay_and_the_lines_are_named() -> None:
    with pytest.raises(MakerCheckerError) as refused:
        check_not_own_pay("李科长", None, None, [])
    assert str(refused.value) == (
        "审批人 李科长 未登记身份证号，无法核对是否审批本人款项；请以 `users add … "
        "--id-number` 重新添加"
    )
    check_not_own_pay("李科长", "150102198001011234", None, [(1, "P1")])  # not a payee
    check_not_own_pay("李科长", "150102198001011234", "P9", [(1, "P1")])  # not paid here
    ten = [(n, "P9") for n in range(1, 11)]
    with pytest.raises(MakerCheckerError) as refused:
        check_not_own_pay("李科长", "150102198001011234", "P9", [(11, "P1"), *ten])
    assert str(refused.value) == (
        "本批次第 1、2、3、4、5、6、7、8、9、10 行向审批人 李科长 本人付款，须由他人审批"
    )
    with pytest.raises(MakerCheckerError, match=r"第 1、2、3、4、5、6、7、8、9、10等 行"):
        check_not_own_pay("李科长", "150102198001011234", "P9", [*ten, (12, "P9")])


def test_the_cashier_is_none_of_the_approvers() -> None:
    with pytest.raises(MakerCheckerError) as refused:
        check_cashier("赵出纳", None, 3, {"李科长": "1"})
    assert str(refused.value) == (
        "出纳 赵出纳 未登记身份证号，无法核对是否为本批次审批人；请以 `users add … "
        "--id-number` 重新添加"
    )
    with pytest.raises(MakerCheckerError, match="与批次 #3 的审批人 李科长 是同一人"):
        check_cashier("赵出纳", "150102198001011234", 3, {"李科长": "150102198001011234"})
    check_cashier("赵出纳", "150102198003030019", 3, {"李科长": "150102198001011234"})


def test_a_paid_line_is_its_payees_income_with_what_was_withheld() -> None:
    paid = stored_line(1).paid(42)
    assert paid.payment(date(2024, 12, 28)) == Payment("P1", date(2024, 12, 28), 1_000_000, 180_000)


def test_a_batch_step_records_its_approvers_and_a_missing_line_is_named() -> None:
    batch = Batch(
        7, 2024, BatchState.DRAFT, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 2, 1_000_000, 180_000, (stored_line(1),), ("boss1",),
    )  # fmt: skip
    assert batch.changed(BatchState.APPROVED, approved_by=("boss1", "boss2")).approved_by == (
        "boss1",
        "boss2",
    )
    with pytest.raises(ValidationError) as refused:
        batch.line(2)
    assert (refused.value.field, refused.value.message) == ("line", "批次 #7 没有第2行")


def test_lines_are_found_by_number_in_the_order_asked() -> None:
    lines = tuple(replace(stored_line(n), id=100 + n) for n in (1, 2, 3))
    batch = Batch(
        7, 2024, BatchState.DRAFT, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 2, 3_000_000, 540_000, lines, (),
    )  # fmt: skip
    assert [x.id for x in batch.numbered([3, 1, 3])] == [103, 101, 103]
    assert batch.numbered([]) == []
    assert batch.line(2).id == 102
    with pytest.raises(ValidationError, match="批次 #7 没有第4行"):
        batch.numbered([1, 4, 5])


def test_a_changed_id_number_and_a_missing_account_read_in_words() -> None:
    approved = Payee("教师11", "150625198501010112", "", "")
    now = Person(
        "P000011", "150625198501010120", "教师11", "第二中学", "农行", "6228480000000000011"
    )
    assert approved.changes_in(now) == [
        "身份证号 150625********0112 → 150625********0120",
        "开户银行 — → 农行",
        "银行账号 — → ***************0011",
    ]
    back = Person("P000011", approved.id_number, "教师11", "第二中学", "", "")
    assert Payee("教师11", approved.id_number, "农行", "6228480000000000011").changes_in(back) == [
        "开户银行 农行 → —",
        "银行账号 ***************0011 → —",
    ]


def test_a_batch_not_yet_reconciled_says_so() -> None:
    lines = (stored_line(1), stored_line(2))
    batch = Batch(
        7, 2024, BatchState.APPROVED, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 1, 2_000_000, 360_000, lines, ("boss",),
    )  # fmt: skip
    assert str(batch.reconciliation).endswith(
        "待银行答复 2 笔 16,400.00 元，已重新发放 0 笔 0.00 元，已退回资金 0 笔 0.00 元；尚未对平"
    )


def test_one_fen_needed_from_a_studio_with_no_balance_is_held() -> None:
    result = plan([line("S9", "P1", "member", 2)], available={})  # 1 fen from each source
    assert result.lines == []
    assert [reason for _, reason in result.left_out] == [
        "工作室立教教育基金资金不足：需 0.01 元，可用 0.00 元"
    ]


def test_a_batch_read_without_its_lines_carries_their_tally_and_refuses_rules_that_need_them() -> (
    None
):
    """A national batch is worked a chunk of lines at a time: read without them it says
    what they add up to, and a rule that reads its lines refuses it rather than see none."""
    paid = stored_line(1).paid(9)  # 180,000 tax, 820,000 sent
    carrying = stored_line(2, 500_000).bounced("户名不符").refunded(6_000, "2024-12")
    pending = stored_line(3, 500_000)
    tally = LineTally.of([paid]) + LineTally.of([carrying, pending])
    assert tally == LineTally(3, 540_000, 820_000 + 326_000 + 320_000)
    assert LineTally.of([]) == LineTally()
    whole = Batch(
        7, 2024, BatchState.PARTIALLY_PAID, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 2, 2_000_000, 540_000, (paid, carrying, pending), ("boss1", "boss2"),
    )  # fmt: skip
    header = replace(whole, lines=(), tally=tally)
    assert (header.line_count, header.current_tax, header.current_net, header.sent) == (
        3,
        540_000,
        1_460_000,
        1_466_000,
    )
    assert (whole.line_count, whole.current_tax, whole.current_net, whole.sent) == (
        3,
        540_000,
        1_460_000,
        1_466_000,
    )
    assert whole.whole_lines == (paid, carrying, pending)
    assert header.changed(BatchState.PAID).tally == tally  # its state moves on, lines unread
    for rule in ("whole_lines", "moving", "failed", "is_reissue", "reconciliation"):
        with pytest.raises(RuntimeError, match=r"^batch #7 was read without its lines$"):
            getattr(header, rule)
    with pytest.raises(RuntimeError, match="without its lines"):
        header.line(1)
    with pytest.raises(RuntimeError, match="without its lines"):
        header.changed(BatchState.PAID, [paid])
