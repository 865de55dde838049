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
- the tax a batch plans when it is created is for the month it is created in,
  against the payments already confirmed that month; its approvers approve it and
  the bank file sends the rest, so the bank pays exactly the approved net and the
  payment withholds exactly the approved tax;
- once the bank has answered for all of a payee's lines in a batch, their month is
  re-settled (:func:`resettle`): the tax due on what was actually paid that month
  against what was withheld. A line the bank failed was not income, so a payee
  paid one of two lines had too much withheld (2,500 + 2,500 元 plan 800 元, 400 on
  each line; one paid, 340 is due): the difference (60) goes back from the tax
  account to the payee's payable on the failed line, which carries it and pays it
  with its reissue (the re-settlement is counted in the month it belongs to).
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


@dataclass(frozen=True, slots=True)
class Terms:
    """How the tax on one month's 劳务报酬 is worked out, as the 扣缴申报 shows it:
    减除费用, 应纳税所得额, 税率 (%), 速算扣除数 and 应纳税额 (fen)."""

    deduction: Fen
    taxable: Fen
    rate: int
    quick_deduction: Fen
    tax: Fen


def labour_remuneration_terms(income: Fen) -> Terms:
    """The terms of :func:`labour_remuneration_tax` for ``income``: 800 元 deducted up
    to 4,000 元, 20% above (rounded half-up to the fen for the form; the tax itself is
    worked out exactly and rounded once)."""
    small = income <= yuan(4_000)
    deduction = min(income, yuan(800)) if small else round_half_up(income * 20, 100)
    taxable = income - deduction
    rate, quick = 20, 0
    if income > yuan(4_000):
        rate, quick = next(
            (r, q) for limit, r, q in _BRACKETS if limit is None or income * 80 <= limit * 100
        )
    return Terms(deduction, taxable, rate, quick, labour_remuneration_tax(income))


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


@dataclass(frozen=True, slots=True)
class Resettlement:
    """A payee's month re-settled: what they were paid, the tax due on it, and what was
    withheld from it (less what earlier re-settlements gave back)."""

    person: str
    month: Period
    paid: Fen
    due: Fen
    withheld: Fen

    @property
    def over(self) -> Fen:
        """Withheld too much (positive) or too little (negative)."""
        return self.withheld - self.due


def resettle(rule: str, person: str, month: Period, income: MonthIncome) -> Resettlement:
    """The tax due on ``person``'s income of ``month`` against what was withheld."""
    return Resettlement(person, month, income.paid, RULES[rule](income.paid), income.withheld)


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
