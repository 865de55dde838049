"""劳务报酬 withholding, worked examples of the issue, to the fen."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.periods import Period
from ledger.money import yuan
from ledger.tax.withholding import (
    MonthIncome,
    Payment,
    Resettlement,
    Terms,
    labour_remuneration_tax,
    labour_remuneration_terms,
    month_income,
    resettle,
    tax_on_payment,
    withhold,
)

RULE = "prc_labour_remuneration"


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


MARCH = Period(2025, 3)


def test_only_payments_confirmed_in_the_month_are_its_income() -> None:
    payments = [
        Payment("P1", date(2025, 3, 5), yuan(2_500), yuan(340)),
        Payment("P1", date(2025, 3, 31), yuan(1_000), yuan(40)),
        Payment("P1", date(2025, 4, 1), yuan(9_999), yuan(1)),  # April's, not March's
        Payment("P2", date(2025, 2, 28), yuan(5_000), yuan(800)),
    ]
    assert month_income(payments, MARCH) == {"P1": MonthIncome(yuan(3_500), yuan(380))}


def test_a_payees_lines_are_taxed_together_and_spread_by_gross() -> None:
    lines = [("P1", yuan(2_500)), ("P2", yuan(5_000)), ("P1", yuan(2_500))]
    assert withhold(RULE, lines, {}) == [yuan(400), yuan(800), yuan(400)]
    earlier = {"P1": MonthIncome(yuan(2_500), yuan(340))}
    # 5,000 + 2,500 already paid = 7,500 → 1,200 in all, 340 of it withheld before
    assert withhold(RULE, lines, earlier) == [yuan(430), yuan(800), yuan(430)]
    assert withhold("none", lines, earlier) == [0, 0, 0]


@given(
    st.lists(
        st.tuples(st.sampled_from(["P1", "P2", "P3"]), st.integers(1, yuan(30_000))), max_size=8
    ),
    st.integers(0, yuan(10_000)),
)
def test_each_payees_parts_sum_to_the_tax_on_their_month(
    lines: list[tuple[str, int]], paid_before: int
) -> None:
    before = {"P1": MonthIncome(paid_before, labour_remuneration_tax(paid_before))}
    taxes = withhold(RULE, lines, before)
    assert all(t >= 0 for t in taxes)
    for person in {p for p, _ in lines}:
        own = [t for (p, _), t in zip(lines, taxes, strict=True) if p == person]
        income = sum(g for p, g in lines if p == person)
        earlier = before.get(person, MonthIncome())
        assert sum(own) == labour_remuneration_tax(earlier.paid + income) - earlier.withheld


@pytest.mark.parametrize(
    ("income", "deduction", "taxable", "rate", "quick", "tax"),
    [
        (yuan(500), yuan(500), 0, 20, 0, 0),
        (yuan(800), yuan(800), 0, 20, 0, 0),
        (yuan(2_500), yuan(800), yuan(1_700), 20, 0, yuan(340)),
        (yuan(4_000), yuan(800), yuan(3_200), 20, 0, yuan(640)),
        (yuan(4_001), 80_020, 320_080, 20, 0, 64_016),
        (yuan(25_000), yuan(5_000), yuan(20_000), 20, 0, yuan(4_000)),
        (yuan(25_100), yuan(5_020), yuan(20_080), 30, yuan(2_000), yuan(4_024)),
        (yuan(62_500), yuan(12_500), yuan(50_000), 30, yuan(2_000), yuan(13_000)),
        (yuan(62_600), yuan(12_520), yuan(50_080), 40, yuan(7_000), yuan(13_032)),
    ],
)
def test_the_declarations_terms_at_each_limit(
    income: int, deduction: int, taxable: int, rate: int, quick: int, tax: int
) -> None:
    assert labour_remuneration_terms(income) == Terms(deduction, taxable, rate, quick, tax)


@given(st.integers(min_value=0, max_value=yuan(10_000_000)))
def test_the_terms_add_up_to_the_tax(income: int) -> None:
    t = labour_remuneration_terms(income)
    assert t.deduction + t.taxable == income
    assert t.tax == labour_remuneration_tax(income)
    # taxable × rate − quick deduction is the tax, but for the fen the form rounds
    assert abs(t.taxable * t.rate / 100 - t.quick_deduction - t.tax) <= 1 or t.taxable == 0


def test_a_month_is_resettled_on_what_was_paid() -> None:
    march = Period(2025, 3)
    over = resettle("prc_labour_remuneration", "P1", march, MonthIncome(yuan(2_500), yuan(400)))
    assert over == Resettlement("P1", march, yuan(2_500), yuan(340), yuan(400))
    assert over.over == yuan(60)
    short = resettle("prc_labour_remuneration", "P1", march, MonthIncome(yuan(5_000), yuan(680)))
    assert short.over == -yuan(120)
    assert resettle("none", "P1", march, MonthIncome(yuan(5_000), 0)).over == 0


def test_801_yuan_of_labour_remuneration_is_taxed_20_fen() -> None:
    assert labour_remuneration_tax(yuan(801)) == 20
    assert labour_remuneration_tax(yuan(800) + 3) == 1  # 3 fen × 20% = 0.6 fen: 1 fen
