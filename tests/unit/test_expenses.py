"""Pure rules of matching funds: what a host unit paid in, net of what went back."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.funds.expenses import matching_shortfalls, net_matching

FUND = "studio:HJ-S01:fund:matching"
UNIT = "source:unit:第一中学"

amounts = st.integers(min_value=1, max_value=10**12)


def test_only_unit_money_into_a_known_studios_matching_fund_counts() -> None:
    movements = [
        (UNIT, FUND, 300_000),
        (FUND, UNIT, 100_000),  # a reversed receipt
        ("source:finance", "studio:HJ-S01:fund:finance", 2_500_000),
        (FUND, "expense:training:studio:HJ-S01", 50_000),  # spending is not un-matching
        (UNIT, "studio:HJ-S09:fund:matching", 7_000),  # not a studio asked about
    ]
    assert net_matching(movements, ["HJ-S01", "HJ-S02"]) == {"HJ-S01": 200_000}


@given(st.lists(amounts, max_size=5), st.lists(amounts, max_size=5))
def test_net_matching_is_receipts_less_returns(paid: list[int], returned: list[int]) -> None:
    movements = [(UNIT, FUND, a) for a in paid] + [(FUND, UNIT, a) for a in returned]
    net = net_matching(movements, ["HJ-S01"])
    assert net.get("HJ-S01", 0) == sum(paid) - sum(returned)


def test_a_shortfall_is_named_with_its_unit_and_what_is_missing() -> None:
    [short] = matching_shortfalls(
        {"HJ-S01": "第一中学", "HJ-S02": "第二中学"},
        {"HJ-S01": 199_999, "HJ-S02": 200_000},
        200_000,
    )
    assert (short.studio, short.host_unit, short.received, short.shortfall) == (
        "HJ-S01",
        "第一中学",
        199_999,
        1,
    )
