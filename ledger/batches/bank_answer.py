"""The bank's answer to a batch's bank file (银行代发结果): every row it returns is a row
the cashier sent, and says 成功 or 失败 (with 失败原因).

Reading it is one rule (:func:`read_answer`), pure: each row is matched to the line its
备注 names (``批次#3-17 HJ-S01``) and must repeat that line exactly as it was sent —
收款账号, 收款账号名称 and 金额 to the fen. A row for another batch or a line that does
not exist, a line answered twice in one file, any field that differs, a 处理结果 that is
neither 成功 nor 失败, a 失败 without its reason, or an answer that contradicts what the
bank already said about a line refuses the whole file, each bad row named with its
field. A line the file leaves out is still waiting; the bank may answer in several
files, and a row repeating what the bank already said changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger.batches.batch import Batch, BatchLine, LineStatus, Payee
from ledger.errors import InvalidInputError, ValidationError
from ledger.money import Fen, format_plain

SUCCEEDED: Final = "成功"
FAILED: Final = "失败"

_REMARK: Final = re.compile(r"\s*批次#(\d+)-(\d+)(?:\s.*)?", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One row of the bank's result file, as read (the amount already in fen).

    Attributes:
      row: where it is in the file (its row number), to name it in a refusal.
    """

    row: int
    account: str
    name: str
    amount: Fen
    remark: str
    outcome: str
    reason: str = ""


@dataclass(frozen=True)
class BankAnswer:
    """What a result file says that the ledger does not know yet: the lines it paid, the
    lines it failed (number → 失败原因), and how many rows repeat what was known."""

    paid: tuple[int, ...] = ()
    failed: Mapping[int, str] = field(default_factory=dict)
    known: int = 0

    @property
    def news(self) -> bool:
        return bool(self.paid or self.failed)


def read_answer(batch: Batch, payees: Mapping[int, Payee], rows: Sequence[ResultRow]) -> BankAnswer:
    """The file's news for ``batch`` (``payees``: whom each line pays, as approved), or
    :class:`InvalidInputError` listing every bad row and field; nothing is half-read."""
    errors: list[ValidationError] = []
    by_number = {x.number: x for x in batch.lines}
    seen: dict[int, int] = {}
    paid: list[int] = []
    failed: dict[int, str] = {}
    known = 0
    if not rows:
        errors.append(ValidationError("文件", "文件中没有任何付款结果行"))
    for r in rows:
        where = f"第{r.row}行"
        line = _line_named(batch, by_number, r, where, errors)
        if line is None:
            continue
        if line.number in seen:
            errors.append(
                ValidationError(
                    f"{where} 备注",
                    f"批次#{batch.id}-{line.number} 在第{seen[line.number]}行已出现，"
                    "同一笔付款只能有一个结果",
                )
            )
            continue
        seen[line.number] = r.row
        row_errors = _differences(line, payees.get(line.number), r, where)
        outcome = _outcome(r, where, row_errors)
        errors += row_errors
        if row_errors or outcome is None:
            continue
        was = _already(line, outcome, where, errors)
        if was is None:
            continue
        if was:
            known += 1
        elif outcome == SUCCEEDED:
            paid.append(line.number)
        else:
            failed[line.number] = r.reason.strip()
    if errors:
        raise InvalidInputError(errors)
    return BankAnswer(tuple(paid), failed, known)


def _line_named(
    batch: Batch,
    lines: Mapping[int, BatchLine],
    r: ResultRow,
    where: str,
    errors: list[ValidationError],
) -> BatchLine | None:
    named = _REMARK.fullmatch(r.remark)
    if named is None:
        errors.append(
            ValidationError(
                f"{where} 备注",
                f"备注应为发出的“批次#{batch.id}-行号”，而不是 {r.remark!r}",
            )
        )
        return None
    if int(named[1]) != batch.id:
        errors.append(
            ValidationError(
                f"{where} 备注",
                f"是批次#{named[1]}的付款，不是批次#{batch.id}的",
            )
        )
        return None
    line = lines.get(int(named[2]))
    if line is None:
        errors.append(
            ValidationError(
                f"{where} 备注",
                f"批次#{batch.id}没有第{named[2]}行，银行结果中有未发出的付款",
            )
        )
    return line


def _differences(
    line: BatchLine, payee: Payee | None, r: ResultRow, where: str
) -> list[ValidationError]:
    """Every field of the row that is not what was sent for ``line``."""
    sent = f"（批次第{line.number}行）"
    if payee is None:  # a draft's line was never sent
        return [ValidationError(f"{where} 备注", f"第{line.number}行尚未审批，从未发送银行")]
    wrong = []
    if r.account.strip() != payee.bank_account:
        wrong.append(
            ValidationError(
                f"{where} 收款账号",
                f"{r.account!r} 与发出的账号不符{sent}",
            )
        )
    if r.name.strip() != payee.name:
        wrong.append(
            ValidationError(
                f"{where} 收款账号名称",
                f"{r.name!r} 与发出的户名 {payee.name} 不符{sent}",
            )
        )
    if r.amount != line.sent:
        wrong.append(
            ValidationError(
                f"{where} 金额",
                f"{format_plain(r.amount)} 元与发出的 {format_plain(line.sent)} 元不符{sent}",
            )
        )
    return wrong


def _outcome(r: ResultRow, where: str, errors: list[ValidationError]) -> str | None:
    text = r.outcome.strip()
    if text in (SUCCEEDED, "处理成功", "交易成功"):
        return SUCCEEDED
    if text in (FAILED, "处理失败", "交易失败"):
        if not r.reason.strip():
            errors.append(ValidationError(f"{where} 失败原因", "处理结果为失败，须有失败原因"))
            return None
        return FAILED
    errors.append(ValidationError(f"{where} 处理结果", f"应为“成功”或“失败”，而不是 {r.outcome!r}"))
    return None


def _already(
    line: BatchLine, outcome: str, where: str, errors: list[ValidationError]
) -> bool | None:
    """Whether the bank already said this of ``line`` (``True``), says it first
    (``False``), or contradicts what it said (``None``, with the error)."""
    if line.status == LineStatus.PENDING:
        return False
    said = SUCCEEDED if line.status == LineStatus.PAID else FAILED
    if said == outcome:
        return True
    errors.append(
        ValidationError(
            f"{where} 处理结果",
            f"第{line.number}行银行此前已答复“{said}”，本文件为“{outcome}”，前后矛盾",
        )
    )
    return None
