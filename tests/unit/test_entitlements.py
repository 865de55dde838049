"""Worked examples of every stipend rule of SPEC §1, to the fen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.batches.entitlements import EntitlementLine, describe_months, entitlements, prorated
from ledger.money import round_half_up, yuan
from ledger.registry.policy import NOTICE_2024, Policy
from ledger.registry.roster import Membership, Person, Studio

STUDIO = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
HOST = Person("P000001", "150102198001011234", "王老师", "第一中学")
MEMBER = Person("P000002", "150102199002022345", "李老师", "第二中学")
TRAINEE = Person("P000003", "150102199503033456", "赵老师", "第三中学")


def lines(
    *memberships: Membership,
    studio: Studio = STUDIO,
    year: int = 2024,
    studio_grade: str | None = "qualified",
    person_grades: dict[tuple[str, str], str] | None = None,
    policy: Policy = NOTICE_2024,
) -> list[EntitlementLine]:
    return entitlements(
        year,
        policy,
        studios=[studio],
        people=[HOST, MEMBER, TRAINEE],
        memberships=memberships,
        studio_grades={} if studio_grade is None else {studio.code: studio_grade},
        person_grades=person_grades or {},
    )


def member(
    joined: date, left: date | None = None, person: str = "P000002", role: str = "member"
) -> Membership:
    return Membership("HJ-S01", person, role, joined, left)


def host(joined: date = date(2024, 1, 1)) -> Membership:
    return Membership("HJ-S01", "P000001", "host", joined)


def test_a_host_for_the_full_year_is_paid_exactly_10000_yuan() -> None:
    [line] = lines(host(), studio_grade="excellent")
    assert line.gross == 1_000_000
    assert line.months == tuple(range(1, 13))
    assert line.split == {"finance": 500_000, "edu_fund": 500_000}
    assert (
        line.explanation
        == "主持人，2024年1-12月在册12个月，等次优秀(100%)：10,000.00×12/12=10,000.00"
    )
    assert line.policy_version == "杭政办发〔2024〕2号"
    assert line.held is None


def test_a_member_who_joined_on_1_july_is_paid_6_twelfths_of_5000_yuan() -> None:
    [line] = lines(member(date(2024, 7, 1)))
    assert line.months == (7, 8, 9, 10, 11, 12)
    assert line.gross == 250_000
    assert line.explanation == "成员，2024年7-12月在册6个月，等次合格(100%)：5,000.00×6/12=2,500.00"


def test_a_member_who_joined_on_16_july_missed_julys_15th_and_is_paid_5_months() -> None:
    [line] = lines(member(date(2024, 7, 16)))
    assert line.months == (8, 9, 10, 11, 12)
    assert line.gross == 208_333  # 500,000 × 5 / 12 = 208,333.33…
    assert line.split == {"finance": 104_167, "edu_fund": 104_166}


def test_a_member_who_joined_on_the_15th_counts_that_month() -> None:
    [line] = lines(member(date(2024, 7, 15)))
    assert line.months == (7, 8, 9, 10, 11, 12)


def test_a_member_who_left_and_came_back_is_paid_for_both_spans() -> None:
    [line] = lines(member(date(2024, 1, 1), date(2024, 3, 20)), member(date(2024, 7, 1)))
    assert line.months == (1, 2, 3, 7, 8, 9, 10, 11, 12)
    assert line.gross == 375_000
    assert "2024年1-3月、7-12月在册9个月" in line.explanation


def test_an_unqualified_grade_pays_nothing() -> None:
    [line] = lines(member(date(2024, 1, 1)), studio_grade="unqualified")
    assert line.gross == 0
    assert line.split == {"finance": 0, "edu_fund": 0}
    assert line.explanation.endswith("等次不合格(0%)：5,000.00×12/12×0%=0.00")


def test_a_members_own_grade_wins_over_the_studios() -> None:
    [h, m] = lines(
        host(),
        member(date(2024, 1, 1)),
        studio_grade="qualified",
        person_grades={("HJ-S01", "P000002"): "unqualified"},
    )
    assert (h.gross, h.grade, h.grade_source) == (1_000_000, "qualified", "studio")
    assert (m.gross, m.grade, m.grade_source) == (0, "unqualified", "person")


def test_the_host_follows_the_studio_grade_even_with_an_own_grade() -> None:
    [line] = lines(
        host(), studio_grade="qualified", person_grades={("HJ-S01", "P000001"): "unqualified"}
    )
    assert (line.gross, line.grade_source) == (1_000_000, "studio")


def test_a_missing_grade_holds_the_line_with_a_reason() -> None:
    [line] = lines(member(date(2024, 1, 1)), studio_grade=None)
    assert line.gross == 0
    assert line.held is not None
    assert "缺少2024年度考核等次" in line.held
    assert line.grade is None


def test_trainees_get_nothing() -> None:
    assert lines(member(date(2024, 1, 1), person="P000003", role="trainee")) == []


def test_a_cancelled_studios_host_forfeits_and_members_are_paid_until_cancellation() -> None:
    cancelled = replace(STUDIO, cancelled_on=date(2024, 6, 30), cancellation_reason="主持人调离")
    [h, m] = lines(host(), member(date(2024, 1, 1)), studio=cancelled)
    assert h.gross == 0
    assert "工作室于2024-06-30撤销" in h.explanation
    assert h.held is None
    assert m.months == (1, 2, 3, 4, 5, 6)
    assert m.gross == 250_000


def test_a_studio_cancelled_on_the_15th_does_not_pay_that_month() -> None:
    cancelled = replace(STUDIO, cancelled_on=date(2024, 6, 15))
    [m] = lines(member(date(2024, 1, 1)), studio=cancelled)
    assert m.months == (1, 2, 3, 4, 5)


def test_the_host_is_paid_when_the_policy_does_not_forfeit() -> None:
    cancelled = replace(STUDIO, cancelled_on=date(2024, 6, 30))
    lenient = replace(NOTICE_2024, host_forfeits_on_cancellation=False)
    [h] = lines(host(), studio=cancelled, policy=lenient)
    assert h.gross == 500_000


def test_nobody_is_paid_outside_the_studios_cycle() -> None:
    assert lines(host(), year=2027) == []
    assert lines(host(), year=2023) == []
    assert len(lines(host(), year=2026)) == 1


def test_a_ratio_between_0_and_100_is_applied_once_with_half_up_rounding() -> None:
    partial = replace(
        NOTICE_2024, grade_ratios={"excellent": 100, "qualified": 80, "unqualified": 0}
    )
    [line] = lines(member(date(2024, 7, 16)), policy=partial)
    assert line.gross == 166_667  # 500,000 × 5/12 × 80% = 166,666.67
    assert line.explanation.endswith("5,000.00×5/12×80%=1,666.67")


def test_odd_amounts_split_between_sources_sum_to_the_whole() -> None:
    [line] = lines(member(date(2024, 12, 1)))
    assert line.gross == 41_667
    assert line.split == {"finance": 20_834, "edu_fund": 20_833}


def test_round_half_up() -> None:
    assert round_half_up(5, 2) == 3
    assert round_half_up(4, 3) == 1
    assert round_half_up(5, 3) == 2
    assert round_half_up(0, 7) == 0


@given(st.integers(0, 10**9), st.integers(0, 12), st.integers(0, 100))
def test_prorated_amounts_are_the_exact_value_rounded_half_up(
    annual: int, months: int, ratio: int
) -> None:
    amount = prorated(annual, months, ratio)
    # half-up: the paid amount is within (-0.5, +0.5] fen of the exact value
    assert -600 < amount * 1200 - annual * months * ratio <= 600
    if months == 12 and ratio == 100:
        assert amount == annual


@pytest.mark.parametrize(
    ("months", "fen"), [(1, 41_667), (6, 250_000), (11, 458_333), (12, yuan(5_000))]
)
def test_member_months_table(months: int, fen: int) -> None:
    assert prorated(yuan(5_000), months, 100) == fen


# -- every field of a line, as worked examples (mutation testing: python -m tests.mutation) --


def test_every_field_of_a_paid_line() -> None:
    [line] = lines(member(date(2024, 7, 1)), studio_grade="qualified")
    assert line == EntitlementLine(
        2024, "HJ-S01", "P000002", "李老师", "member", (7, 8, 9, 10, 11, 12), "qualified",
        "studio", 100, 500_000, 250_000, {"finance": 125_000, "edu_fund": 125_000},
        "成员，2024年7-12月在册6个月，等次合格(100%)：5,000.00×6/12=2,500.00", None,
        "杭政办发〔2024〕2号",
    )  # fmt: skip


def test_every_field_of_a_held_line() -> None:
    [line] = lines(member(date(2024, 3, 1), date(2024, 3, 31)), studio_grade=None)
    reason = "缺少2024年度考核等次，暂缓发放"
    assert line == EntitlementLine(
        2024, "HJ-S01", "P000002", "李老师", "member", (3,), None, None, 0, 500_000, 0,
        {"finance": 0, "edu_fund": 0}, f"成员，2024年3月在册1个月；{reason}", reason,
        "杭政办发〔2024〕2号",
    )  # fmt: skip


def test_a_forfeited_hosts_line_pays_at_no_ratio() -> None:
    cancelled = replace(STUDIO, cancelled_on=date(2024, 6, 30), cancellation_reason="主持人调离")
    [line] = lines(host(), studio=cancelled)
    assert (line.ratio, line.annual, line.gross, line.grade, line.held) == (
        0, 1_000_000, 0, "qualified", None
    )  # fmt: skip
    assert line.explanation == (
        "主持人，2024年1-6月在册6个月；工作室于2024-06-30撤销，按政策主持人当年劳务补贴不予发放：0.00"
    )


def test_a_payee_missing_from_the_people_table_is_named_by_code() -> None:
    [line] = entitlements(
        2024,
        NOTICE_2024,
        studios=[STUDIO],
        people=[],
        memberships=[member(date(2024, 1, 1))],
        studio_grades={"HJ-S01": "qualified"},
        person_grades={},
    )
    assert (line.person, line.name) == ("P000002", "P000002")


def test_lines_come_in_studio_code_order_whatever_order_the_studios_are_given() -> None:
    other = replace(STUDIO, code="HJ-A01", name="数学名师工作室")
    found = entitlements(
        2024,
        NOTICE_2024,
        studios=[STUDIO, other],
        people=[HOST, MEMBER],
        memberships=[host(), Membership("HJ-A01", "P000002", "host", date(2024, 1, 1))],
        studio_grades={"HJ-S01": "qualified", "HJ-A01": "qualified"},
        person_grades={},
    )
    assert [(x.studio, x.name) for x in found] == [("HJ-A01", "李老师"), ("HJ-S01", "王老师")]


def test_an_isolated_month_reads_as_one_month() -> None:
    assert describe_months(2024, (3,)) == "2024年3月"
    assert describe_months(2024, (1, 2, 3, 7, 9, 10)) == "2024年1-3月、7月、9-10月"
