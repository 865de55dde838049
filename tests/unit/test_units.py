"""Unit codes: ``U000001`` on, never one already taken, never given twice."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.registry.units import code_number, new_codes, unit_code


def test_codes_are_numbered_on_from_the_last_in_name_order() -> None:
    assert new_codes(["乙校", "甲校", "乙校"], set(), 7) == {"乙校": "U000008", "甲校": "U000009"}
    assert unit_code(1_234_567) == "U1234567"  # past six digits it grows


def test_a_kept_name_that_looks_like_a_code_is_skipped() -> None:
    assert new_codes(["新校"], {"U000002", "U000003"}, 1) == {"新校": "U000004"}


def test_only_a_numbered_code_has_a_number() -> None:
    assert [
        code_number(c) for c in ("U000042", "U1234567", "U00001", "第一中学", "U００００４２")
    ] == [
        42,
        1_234_567,
        0,
        0,
        0,  # full-width digits are a name, not a number
    ]


codes = st.one_of(
    st.integers(1, 10**7).map(unit_code),
    st.text(min_size=1, max_size=8),
)


@given(st.lists(st.text(min_size=1, max_size=8), max_size=20), st.sets(codes, max_size=20))
def test_new_codes_are_unique_and_never_taken(names: list[str], taken: set[str]) -> None:
    last = max(map(code_number, taken), default=0)
    given_codes = new_codes(names, taken, last)
    assert set(given_codes) == set(names)
    assert len(set(given_codes.values())) == len(given_codes)
    assert not set(given_codes.values()) & taken
    assert all(code_number(c) > last for c in given_codes.values())
