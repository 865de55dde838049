"""Unit receipts and activity expenses (配套资金, 成员单位支持, 专项支出).

A host unit's matching money enters ``studio:<id>:fund:matching`` from
``source:unit:<unit code>``; support from a member's unit (成员所在单位经费支持) enters
``studio:<id>:fund:support`` from ``source:support:<unit code>``, kept apart: only the host
unit's matching counts toward the policy's minimum (:func:`net_matching`). An activity
expense leaves one of the studio's funds for ``expense:<category>:studio:<id>``; it
must stay within the studio's plan for that category and year (计划使用, 专款专用) —
checked by :func:`over_plan_error` — and within the fund's balance (the ledger's
overdraft guard). A stipend includes its payee's travel (含差旅费): a 差旅费 claimed
for a paid member of the same studio is refused (:func:`travel_claim_error`).

Each receipt or expense gets an idempotency key derived from its content, so
importing the same file twice posts nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger.books.accounts import (
    FUNDING_SOURCES,
    UNIT_SOURCE_PREFIX,
    Account,
    expense_account,
    studio_fund,
    support_source,
    unit_source,
)
from ledger.books.postings import JsonValue, NewTransaction, Posting
from ledger.codes import ExpenseCategory, FundingSource, ReceiptKind, labels
from ledger.errors import ValidationError, text_errors
from ledger.money import Fen, format_plain
from ledger.registry.roster import MAX_NAME, id_number_errors

EXPENSE_CATEGORIES: Final = labels(ExpenseCategory)
SOURCE_LABELS: Final = labels(FundingSource)


RECEIPT_KINDS: Final = labels(ReceiptKind)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Money a unit gave the studio: its host unit's matching (``kind`` ``matching``;
    ``unit`` blank or the host unit) or a member's unit's support (``support``, ``unit``
    naming the member's unit)."""

    on: date
    studio: str
    amount: Fen
    memo: str
    kind: str = "matching"
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Expense:
    """An activity expense paid from one of the studio's funds, and who claimed it
    (报销人, and their 身份证号 where they have one: a 差旅费 needs both)."""

    on: date
    studio: str
    source: str
    category: str
    amount: Fen
    memo: str
    claimant: str = ""
    claimant_id: str = ""


