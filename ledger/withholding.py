"""Income tax withheld on stipends (劳务报酬预扣预缴), SPEC §4.

The policy's ``withholding`` field names the rule:

- ``prc_labour_remuneration``: income per payment month ≤ 4,000 元 →
  (income − 800) × 20% (nothing at or below 800); above 4,000 元 → taxable
  income = income × 80%, taxed at 20% up to 20,000 元 taxable, 30% − 2,000 元
  up to 50,000 元, 40% − 7,000 元 above. Rounded half-up to the fen once.
- ``none``: nothing withheld.

A payee's payments in the same month are combined: the tax on a payment is the
tax on everything paid that month minus what was already withheld that month.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ledger.money import Fen, yuan

_BRACKETS: Final = (
    # (taxable income up to, fen; rate %; quick deduction, fen)
    (yuan(20_000), 20, 0),
    (yuan(50_000), 30, yuan(2_000)),
    (None, 40, yuan(7_000)),
)


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def labour_remuneration_tax(income: Fen) -> Fen:
    """Tax withheld on ``income`` fen of 劳务报酬 paid in one month."""
    if income <= yuan(800):
        return 0
    if income <= yuan(4_000):
        return _half_up((income - yuan(800)) * 20, 100)
    # taxable = income × 80%; keep it exact by working in hundredths of a fen
    taxable_x100 = income * 80
    for limit, rate, deduction in _BRACKETS:
        if limit is None or taxable_x100 <= limit * 100:
            return _half_up(taxable_x100 * rate - deduction * 10_000, 10_000)
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
