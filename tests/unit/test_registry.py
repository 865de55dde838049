"""ID numbers, masking and the composition rules of the notice."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.registry.policy import NOTICE_2024
from ledger.registry.roster import (
    Membership,
    Person,
    Studio,
    composition_findings,
    id_check_digit,
    normalize_id_number,
)


def valid_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def test_the_gb11643_check_digit_of_a_known_number() -> None:
    # the standard's own example: 11010519491231002X
    assert id_check_digit("11010519491231002") == "X"
    assert normalize_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("110105194912310021", "最后一位应为X"),
        ("11010519491231002", "18"),
        ("1101051949123100XX", "18"),
        ("110105194913310025", "出生日期"),
        ("", "18"),
    ],
)
def test_bad_id_numbers_are_refused_naming_the_field(text: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as refused:
        normalize_id_number(text, field="成员!C5 身份证号")
    assert refused.value.field == "成员!C5 身份证号"


@given(st.integers(min_value=10**16, max_value=10**17 - 1))
def test_every_number_with_its_check_digit_passes_and_any_other_digit_fails(n: int) -> None:
    first17 = "150102" + "19800101" + str(n)[-3:]
    good = valid_id(first17)
    assert normalize_id_number(good) == good
    for wrong in "0123456789X":
        if wrong != good[-1]:
            with pytest.raises(ValidationError):
                normalize_id_number(first17 + wrong)


STUDIO = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)


def _people(n_external: int, n_internal: int) -> list[Person]:
    people = [Person("H", "x", "主持人", "第一中学")]
    people += [Person(f"E{i}", "x", f"外{i}", f"外校{i}") for i in range(n_external)]
    people += [Person(f"I{i}", "x", f"内{i}", "第一中学") for i in range(n_internal)]
    return people


def _roster(people: list[Person], start: date = date(2024, 1, 1)) -> list[Membership]:
    return [
        Membership("HJ-S01", p.code, "host" if p.code == "H" else "member", start) for p in people
    ]


def test_a_full_studio_by_the_rules_has_no_findings() -> None:
    people = _people(5, 3)
    assert composition_findings([STUDIO], people, _roster(people), NOTICE_2024) == []


def test_nine_paid_members_at_once_is_refused() -> None:
    people = _people(6, 3)
    [finding] = composition_findings([STUDIO], people, _roster(people), NOTICE_2024)
    assert (finding.rule, finding.refused) == ("max_paid_members", True)


def test_nine_members_one_after_another_is_fine() -> None:
    people = _people(5, 4)
    roster = _roster(people)
    roster[-1] = Membership("HJ-S01", "I3", "member", date(2024, 7, 1))
    roster[-2] = Membership("HJ-S01", "I2", "member", date(2024, 1, 1), date(2024, 6, 30))
    assert composition_findings([STUDIO], people, roster, NOTICE_2024) == []


def test_two_hosts_at_once_is_refused_and_too_few_external_members_is_a_warning() -> None:
    people = [*_people(4, 2), Person("H2", "x", "第二主持人", "第一中学")]
    roster = [*_roster(people[:-1]), Membership("HJ-S01", "H2", "host", date(2024, 3, 1))]
    findings = composition_findings([STUDIO], people, roster, NOTICE_2024)
    assert [(f.rule, f.refused) for f in findings] == [
        ("one_host", True),
        ("min_external_members", False),
    ]


def test_a_person_listed_twice_for_overlapping_periods_is_refused() -> None:
    people = _people(5, 0)
    roster = [*_roster(people), Membership("HJ-S01", "E0", "member", date(2024, 6, 1))]
    findings = composition_findings([STUDIO], people, roster, NOTICE_2024)
    assert [(f.rule, f.refused) for f in findings] == [("one_place", True)]


def test_eleven_trainees_and_an_extra_studio_over_quota_are_warnings() -> None:
    people = _people(5, 0) + [Person(f"T{i}", "x", f"学{i}", "外校") for i in range(11)]
    roster = _roster(people[:6]) + [
        Membership("HJ-S01", f"T{i}", "trainee", date(2024, 1, 1)) for i in range(11)
    ]
    principals = [Studio(f"HJ-P0{i}", "x", "principal", "u", 2024) for i in range(1, 4)]
    findings = composition_findings([STUDIO, *principals], people, roster, NOTICE_2024)
    assert [(f.rule, f.refused) for f in findings if f.studio == "HJ-S01"] == [
        ("max_trainees", False)
    ]
    assert [(f.rule, f.refused) for f in findings if f.rule == "quota"] == [("quota", False)]
    assert [f.rule for f in findings if f.studio.startswith("HJ-P")] == [
        "one_host",
        "one_host",
        "one_host",
    ]