def _content_key(kind: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
    return f"{kind}:{parts[1]}:{parts[0]}:{digest}"


def receipt_transaction(
    receipt: Receipt, host_unit: str, unit_codes: Mapping[str, str]
) -> NewTransaction:
    """Matching from ``host_unit``, or support from the receipt's member unit, each
    unit's account addressed by its code (``unit_codes``: name → code)."""
    if receipt.kind == "support":
        key = _content_key(
            "support", receipt.on, receipt.studio, receipt.amount, receipt.memo, receipt.unit
        )
        source, unit = support_source(unit_codes[receipt.unit]), receipt.unit
    else:  # the key of a matching receipt is what it was before support existed
        key = _content_key("matching", receipt.on, receipt.studio, receipt.amount, receipt.memo)
        source, unit = unit_source(unit_codes[host_unit]), host_unit
    return NewTransaction(
        idempotency_key=key,
        effective_date=receipt.on,
        memo=receipt.memo,
        postings=(Posting(source, studio_fund(receipt.studio, receipt.kind), receipt.amount),),
        metadata={"kind": receipt.kind, "studio": receipt.studio, "unit": unit},
    )


def receipt_errors(where: str, receipt: Receipt, host_unit: str) -> list[ValidationError]:
    """What is wrong with a receipt given its studio's host unit: matching comes from the
    host unit only; support names another unit (the host unit's money is matching)."""
    errors = []
    if receipt.kind not in RECEIPT_KINDS:
        return [
            ValidationError(
                f"{where}.类型", f"应为 {'/'.join(RECEIPT_KINDS.values())} 之一：{receipt.kind!r}"
            )
        ]
    if receipt.amount <= 0:
        errors.append(ValidationError(f"{where}.金额", "金额必须大于零"))
    if receipt.kind == "matching" and receipt.unit and receipt.unit != host_unit:
        errors.append(
            ValidationError(
                f"{where}.出资单位",
                f"挂牌单位配套只能来自挂牌单位{host_unit}；成员所在单位的经费请记为成员单位支持",
            )
        )
    if receipt.kind == "support":
        if not receipt.unit.strip():
            errors.append(ValidationError(f"{where}.出资单位", "成员单位支持须写明出资单位"))
        elif receipt.unit == host_unit:
            errors.append(
                ValidationError(
                    f"{where}.出资单位",
                    f"{host_unit}是挂牌单位，其经费请记为挂牌单位配套",
                )
            )
    return errors


def expense_transaction(expense: Expense, claimant_code: str | None = None) -> NewTransaction:
    """The expense, naming its claimant (by payee code when they are in the registry: an
    ID number never enters the ledger)."""
    parts: list[object] = [
        expense.on,
        expense.studio,
        expense.source,
        expense.category,
        expense.amount,
        expense.memo,
    ]
    if expense.claimant:  # the key of an expense without one is what it was before
        parts.append(expense.claimant)
    metadata: dict[str, JsonValue] = {
        "kind": "expense",
        "studio": expense.studio,
        "category": expense.category,
        "source": expense.source,
    }
    if expense.claimant:
        metadata["claimant"] = expense.claimant
    if claimant_code:
        metadata["claimant_code"] = claimant_code
    return NewTransaction(
        idempotency_key=_content_key("expense", *parts),
        effective_date=expense.on,
        memo=expense.memo,
        postings=(
            Posting(
                studio_fund(expense.studio, expense.source),
                expense_account(expense.category, expense.studio),
                expense.amount,
            ),
        ),
        metadata=metadata,
    )


TRAVEL: Final = ExpenseCategory.TRAVEL.value


def travel_claim_error(
    where: str, expense: Expense, paid_role: str | None, *, included: bool
) -> ValidationError | None:
    """含差旅费: with the policy's ``travel_included``, a 差旅费 names its claimant and
    their 身份证号, and is refused when the claimant is a paid member (``paid_role``:
    their role in the studio on the day, ``host`` or ``member``; ``None`` for an invited
    mentor, a trainee or anyone else)."""
    if expense.category != TRAVEL or not included:
        return None
    if not expense.claimant.strip() or not expense.claimant_id.strip():
        return ValidationError(
            f"{where}.报销人身份证号",
            "差旅费须写明报销人及其身份证号",
        )
    if paid_role is None:
        return None
    role = {"host": "主持人", "member": "成员"}.get(paid_role, paid_role)
    return ValidationError(
        f"{where}.类别",
        f"{expense.claimant}是{expense.studio}的{role}，劳务补贴已含差旅费，不能再报销差旅费",
    )


def expense_errors(where: str, expense: Expense) -> list[ValidationError]:
    """What is wrong with an expense before any balance or plan is looked at."""
    errors = []
    if expense.source not in FUNDING_SOURCES:
        errors.append(
            ValidationError(
                f"{where}.资金来源",
                f"应为 {'/'.join(SOURCE_LABELS.values())} 之一：{expense.source!r}",
            )
        )
    if expense.category not in EXPENSE_CATEGORIES:
        errors.append(
            ValidationError(
                f"{where}.类别",
                f"应为 {'/'.join(EXPENSE_CATEGORIES.values())} 之一：{expense.category!r}",
            )
        )
    if expense.amount <= 0:
        errors.append(ValidationError(f"{where}.金额", "金额必须大于零"))
    if expense.claimant:
        errors += text_errors(f"{where}.报销人", expense.claimant, MAX_NAME)
    if expense.claimant_id:
        errors += id_number_errors(expense.claimant_id, f"{where}.报销人身份证号")
    return errors


def over_plan_error(
    where: str, expense: Expense, planned: Fen | None, spent: Fen
) -> ValidationError | None:
    """Why ``expense`` breaks its plan (none recorded, or over it), else ``None``."""
    label = EXPENSE_CATEGORIES.get(expense.category, expense.category)
    if planned is None:
        return ValidationError(
            f"{where}.类别",
            f"{expense.studio} 没有{expense.on.year}年度{label}的支出计划："
            "须先录入支出计划再支出（计划使用）",
        )
    if spent + expense.amount > planned:
        return ValidationError(
            f"{where}.金额",
            (
                f"超出支出计划：{expense.studio} {expense.on.year}年度{label}计划"
                f"{format_plain(planned)}元，已支出{format_plain(spent)}元，"
                f"本笔{format_plain(expense.amount)}元"
            ),
        )
    return None


@dataclass(frozen=True, slots=True)
class MatchingShortfall:
    """A studio whose host unit matched less than the policy's minimum in a year."""

    studio: str
    host_unit: str
    received: Fen
    minimum: Fen

    @property
    def shortfall(self) -> Fen:
        return self.minimum - self.received


def net_matching(
    movements: Iterable[tuple[Account, Account, Fen]], studios: Iterable[str]
) -> dict[str, Fen]:
    """Net matching money each studio's fund took from host units in a period.

    ``movements`` are (source, destination, amount) totals for the period, as
    :meth:`~ledger.book.LedgerStore.pair_movements` gives them. Money going
    back from the fund to a unit (a reversed receipt, a refund) counts against
    what came in: a receipt that was reversed matched nothing.
    """
    funds = {studio_fund(code, "matching"): code for code in studios}
    received: dict[str, Fen] = {}
    for source, destination, amount in movements:
        if destination in funds and source.startswith(UNIT_SOURCE_PREFIX):
            code = funds[destination]
            received[code] = received.get(code, 0) + amount
        elif source in funds and destination.startswith(UNIT_SOURCE_PREFIX):
            code = funds[source]
            received[code] = received.get(code, 0) - amount
    return received


def matching_shortfalls(
    host_units: dict[str, str], received: dict[str, Fen], minimum: Fen
) -> list[MatchingShortfall]:
    """Every studio (code → host unit) whose unit matched less than ``minimum``."""
    return [
        MatchingShortfall(code, unit, received.get(code, 0), minimum)
        for code, unit in sorted(host_units.items())
        if received.get(code, 0) < minimum
    ]


@dataclass(frozen=True, slots=True)
class ExpensePlan:
    year: int
    studio: str
    category: str
    amount: Fen
