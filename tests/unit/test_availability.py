"""What a batch leaves in each studio's fund, line by line (the approver's check)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from ledger.batches.availability import StudioFunds, running
from ledger.batches.batch import BatchLine, LineStatus


def _line(
    number: int, studio: str, finance: int, edu_fund: int, *, reissue: bool = False
) -> BatchLine:
    return BatchLine(
        id=number, number=number, year=2025, studio=studio, person=f"P{number}", role="member",
        months=tuple(range(1, 13)), grade="qualified", ratio=100, gross=finance + edu_fund,
        split={"finance": finance, "edu_fund": edu_fund}, tax=0, net=finance + edu_fund,
        explanation="", status=LineStatus.PENDING, reissue_of=99 if reissue else None,
    )  # fmt: skip


def test_each_line_takes_its_studio_fund_down_and_the_one_going_below_zero_is_short() -> None:
    opening = {
        ("HJ-S01", "finance"): 600_000,
        ("HJ-S01", "edu_fund"): 500_000,
        ("HJ-S02", "finance"): 250_000,
        ("HJ-S02", "edu_fund"): 250_000,
    }
    lines = [
        _line(1, "HJ-S01", 500_000, 500_000),
        _line(2, "HJ-S02", 250_000, 250_000),
        _line(3, "HJ-S01", 50_000, 50_000),  # edu_fund 0 → −50,000: short
        _line(4, "HJ-S02", 250_000, 250_000, reissue=True),  # payable already: no draw
    ]
    studios, found = running(lines, opening)
    assert {n: (f.before, f.after, f.short) for n, f in found.items()} == {
        1: (1_100_000, 100_000, False),
        2: (500_000, 0, False),  # to zero exactly is enough
        3: (100_000, 0, True),  # finance 50,000 left, edu_fund −50,000
    }
    s01, s02 = studios
    assert (s01.studio, s01.sources, s01.after, s01.short) == (
        "HJ-S01",
        ["finance", "edu_fund"],
        {"finance": 50_000, "edu_fund": -50_000},
        True,
    )
    assert (s02.taken, s02.after, s02.short) == (
        {"finance": 250_000, "edu_fund": 250_000},
        {"finance": 0, "edu_fund": 0},
        False,
    )


def test_a_studio_with_no_money_yet_starts_from_zero() -> None:
    studios, found = running([_line(1, "HJ-S03", 1, 0)], {})
    assert (found[1].before, found[1].after, found[1].short) == (0, -1, True)
    assert studios[0].before == {}
    assert studios[0].after == {"finance": -1, "edu_fund": 0}


def test_a_line_taking_from_no_pool_still_names_its_studio() -> None:
    empty = replace(_line(1, "HJ-S04", 0, 0), split={})
    studios, found = running([empty], {})
    assert studios == (StudioFunds("HJ-S04", {}, {}),)
    assert (found[1].before, found[1].after, found[1].short) == (0, 0, False)


amounts = st.integers(min_value=0, max_value=10**9)


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), amounts, amounts), min_size=1, max_size=30
    ),
    st.dictionaries(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["finance", "edu_fund"])),
        st.integers(min_value=0, max_value=10**10),
    ),
)
def test_lines_chain_per_studio_and_the_last_after_is_the_opening_less_the_take(
    drawn: list[tuple[str, int, int]], opening: dict[tuple[str, str], int]
) -> None:
    lines = [_line(n, s, f, e) for n, (s, f, e) in enumerate(drawn, start=1)]
    studios, found = running(lines, opening)
    for studio in {s for s, _, _ in drawn}:
        mine = [x for x in lines if x.studio == studio]
        total = sum(v for (s, _), v in opening.items() if s == studio)
        assert found[mine[0].number].before == total
        for before, after in itertools.pairwise(mine):
            assert found[after.number].before == found[before.number].after
        taken = sum(x.gross for x in mine)
        assert found[mine[-1].number].after == total - taken
        held = next(s for s in studios if s.studio == studio)
        assert sum(held.after.values()) == total - taken
        assert sum(held.taken.values()) == taken
        assert held.short == any(v < 0 for v in held.after.values())
        assert held.short == any(found[x.number].short for x in mine)
