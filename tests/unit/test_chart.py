"""The chart of accounts: every address shape has a 科目, and any set of postings
booked by it gives a trial balance whose debits equal its credits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.books.chart import Names, chart_account, direction, named_codes, on_side
from ledger.books.statements import TrialLine, auxiliary_rows, trial_rows
from ledger.errors import InvalidAccountError

NAMES = Names({"HJ-S01": "语文名师工作室"}, {"P000001": "张三"})


@pytest.mark.parametrize(
    ("address", "code", "name", "side", "parent"),
    [
        # 银行存款 is one account; where money came from or went is its 辅助核算
        ("source:finance", "1002", "银行存款—旗财政拨入", "借", "1002"),
        ("source:edu_fund", "1002", "银行存款—教育基金拨入", "借", "1002"),
        ("source:unit:第一中学", "1002", "银行存款—单位配套拨入—第一中学", "借", "1002"),
        ("source:support:第二中学", "1002", "银行存款—成员单位支持拨入—第二中学", "借", "1002"),
        ("bank:disbursed", "1002", "银行存款—已拨付劳务补贴", "借", "1002"),
        (
            "expense:training:studio:HJ-S01",
            "1002",
            "银行存款—已支付活动经费—培训费（HJ-S01）",
            "借",
            "1002",
        ),
        ("bank:tax_remitted", "1002", "银行存款—已缴代扣个人所得税", "借", "1002"),
        ("tax:withheld", "222101", "应交税费—代扣个人所得税", "贷", "2221"),
        (
            "studio:HJ-S01:payable:P000001",
            "224101",
            "其他应付款—应付劳务补贴—张三（P000001，HJ-S01）",
            "贷",
            "2241",
        ),
        (
            "studio:HJ-S01:fund:finance",
            "271101",
            "专项资金—财政拨款—HJ-S01 语文名师工作室",
            "贷",
            "2711",
        ),
        ("studio:HJ-S02:fund:edu_fund", "271102", "专项资金—教育基金拨款—HJ-S02", "贷", "2711"),
        (
            "studio:HJ-S01:fund:matching",
            "271103",
            "专项资金—单位配套—HJ-S01 语文名师工作室",
            "贷",
            "2711",
        ),
    ],
)
def test_every_address_shape_has_a_code_a_name_and_a_side(
    address: str, code: str, name: str, side: str, parent: str
) -> None:
    account = chart_account(address, NAMES)
    assert (account.code, account.name, account.side, account.parent.code) == (
        code,
        name,
        side,
        parent,
    )
    assert account.parent.code == account.code[:4]  # each code extends its parent's


def test_each_account_says_which_dimension_tells_it_apart() -> None:
    assert [
        (chart_account(a, NAMES).dimension, chart_account(a, NAMES).detail)
        for a in (
            "source:finance",
            "bank:disbursed",
            "studio:HJ-S01:fund:finance",
            "studio:HJ-S01:payable:P000001",
            "tax:withheld",
        )
    ] == [
        ("收支项目", "旗财政拨入"),
        ("收支项目", "已拨付劳务补贴"),
        ("工作室", "HJ-S01 语文名师工作室"),
        ("人员", "张三（P000001，HJ-S01）"),
        ("", ""),
    ]


def test_an_unknown_address_has_no_account() -> None:
    with pytest.raises(InvalidAccountError):
        chart_account("studio:HJ-S01:savings")


def test_a_balance_reads_on_the_normal_side() -> None:
    # a fund that received 25,000 元 holds a 贷 balance; the funder's account a 借 one
    assert direction(2_500_000) == "贷"
    assert direction(-2_500_000) == "借"
    assert direction(0) == "平"
    assert on_side(2_500_000, "贷") == 2_500_000
    assert on_side(-2_500_000, "借") == 2_500_000
    assert on_side(100, "借") == -100  # a reversed balance is negative on its side


ADDRESSES = (
    "source:finance",
    "source:edu_fund",
    "source:unit:第一中学",
    "studio:HJ-S01:fund:finance",
    "studio:HJ-S01:fund:matching",
    "studio:HJ-S02:fund:edu_fund",
    "studio:HJ-S01:payable:P000001",
    "studio:HJ-S02:payable:P000002",
    "expense:training:studio:HJ-S01",
    "bank:disbursed",
    "bank:tax_remitted",
    "tax:withheld",
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(ADDRESSES),
            st.sampled_from(ADDRESSES),
            st.integers(1, 10**12),
            st.booleans(),
        ),
        max_size=40,
    )
)
def test_any_postings_give_a_balanced_trial_balance(
    postings: list[tuple[str, str, int, bool]],
) -> None:
    """Postings before the year make the opening balances, the rest the movements."""
    opening: dict[str, int] = {}
    inflow: dict[str, int] = {}
    outflow: dict[str, int] = {}
    for source, destination, amount, earlier in postings:
        if earlier:
            opening[source] = opening.get(source, 0) - amount
            opening[destination] = opening.get(destination, 0) + amount
        else:
            outflow[source] = outflow.get(source, 0) + amount
            inflow[destination] = inflow.get(destination, 0) + amount
    lines = sorted(
        (
            TrialLine(
                a, chart_account(a, NAMES), opening.get(a, 0), inflow.get(a, 0), outflow.get(a, 0)
            )
            for a in set(opening) | set(inflow) | set(outflow)
        ),
        key=lambda x: (x.chart.code, x.chart.detail),
    )
    rows = list(trial_rows(lines, every=True))
    tops = [r.values() for r in rows if r.level == 1]
    totals = [sum(v[i] for v in tops) for i in range(6)]
    assert totals[0] == totals[1]
    assert totals[2] == totals[3] == sum(amount for *_, amount, earlier in postings if not earlier)
    assert totals[4] == totals[5]
    # every code once, each 二级 code extending the 一级 code above it
    assert len({r.code for r in rows}) == len(rows)
    top = ""
    for row in rows:
        if row.level == 1:
            top = row.code
        else:
            assert row.code.startswith(top)
            assert len(row.code) > len(top)
    # each 一级 total is the sum of its 二级 rows (银行存款 has none)
    for i, row in enumerate(rows):
        children = []
        for child in rows[i + 1 :]:
            if child.level == 1:
                break
            children.append(child)
        if row.level != 1 or not children:
            continue
        assert row.debit == sum(c.debit for c in children)
        assert row.credit == sum(c.credit for c in children)
        assert row.closing == sum(c.closing for c in children)
    # the 辅助余额表: each 科目's items add up to its 小计, which is the 科目's row
    aux = list(auxiliary_rows(lines, every=True))
    by_code = {r.code: r for r in rows}
    for subtotal in (a for a in aux if not a.item):
        items = [a for a in aux if a.code == subtotal.code and a.item]
        assert subtotal.opening == sum(a.opening for a in items)
        assert (subtotal.debit, subtotal.credit) == (
            sum(a.debit for a in items),
            sum(a.credit for a in items),
        )
        row = by_code[subtotal.code]
        assert (row.debit, row.credit) == (subtotal.debit, subtotal.credit)
        assert row.closing == on_side(subtotal.closing, row.side)
    # a 科目 none of whose accounts moved is left out unless asked for, on both sheets
    moved = [x for x in lines if x.opening or x.inflow or x.outflow]
    assert list(trial_rows(lines)) == list(trial_rows(moved, every=True))
    shown_items = {(a.code, a.item) for a in auxiliary_rows(lines) if a.item}
    assert shown_items == {
        (x.chart.code, f"{x.chart.dimension}：{x.chart.detail}") for x in moved if x.chart.detail
    }
    shown_codes = {r.code for r in trial_rows(lines)}
    assert {a.code for a in auxiliary_rows(lines)} <= shown_codes


def test_only_the_codes_an_address_is_named_by_are_looked_up() -> None:
    codes = named_codes(
        [
            "studio:HJ01:fund:finance",
            "studio:HJ02:payable:P000007",
            "expense:training:studio:HJ03",
            "source:unit:U000001",
            "source:support:杭锦旗第二中学",
            "bank:disbursed",
        ]
    )
    assert (dict(codes.studios), dict(codes.people), dict(codes.units)) == (
        {"HJ01": "HJ01"},
        {"P000007": "P000007"},
        {"U000001": "U000001", "杭锦旗第二中学": "杭锦旗第二中学"},
    )


def test_a_unit_is_shown_by_its_name_and_addressed_by_its_code() -> None:
    names = Names(units={"U000001": "杭锦旗第一中学（初中部）"})
    matching = chart_account("source:unit:U000001", names)
    support = chart_account("source:support:U000001", names)
    assert (matching.code, matching.name) == (
        "1002",
        "银行存款—单位配套拨入—杭锦旗第一中学（初中部）",
    )
    assert (support.code, support.name) == (
        "1002",
        "银行存款—成员单位支持拨入—杭锦旗第一中学（初中部）",
    )
    assert chart_account("source:unit:第一中学").name == "银行存款—单位配套拨入—第一中学"
