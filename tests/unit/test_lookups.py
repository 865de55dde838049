"""The desk's lookups: what a 搜索 box means, and a person's months paid."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ledger.batches.batch import LineStatus
from ledger.lookups import MonthPaid, Payout, months_paid
from ledger.registry.search import MAX_SEARCH, Search
from tests.unit.test_availability import _line


def test_a_search_is_trimmed_cut_and_read_as_the_last_four_of_an_id_only_when_it_can_be() -> None:
    assert Search.of("  教师1 ").text == "教师1"
    assert Search.of("102x").last_four == "102X"
    assert Search.of("9023").last_four == "9023"
    assert Search.of("90234").last_four is None
    assert Search.of("X023").last_four is None
    assert Search.of("hj-s01").code == "HJ-S01"
    assert len(Search.of("名" * 100).text) == MAX_SEARCH
    assert not Search.of("   ")
    assert Search.of("a\u202eb").text == "a\\u202eb"  # a hidden character is written out


def test_months_paid_count_only_paid_lines_by_their_payment_month_at_final_amounts() -> None:
    paid = replace(
        _line(1, "HJ-S01", 250_000, 250_000), status=LineStatus.PAID, tax=80_000, net=420_000
    )
    settled = replace(paid, number=2, final_tax=60_000, final_net=440_000, refund=6_000)
    returned = replace(paid, number=3, status=LineStatus.FAILED)
    waiting = replace(paid, number=4, status=LineStatus.PENDING)
    assert months_paid(
        [
            Payout(2, date(2025, 1, 3), paid),
            Payout(1, date(2024, 12, 24), settled),
            Payout(1, date(2024, 12, 24), paid),
            Payout(1, date(2024, 12, 24), returned),
            Payout(3, None, waiting),
        ]
    ) == [
        MonthPaid("2024-12", 2, 1_000_000, 140_000, 6_000, 866_000),  # 420,000 + 446,000
        MonthPaid("2025-01", 1, 500_000, 80_000, 0, 420_000),
    ]
