"""The bank's answer matched to what was sent (:mod:`ledger.batches.bank_answer`): the
rule alone, on a batch in memory."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.batches.bank_answer import ResultRow, read_answer
from ledger.batches.batch import Batch, BatchState, Payee
from ledger.errors import InvalidInputError
from ledger.registry.policy import NOTICE_2024
from tests.unit.test_batches import stored_line

PAYEES = {
    n: Payee(f"教师{n}", f"15062519850101{n:03d}X", "农行", f"622848000000000{n:04d}")
    for n in (1, 2, 3)
}


def sent_batch() -> Batch:
    lines = (stored_line(1), stored_line(2, 500_000), stored_line(3, 500_000))
    return Batch(
        7, 2024, BatchState.APPROVED, NOTICE_2024.version, "clerk", datetime(2024, 12, 1),
        "2024-12", 1, 2_000_000, 540_000, lines, ("boss",),
    )  # fmt: skip


def row(
    n: int, outcome: str = "成功", reason: str = "", *, at: int = 0, **change: object
) -> ResultRow:
    payee, line = PAYEES[n], sent_batch().line(n)
    fields: dict[str, object] = {
        "row": at or n + 4,
        "account": payee.bank_account,
        "name": payee.name,
        "amount": line.sent,
        "remark": f"批次#7-{n} HJ-S01",
        "outcome": outcome,
        "reason": reason,
    }
    return ResultRow(**{**fields, **change})  # type: ignore[arg-type]


def refused(rows: list[ResultRow], batch: Batch | None = None) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as error:
        read_answer(batch or sent_batch(), PAYEES, rows)
    return {e.field: e.message for e in error.value.errors}


def test_a_true_answer_pays_and_fails_lines_and_leaves_the_rest_waiting() -> None:
    answer = read_answer(sent_batch(), PAYEES, [row(1), row(3, "失败", "户名不符")])
    assert (answer.paid, dict(answer.failed), answer.known, answer.news) == (
        (1,), {3: "户名不符"}, 0, True
    )  # fmt: skip
    # the bank's own words for the outcome are read too; the reason is kept trimmed
    answer = read_answer(sent_batch(), PAYEES, [row(2, " 处理失败 ", " 账户冻结 ")])
    assert dict(answer.failed) == {2: "账户冻结"}


def test_every_field_must_be_what_was_sent_to_the_fen() -> None:
    line = sent_batch().line(2)
    said = refused(
        [
            row(1, account="6228480000000009999"),
            row(2, amount=line.sent - 1),
            row(3, name="教师33"),
        ]
    )
    assert set(said) == {"第5行 收款账号", "第6行 金额", "第7行 收款账号名称"}
    assert said["第6行 金额"].startswith("3,199.99 元与发出的 3,200.00 元不符（批次第2行）")
    # one fen over is as wrong as one under
    assert set(refused([row(2, amount=line.sent + 1)])) == {"第6行 金额"}
    # surrounding spaces are not a difference
    assert read_answer(sent_batch(), PAYEES, [row(1, account=" 6228480000000000001 ")]).paid == (1,)


def test_unknown_duplicated_and_unreadable_rows_are_named() -> None:
    said = refused(
        [
            row(1, remark="批次#8-1 HJ-S01"),  # another batch's
            row(2, remark="批次#7-9 HJ-S01", at=6),  # a line never sent
            row(3, remark="第3行", at=7),
            row(2, at=8),
            row(2, at=9),  # line 2 twice
            row(3, "待处理", at=10),
            row(1, "失败", " ", at=11),
        ]
    )
    assert "是批次#8的付款" in said["第5行 备注"]
    assert "没有第9行" in said["第6行 备注"]
    assert "备注应为" in said["第7行 备注"]
    assert "在第8行已出现" in said["第9行 备注"]
    assert "应为“成功”或“失败”" in said["第10行 处理结果"]
    assert "须有失败原因" in said["第11行 失败原因"]
    assert "没有任何付款结果行" in refused([])["文件"]


def test_an_answer_already_known_is_no_news_and_a_contradiction_is_refused() -> None:
    batch = sent_batch()
    paid = batch.line(1).paid(41)
    failed = batch.line(2).bounced("户名不符")
    answered = batch.changed(BatchState.APPROVED, [paid, failed])
    again = read_answer(answered, PAYEES, [row(1), row(2, "失败", "户名不符")])
    assert (again.paid, dict(again.failed), again.known, again.news) == ((), {}, 2, False)
    said = refused([row(1, "失败", "退汇"), row(2)], answered)
    assert "此前已答复“成功”，本文件为“失败”" in said["第5行 处理结果"]
    assert "此前已答复“失败”，本文件为“成功”" in said["第6行 处理结果"]
    # a line carrying a tax refund is sent with it: the bank pays net and refund
    carrying = failed.refunded(6_000, "2024-12").reissued()
    with_refund = batch.changed(BatchState.APPROVED, [carrying])
    assert carrying.sent == 326_000
    assert set(refused([row(2)], with_refund)) == {"第6行 金额"}


def said_in_full(
    rows: list[ResultRow], batch: Batch | None = None, payees: object = PAYEES
) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInputError) as error:
        read_answer(batch or sent_batch(), payees, rows)  # type: ignore[arg-type]
    return [(e.field, e.message) for e in error.value.errors]


def test_each_refusal_in_the_words_the_cashier_reads() -> None:
    assert said_in_full(
        [row(1, account="6228480000000009999"), row(2, amount=1), row(3, name="教师33")]
    ) == [
        ("第5行 收款账号", "'6228480000000009999' 与发出的账号不符（批次第1行）"),
        ("第6行 金额", "0.01 元与发出的 3,200.00 元不符（批次第2行）"),
        ("第7行 收款账号名称", "'教师33' 与发出的户名 教师3 不符（批次第3行）"),
    ]  # fmt: skip
    assert said_in_full(
        [row(1, remark="第3行"), row(2, at=6), row(2, at=7), row(3, "失败", "", at=8)]
    ) == [
        ("第5行 备注", "备注应为发出的“批次#7-行号”，而不是 '第3行'"),
        ("第7行 备注", "批次#7-2 在第6行已出现，同一笔付款只能有一个结果"),
        ("第8行 失败原因", "处理结果为失败，须有失败原因"),
    ]  # fmt: skip
    assert said_in_full([]) == [("文件", "文件中没有任何付款结果行")]
    # a line never approved was never sent: it has no payee yet
    assert said_in_full([row(1)], payees={}) == [("第5行 备注", "第1行尚未审批，从未发送银行")]
    batch = sent_batch()
    answered = batch.changed(BatchState.APPROVED, [batch.line(1).paid(4)])
    assert said_in_full([row(1, "失败", "退汇")], answered) == [
        ("第5行 处理结果", "第1行银行此前已答复“成功”，本文件为“失败”，前后矛盾"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "paid"),
    [("成功", True), ("处理成功", True), ("交易成功", True), ("失败", False), ("处理失败", False),
     ("交易失败", False)],
)  # fmt: skip
def test_the_banks_words_for_an_outcome(outcome: str, paid: bool) -> None:
    answer = read_answer(sent_batch(), PAYEES, [row(1, outcome, "" if paid else "户名不符")])
    assert (answer.paid, dict(answer.failed)) == (((1,), {}) if paid else ((), {1: "户名不符"}))
