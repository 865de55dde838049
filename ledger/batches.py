"""Disbursement batches (劳务补贴发放): the state machine, maker-checker, and planning.

A batch is computed from a year's entitlements. Planning (:func:`plan_batch`)
is pure: it takes the entitlement lines, what was already paid, the studios'
available balances and the payees' earlier income in the payment month, and
returns the batch lines (gross, split per source, tax, net) and the lines left
out with the reason.

States (:data:`TRANSITIONS`)::

    draft ──approve──▶ approved ──pay──▶ paid ──close──▶ closed
      │                    └──pay_partially──▶ partially_paid ──close──▶ closed
      ├──reject──▶ rejected
      └──cancel──▶ cancelled

Invariants:
- a line's gross = tax + net, and its split sums to its gross;
- one payee is paid at most once per (year, studio, role);
- a studio's lines never exceed its available balance per source;
- the preparer never approves; above the policy threshold two distinct
  approvers are needed; nobody approves twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger.codes import BatchState, LineStatus, codes, labels
from ledger.entitlements import EntitlementLine
from ledger.errors import InvalidTransitionError, MakerCheckerError
from ledger.money import Fen, format_plain
from ledger.policy import Policy
from ledger.withholding import MonthIncome, withhold

STATES: Final = codes(BatchState)
STATE_LABELS: Final = labels(BatchState)
TRANSITIONS: Final[Mapping[tuple[str, str], str]] = {
    ("draft", "approve"): "approved",
    ("draft", "reject"): "rejected",
    ("draft", "cancel"): "cancelled",
    ("approved", "pay"): "paid",
    ("approved", "pay_partially"): "partially_paid",
    ("paid", "close"): "closed",
    ("partially_paid", "close"): "closed",
}
ACTIVE_STATES: Final = frozenset({"draft", "approved", "paid", "partially_paid", "closed"})
"""States in which a batch's lines count as paid or being paid."""

LINE_STATUSES: Final = codes(LineStatus)
LINE_STATUS_LABELS: Final = labels(LineStatus)


def next_state(state: str, action: str) -> str:
    """The state after ``action``, or :class:`InvalidTransitionError`."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = sorted(a for (s, a) in TRANSITIONS if s == state)
        raise InvalidTransitionError(
            f"a {state} batch cannot {action}"
            + (f"; it can: {', '.join(allowed)}" if allowed else "; it is final")
        ) from None


def approvals_needed(total_gross: Fen, policy: Policy) -> int:
    """Two distinct approvers above the policy's threshold, else one."""
    return 2 if total_gross > policy.approval_threshold else 1


def check_approver(approver: str, prepared_by: str, approved_by: Iterable[str]) -> None:
    """Maker-checker: the preparer cannot approve, and nobody approves twice."""
    if approver == prepared_by:
        raise MakerCheckerError(f"{approver} prepared this batch and cannot approve it")
    if approver in set(approved_by):
        raise MakerCheckerError(
            f"{approver} has already approved this batch; a second approver must be someone else"
        )


def check_not_own_pay(
    approver: str, id_number: str | None, own: str | None, lines: Iterable[tuple[int, str]]
) -> None:
    """Nobody approves their own pay: ``approver`` (whose ID number is ``id_number``, and
    who is the payee ``own`` in the registry, if they are a payee at all) may not approve
    a batch with a line — ``(number, payee)`` — paying them. An approver with no ID number
    recorded cannot be checked, so cannot approve."""
    if id_number is None:
        raise MakerCheckerError(
            f"审批人 {approver} 未登记身份证号，无法核对是否审批本人款项；请以 users add … "
            f"--id-number 重新添加 ({approver} has no ID number recorded)"
        )
    paying = sorted(number for number, payee in lines if payee == own)
    if paying:
        shown = "、".join(str(n) for n in paying[:10]) + ("等" if len(paying) > 10 else "")
        raise MakerCheckerError(
            f"本批次第 {shown} 行向审批人 {approver} 本人付款，须由他人审批 "
            f"({approver} cannot approve a batch that pays them)"
        )


