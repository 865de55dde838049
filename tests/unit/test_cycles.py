"""The cycle's rules as worked examples: funding by assessment, which cycle a close
closes, where the money goes back (hypothesis: the parts always sum to the pool), who may
be renamed, and the travel rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.funds.appropriation import FundingDecision, appropriation, funding_share
from ledger.funds.expenses import Expense, travel_claim_error
from ledger.registry.cycles import (
    Cycle,
    close_voucher,
    closed_for,
    cycle_to_close,
    first_cycle,
    next_cycle,
    reinstatement_refusal,
    renewal_refusal,
    returns_to_units,
)
from ledger.registry.policy import NOTICE_2024
from ledger.registry.roster import Studio

STUDIO = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
CYCLE = first_cycle(STUDIO, NOTICE_2024)
DECISION = FundingDecision("HJ-S01", 2025, 100, "整改到位", "admin", datetime(2025, 3, 1))


def test_a_studios_first_year_is_funded_whole_and_later_years_by_the_grade_before() -> None:
    assert funding_share(STUDIO, 2024, NOTICE_2024, None).percent == 100
    assert funding_share(STUDIO, 2025, NOTICE_2024, "qualified").percent == 100
    assert (
        funding_share(STUDIO, 2025, NOTICE_2024, "excellent").basis == "2024年度考核优秀，拨付100%"
    )
    held = funding_share(STUDIO, 2025, NOTICE_2024, "unqualified")
    assert (held.percent, held.held, held.awaits_decision) == (0, True, True)
    assert held.basis.startswith("2024年度考核不合格，按政策暂停拨付")
    ungraded = funding_share(STUDIO, 2025, NOTICE_2024, None)
    assert ungraded.basis.startswith("2024年度考核结果未录入")
    # held for want of a grade: recording it restores the studio, not a decision
    assert (ungraded.held, ungraded.awaits_decision) == (True, False)


def test_a_decision_restores_a_studio_held_for_its_grade() -> None:
    restored = funding_share(STUDIO, 2025, NOTICE_2024, "unqualified", DECISION)
    assert (restored.percent, restored.awaits_decision) == (100, False)
    assert restored.basis == "2024年度考核不合格，经领导小组决定恢复拨付100%（admin：整改到位）"
    # a decision does not stand in for a missing grade
    assert funding_share(STUDIO, 2025, NOTICE_2024, None, DECISION).held


def test_a_partial_share_is_rounded_once_and_split_to_the_fen() -> None:
    policy = replace(NOTICE_2024, annual_budget=3_333_333)
    voucher = appropriation("HJ-S01", 2025, policy, date(2025, 1, 2), percent=33)
    # 33% of 33,333.33 元 is 11,000.00 元 (1,099,999.89 fen, half-up), split 50/50
    assert [p.amount for p in voucher.postings] == [550_000, 550_000]
    assert voucher.memo == "2025年度工作室业务经费拨款（按考核结果拨付33%）"


def test_a_cycle_closes_after_its_last_year_or_once_the_studio_is_cancelled() -> None:
    assert (CYCLE.first_year, CYCLE.last_year) == (2024, 2026)
    with pytest.raises(ValidationError, match="尚未期满"):
        cycle_to_close(STUDIO, [CYCLE], date(2026, 12, 31))
    assert cycle_to_close(STUDIO, [CYCLE], date(2027, 1, 1)) == CYCLE
    cancelled = replace(STUDIO, cancelled_on=date(2025, 6, 30))
    assert cycle_to_close(cancelled, [CYCLE], date(2025, 6, 30)) == CYCLE
    with pytest.raises(ValidationError, match="没有未结算的周期"):
        cycle_to_close(STUDIO, [replace(CYCLE, closed_on=date(2027, 1, 5))], date(2027, 2, 1))


def test_renewal_needs_the_cycle_closed_and_a_final_grade_the_policy_allows() -> None:
    closed = replace(CYCLE, closed_on=date(2027, 1, 5), closed_by="boss")
    assert renewal_refusal(STUDIO, [closed], "qualified", NOTICE_2024) is None
    assert renewal_refusal(STUDIO, [closed], "excellent", NOTICE_2024) is None
    assert "不再命名和授牌" in (renewal_refusal(STUDIO, [closed], "unqualified", NOTICE_2024) or "")
    assert "结果未录入" in (renewal_refusal(STUDIO, [closed], None, NOTICE_2024) or "")
    assert "先结算" in (renewal_refusal(STUDIO, [CYCLE], "qualified", NOTICE_2024) or "")
    strict = replace(NOTICE_2024, renewal_grades=("excellent",))
    assert renewal_refusal(STUDIO, [closed], "qualified", strict) is not None
    renewed = next_cycle(closed, NOTICE_2024)
    assert (renewed.number, renewed.first_year, renewed.last_year) == (2, 2027, 2029)


@given(
    pool=st.integers(min_value=0, max_value=10**12),
    paid=st.lists(st.integers(min_value=1, max_value=10**10), min_size=1, max_size=8),
)
def test_a_unit_pool_goes_back_in_proportion_and_to_the_fen(pool: int, paid: list[int]) -> None:
    units = {f"source:support:单位{i}": fen for i, fen in enumerate(paid)}
    backs = returns_to_units(pool, units)
    assert sum(fen for _, fen in backs) == pool
    assert all(fen > 0 for _, fen in backs)
    total = sum(paid)
    for unit, fen in backs:  # each within one fen of its exact share
        assert abs(fen * total - pool * units[unit]) < total


def test_one_payer_gets_the_whole_pool_back_and_money_nobody_paid_is_refused() -> None:
    assert returns_to_units(600_000, {"source:unit:第一中学": 600_000}) == [
        ("source:unit:第一中学", 600_000)
    ]
    assert returns_to_units(0, {}) == []
    with pytest.raises(ValidationError, match="没有单位拨入"):
        returns_to_units(1, {"source:unit:第一中学": 0})


def test_the_close_voucher_sends_each_pool_home_and_nothing_when_nothing_is_left() -> None:
    voucher = close_voucher(
        STUDIO,
        CYCLE,
        {"finance": 1_500_000, "edu_fund": 1_500_000, "matching": 0, "support": 3},
        {"support": {"source:support:外校2": 2, "source:support:外校3": 1}},
        date(2027, 1, 10),
    )
    assert voucher is not None
    assert [(p.destination, p.amount) for p in voucher.postings] == [
        ("source:finance", 1_500_000),
        ("source:edu_fund", 1_500_000),
        ("source:support:外校2", 2),
        ("source:support:外校3", 1),
    ]
    assert voucher.idempotency_key == "cycle-close:HJ-S01:1"
    assert close_voucher(STUDIO, CYCLE, {}, {}, date(2027, 1, 10)) is None


TRAVEL = Expense(date(2024, 5, 1), "HJ-S01", "finance", "travel", 80_000, "差旅", "教师2", "X")


def test_a_paid_members_travel_is_in_their_stipend() -> None:
    refused = travel_claim_error("expenses[0]", TRAVEL, "member", included=True)
    assert refused is not None
    assert refused.message.startswith("教师2是HJ-S01的成员，劳务补贴已含差旅费")
    assert travel_claim_error("expenses[0]", TRAVEL, None, included=True) is None
    assert travel_claim_error("expenses[0]", TRAVEL, "member", included=False) is None
    materials = replace(TRAVEL, category="materials", claimant="", claimant_id="")
    assert travel_claim_error("expenses[0]", materials, "member", included=True) is None
    nameless = replace(TRAVEL, claimant_id="")
    assert travel_claim_error("expenses[0]", nameless, None, included=True) is not None


def test_a_cycle_says_where_it_stands() -> None:
    cycle = Cycle("HJ-S01", 1, 2024, 2026)
    assert [cycle.state(date(y, 6, 1)) for y in (2024, 2026, 2027)] == ["open", "open", "ended"]
    assert replace(cycle, closed_on=date(2027, 1, 5)).state(date(2027, 6, 1)) == "closed"
    assert cycle.label == "第1周期（2024-2026）"


def test_a_closed_cycle_gets_no_budget_and_its_cancelled_studio_stays_cancelled() -> None:
    closed = replace(CYCLE, closed_on=date(2024, 10, 8))
    renewed = Cycle("HJ-S01", 2, 2027, 2029)
    assert closed_for([closed, renewed], 2025) == {"HJ-S01"}
    assert closed_for([closed, renewed], 2027) == set()  # the renewed cycle is open
    assert closed_for([CYCLE], 2025) == set()
    gone = replace(STUDIO, cancelled_on=date(2024, 9, 30), cancellation_cause="transferred_out")
    assert reinstatement_refusal(gone, STUDIO, [closed]) == (
        "HJ-S01 已于2024-09-30撤销，其第1周期（2024-2026）已于2024-10-08结算，"
        "不能在名册中恢复为正常"
    )
    assert reinstatement_refusal(gone, STUDIO, [CYCLE]) is None  # corrected while open
    assert reinstatement_refusal(gone, gone, [closed]) is None  # saved as it stands
    assert reinstatement_refusal(None, STUDIO, []) is None  # a new studio
    assert reinstatement_refusal(STUDIO, STUDIO, [closed]) is None  # never cancelled
