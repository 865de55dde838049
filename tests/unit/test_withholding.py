"""劳务报酬 withholding, worked examples of the issue, to the fen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.money import yuan
from ledger.withholding import labour_remuneration_tax, tax_on_payment


@pytest.mark.parametrize(
    ("income", "tax"),
    [
        (yuan(800), 0),  # at the threshold nothing is withheld
        (yuan(500), 0),
        (yuan(4_000), yuan(640)),  # (4,000 − 800) × 20%
        (yuan(4_000) + 100, 64_016),  # 4,001 × 80% × 20% = 640.16
        (yuan(5_000), yuan(800)),  # 5,000 × 80% × 20%
        (yuan(10_000), yuan(1_600)),
        (yuan(25_000), yuan(4_000)),  # taxable exactly 20,000: still 20%
        (yuan(62_500), yuan(13_000)),  # taxable 50,000 × 30% − 2,000
        (yuan(100_000), yuan(25_000)),  # taxable 80,000 × 40% − 7,000
        (yuan(2_500), yuan(340)),  # (2,500 − 800) × 20%
        (208_333, 25_667),  # (2,083.33 − 800) × 20% = 256.666 → 256.67
    ],
)
def test_worked_examples(income: int, tax: int) -> None:
    assert labour_remuneration_tax(income) == tax


@given(st.integers(0, yuan(1_000_000)), st.integers(0, yuan(1_000_000)))
def test_tax_never_exceeds_income_and_grows_with_it(a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert 0 <= labour_remuneration_tax(low) <= labour_remuneration_tax(high)
    assert labour_remuneration_tax(high) < high or high == 0


def test_payments_in_one_month_are_taxed_together() -> None:
    first = tax_on_payment("prc_labour_remuneration", yuan(3_000), 0, 0)
    assert first == yuan(440)  # (3,000 − 800) × 20%
    second = tax_on_payment("prc_labour_remuneration", yuan(2_000), yuan(3_000), first)
    assert first + second == labour_remuneration_tax(yuan(5_000)) == yuan(800)


def test_no_withholding_when_the_policy_says_none() -> None:
    assert tax_on_payment("none", yuan(10_000), 0, 0) == 0