def paid_key(year: int, studio: str, person: str, role: str) -> str:
    """What makes a stipend unique: a payee is paid once per year, studio and role."""
    return f"{year}:{studio}:{person}:{role}"


@dataclass(frozen=True, slots=True)
class PlannedLine:
    """A batch line before it is stored.

    Attributes:
      entitlement: the entitlement line it pays (its months, grade, explanation).
      split: gross per funding source, fen.
      tax: income tax withheld, fen.
      reissue_of: the failed line this pays again, if it is a reissue.
    """

    entitlement: EntitlementLine
    split: Mapping[str, Fen]
    tax: Fen
    reissue_of: int | None = None

    @property
    def gross(self) -> Fen:
        return self.entitlement.gross

    @property
    def net(self) -> Fen:
        return self.gross - self.tax


@dataclass(frozen=True)
class BatchPlan:
    lines: list[PlannedLine]
    left_out: list[tuple[EntitlementLine, str]] = field(default_factory=list)

    @property
    def gross(self) -> Fen:
        return sum(line.gross for line in self.lines)

    @property
    def tax(self) -> Fen:
        return sum(line.tax for line in self.lines)


def plan_batch(
    lines: Sequence[EntitlementLine],
    policy: Policy,
    *,
    already_paid: Mapping[str, int],
    available: Mapping[tuple[str, str], Fen],
    month_income: Mapping[str, MonthIncome],
) -> BatchPlan:
    """The lines of a new batch, and the entitlement lines left out with why.

    ``already_paid`` maps :func:`paid_key` → the batch that pays it;
    ``available`` maps (studio, source) → balance not yet committed;
    ``month_income`` maps person → income already confirmed in the month the
    batch is planned to be paid in; the tax it gives is a forecast
    (:mod:`ledger.withholding`).
    """
    left_out: list[tuple[EntitlementLine, str]] = []
    candidates: list[EntitlementLine] = []
    for line in lines:
        key = paid_key(line.year, line.studio, line.person, line.role)
        if line.held is not None:
            left_out.append((line, line.held))
        elif key in already_paid:
            left_out.append(
                (
                    line,
                    f"已在批次#{already_paid[key]}中发放 (already in batch #{already_paid[key]})",
                )
            )
        elif line.gross == 0:
            left_out.append((line, f"应发金额为零 (nothing owed): {line.explanation}"))
        else:
            candidates.append(line)
    candidates, short = _within_balances(candidates, available)
    left_out += short
    return BatchPlan(_with_tax(candidates, policy, month_income), left_out)


def _within_balances(
    lines: list[EntitlementLine], available: Mapping[tuple[str, str], Fen]
) -> tuple[list[EntitlementLine], list[tuple[EntitlementLine, str]]]:
    """Hold every line of a studio whose lines need more than a source holds."""
    needed: dict[tuple[str, str], Fen] = {}
    for line in lines:
        for source, amount in line.split.items():
            needed[(line.studio, source)] = needed.get((line.studio, source), 0) + amount
    short = {
        studio: (source, amount, available.get((studio, source), 0))
        for (studio, source), amount in needed.items()
        if amount > available.get((studio, source), 0)
    }
    kept, held = [], []
    for line in lines:
        if line.studio in short:
            source, amount, balance = short[line.studio]
            held.append(
                (
                    line,
                    f"工作室{source}资金不足 (studio funds short): needs "
                    f"{format_plain(amount)}, holds {format_plain(balance)}",
                )
            )
        else:
            kept.append(line)
    return kept, held


def _with_tax(
    lines: list[EntitlementLine], policy: Policy, month_income: Mapping[str, MonthIncome]
) -> list[PlannedLine]:
    """The forecast tax of each line if the batch is paid in the month it is planned in."""
    taxes = withhold(policy.withholding, [(x.person, x.gross) for x in lines], month_income)
    return [
        PlannedLine(line, dict(line.split), tax) for line, tax in zip(lines, taxes, strict=True)
    ]
