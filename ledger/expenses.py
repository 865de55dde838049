"""Matching receipts and activity expenses (配套资金, 专项支出).

A host unit's matching money enters ``studio:<id>:fund:matching`` from
``source:unit:<unit>``. An activity expense leaves one of the studio's funds for
``expense:<category>:studio:<id>``; it must stay within the studio's plan for
that category and year (计划使用, 专款专用) — checked by :func:`over_plan_error` —
and within the fund's balance (the ledger's overdraft guard).

Each receipt or expense gets an idempotency key derived from its content, so
importing the same file twice posts nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger.accounts import (
    FUNDING_SOURCES,
    UNIT_SOURCE_PREFIX,
    Account,
    expense_account,
    studio_fund,
    unit_source,
)
from ledger.codes import ExpenseCategory, FundingSource, labels
from ledger.errors import ValidationError
from ledger.money import Fen, format_plain
from ledger.postings import NewTransaction, Posting

EXPENSE_CATEGORIES: Final = labels(ExpenseCategory)
SOURCE_LABELS: Final = labels(FundingSource)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Matching money received from the studio's host unit."""

    on: date
    studio: str
    amount: Fen
    memo: str


@dataclass(frozen=True, slots=True)
class Expense:
    """An activity expense paid from one of the studio's funds."""

    on: date
    studio: str
    source: str
    category: str
    amount: Fen
    memo: str


def _content_key(kind: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]
    return f"{kind}:{parts[1]}:{parts[0]}:{digest}"


def receipt_transaction(receipt: Receipt, host_unit: str) -> NewTransaction:
    return NewTransaction(
        idempotency_key=_content_key(
            "matching", receipt.on, receipt.studio, receipt.amount, receipt.memo
        ),
        effective_date=receipt.on,
        memo=receipt.memo,
        postings=(
            Posting(
                unit_source(host_unit), studio_fund(receipt.studio, "matching"), receipt.amount
            ),
        ),
        metadata={"kind": "matching", "studio": receipt.studio, "unit": host_unit},
    )


def expense_transaction(expense: Expense) -> NewTransaction:
    return NewTransaction(
        idempotency_key=_content_key(
            "expense",
            expense.on,
            expense.studio,
            expense.source,
            expense.category,
            expense.amount,
            expense.memo,
        ),
        effective_date=expense.on,
        memo=expense.memo,
        postings=(
            Posting(
                studio_fund(expense.studio, expense.source),
                expense_account(expense.category, expense.studio),
                expense.amount,
            ),
        ),
        metadata={
            "kind": "expense",
            "studio": expense.studio,
            "category": expense.category,
            "source": expense.source,
        },
    )


def expense_errors(where: str, expense: Expense) -> list[ValidationError]:
    """What is wrong with an expense before any balance or plan is looked at."""
    errors = []
    if expense.source not in FUNDING_SOURCES:
        errors.append(
            ValidationError(
                f"{where}.资金来源",
                f"must be one of {', '.join(SOURCE_LABELS.values())}: {expense.source!r}",
            )
        )
    if expense.category not in EXPENSE_CATEGORIES:
        errors.append(
            ValidationError(
                f"{where}.类别", f"must be one of {', '.join(EXPENSE_CATEGORIES.values())}"
            )
        )
    if expense.amount <= 0:
        errors.append(ValidationError(f"{where}.金额", "must be positive"))
    return errors


def over_plan_error(
    where: str, expense: Expense, planned: Fen | None, spent: Fen
) -> ValidationError | None:
    """Why ``expense`` breaks its plan (none recorded, or over it), else ``None``."""
    label = EXPENSE_CATEGORIES.get(expense.category, expense.category)
    if planned is None:
        return ValidationError(
            f"{where}.类别",
            (
                f"{expense.studio} has no {expense.on.year} plan for {label}: "
                "spending must be planned first (计划使用)"
            ),
        )
    if spent + expense.amount > planned:
        return ValidationError(
            f"{where}.金额",
            (
                f"超出支出计划 (over plan): {expense.studio} {expense.on.year} {label} plan "
                f"{format_plain(planned)}, spent {format_plain(spent)}, "
                f"this expense {format_plain(expense.amount)}"
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
