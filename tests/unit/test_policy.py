"""A policy that would make money wrong is refused whole, with the field named."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import InvalidInputError
from ledger.messages import field_label
from ledger.registry.policy import NOTICE_2024, Policy, policy_errors

GOOD = NOTICE_2024.to_json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_shares": {"finance": 50, "edu_fund": 40}}, "source_shares"),  # 90%
        ({"source_shares": {"finance": 60, "edu_fund": 60}}, "source_shares"),  # 120%
        ({"source_shares": {"finance": 150, "edu_fund": -50}}, "source_shares"),
        ({"source_shares": {"finance": 100}}, "source_shares"),
        ({"host_stipend": -1}, "host_stipend"),
        ({"annual_budget": -5_000_000}, "annual_budget"),
        ({"matching_minimum": 1.5}, "matching_minimum"),
        ({"grade_ratios": {"excellent": 120, "qualified": 100, "unqualified": 0}}, "grade_ratios"),
        ({"grade_ratios": {}}, "grade_ratios"),
        ({"grade_ratios": {"excellent": 100, "qualified": 100}}, "grade_ratios"),
        ({"withholding": "flat"}, "withholding"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    data = {**GOOD, **change}
    assert [e.field for e in policy_errors(data)] == [field]
    with pytest.raises(InvalidInputError) as refused:
        Policy.from_json(data)
    assert field_label(field) in str(refused.value)  # by its name


def test_the_notice_policy_is_accepted_and_splits_half_and_half() -> None:
    assert policy_errors(GOOD) == []
    assert dict(NOTICE_2024.source_shares) == {"finance": 50, "edu_fund": 50}
    assert dict(Policy.from_json({**GOOD, "source_shares": {"finance": 70, "edu_fund": 30}})
                .source_shares) == {"finance": 70, "edu_fund": 30}  # fmt: skip


def test_a_policy_stored_before_the_cycles_fields_reads_them_as_the_notices() -> None:
    stored = NOTICE_2024.to_json()
    for name in ("funding_ratios", "renewal_grades", "travel_included"):
        del stored[name]
    read = Policy.from_json(stored)
    assert dict(read.funding_ratios) == {"excellent": 100, "qualified": 100, "unqualified": 0}
    assert (read.renewal_grades, read.travel_included) == (("excellent", "qualified"), True)
    assert read == NOTICE_2024


def test_the_cycles_fields_are_refused_naming_each() -> None:
    bad = {
        **NOTICE_2024.to_json(),
        "funding_ratios": {"excellent": 100, "qualified": 150},
        "renewal_grades": ["excellent", "great"],
        "travel_included": "yes",
    }
    with pytest.raises(InvalidInputError) as raised:
        Policy.from_json(bad)
    assert [e.field for e in raised.value.errors] == [
        "funding_ratios",
        "renewal_grades",
        "travel_included",
    ]
