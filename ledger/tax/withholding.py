"""Income tax withheld on stipends (劳务报酬预扣预缴), SPEC §4.

The policy's ``withholding`` field names the rule:

- ``prc_labour_remuneration``: income per payment month ≤ 4,000 元 →
  (income − 800) × 20% (nothing at or below 800); above 4,000 元 → taxable
  income = income × 80%, taxed at 20% up to 20,000 元 taxable, 30% − 2,000 元
  up to 50,000 元, 40% − 7,000 元 above. Rounded half-up to the fen once.
- ``none``: nothing withheld.

Which month a payment belongs to (this module owns the whole rule):

- income is counted in the month the money reaches the payee: the month the
  bank's payment is confirmed (:class:`Payment`). A line that failed at the
  bank or was returned to the fund, and every line of a rejected or cancelled
  draft, was never paid and is nobody's income; a reissue is income of the
  month it is paid;
- a payee's payments in one month are combined: the tax on a payment is the tax
  on everything paid that month minus what was already withheld that month
  (:func:`withhold`), spread over the payee's lines by largest remainder;
- the tax a batch plans when it is created is a forecast for the month it is
  created in; confirming the payment computes the final tax for the month it is
  confirmed in, against the payments already confirmed that month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger.books.periods import Period
from ledger.money import Fen, round_half_up, split, yuan

_BRACKETS: Final = (
    # (taxable income up to, fen; rate %; quick deduction, fen)
    (yuan(20_000), 20, 0),
    (yuan(50_000), 30, yuan(2_000)),
    (None, 40, yuan(7_000)),
)


def labour_remuneration_tax(income: Fen) -> Fen:
    """Tax withheld on ``income`` fen of 劳务报酬 paid in one month."""
    if income <= yuan(800):
        return 0
    if income <= yuan(4_000):
        return round_half_up((income - yuan(800)) * 20, 100)
    # taxable = income × 80%; keep it exact by working in hundredths of a fen
    taxable_x100 = income * 80
    for limit, rate, deduction in _BRACKETS:
        if limit is None or taxable_x100 <= limit * 100:
            return round_half_up(taxable_x100 * rate - deduction * 10_000, 10_000)
    raise AssertionError("unreachable: the last bracket has no limit")


def no_tax(_income: Fen) -> Fen:
    return 0


RULES: Final[dict[str, Callable[[Fen], Fen]]] = {
    "prc_labour_remuneration": labour_remuneration_tax,
    "none": no_tax,
}


def tax_on_payment(
    rule: str, payment: Fen, paid_before_this_month: Fen, withheld_before_this_month: Fen
) -> Fen:
    """Tax to withhold on ``payment`` given what the payee was already paid and
    withheld in the same month (payments in one month are taxed together)."""
    total_tax = RULES[rule](paid_before_this_month + payment)
    return max(0, total_tax - withheld_before_this_month)


@dataclass(frozen=True, slots=True)
class MonthIncome:
    """What a payee was already paid and withheld in a month."""

    paid: Fen = 0
    withheld: Fen = 0


@dataclass(frozen=True, slots=True)
class Payment:
    """A stipend line the bank paid: ``gross`` income of the month of ``paid_on``, of
    which ``tax`` was withheld."""

    person: str
    paid_on: date
    gross: Fen
    tax: Fen


def month_income(payments: Iterable[Payment], month: Period) -> dict[str, MonthIncome]:
    """Each payee's income and tax withheld in ``month``, from the payments confirmed."""
    income: dict[str, MonthIncome] = {}
    for p in payments:
        if Period.of(p.paid_on) == month:
            before = income.get(p.person, MonthIncome())
            income[p.person] = MonthIncome(before.paid + p.gross, before.withheld + p.tax)
    return income


def withhold(
    rule: str, lines: Sequence[tuple[str, Fen]], before: Mapping[str, MonthIncome]
) -> list[Fen]:
    """The tax on each of ``lines`` (payee, gross) paid together in one month.

    Each payee's lines are taxed as one payment on top of ``before`` (what they
    were already paid and withheld that month); that tax is spread over their
    lines in proportion to gross, so the parts always sum to it.
    """
    by_person: dict[str, list[int]] = {}
    for index, (person, _) in enumerate(lines):
        by_person.setdefault(person, []).append(index)
    taxes = [0] * len(lines)
    for person, indexes in by_person.items():
        earlier = before.get(person, MonthIncome())
        grosses = [lines[i][1] for i in indexes]
        total = tax_on_payment(rule, sum(grosses), earlier.paid, earlier.withheld)
        for i, tax in zip(indexes, split(total, grosses), strict=True):
            taxes[i] = tax
    return taxes
