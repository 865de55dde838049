"""Money: strict parsing, largest-remainder splits, ¥ formatting and 人民币大写."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.errors import ValidationError
from ledger.money import (
    MAX_AMOUNT,
    MAX_UPPERCASE_FEN,
    format_amount,
    format_plain,
    parse_amount,
    split,
    to_uppercase,
    yuan,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("10000", 1_000_000),
        ("10,000.00", 1_000_000),
        ("¥5000.5", 500_050),
        ("￥5,000.05", 500_005),
        ("5000元", 500_000),
        ("  0.01 ", 1),
        ("0", 0),
        ("1,234,567.89", 123_456_789),
        ("+12", 1_200),
    ],
)
def test_parse_accepts_what_people_type(text: str, fen: int) -> None:
    assert parse_amount(text, field="金额") == fen


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "10.001",
        "10.",
        ".5",
        "1,00",
        "10,0000",
        "1 000",
        "¥",
        "12a",
        "--1",
        "1.2.3",
        "0x10",
        "１０",
    ],
)
def test_parse_refuses_anything_else_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_amount(text, field="配套资金.金额")
    assert refused.value.field == "配套资金.金额"
    assert "配套资金.金额" in str(refused.value)


def test_parse_refuses_a_negative_amount_unless_allowed() -> None:
    with pytest.raises(ValidationError, match="金额不能为负数"):
        parse_amount("-5.00", field="amount")
    assert parse_amount("-5.00", field="amount", allow_negative=True) == -500


def test_amounts_have_an_upper_bound_and_texts_a_length() -> None:
    assert parse_amount("10,000,000,000.00", field="金额") == MAX_AMOUNT
    with pytest.raises(ValidationError, match="金额超过上限") as refused:
        parse_amount("10,000,000,000.01", field="金额")
    assert refused.value.field == "金额"
    with pytest.raises(ValidationError, match="金额超过上限"):
        parse_amount("9" * 30, field="金额")  # never a database overflow
    with pytest.raises(ValidationError, match="最多40个字符"):
        parse_amount("1" + "0" * 60, field="金额")


def test_more_than_two_decimals_is_refused_never_rounded() -> None:
    with pytest.raises(ValidationError):
        parse_amount("0.005", field="amount")


@given(st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_formatted_amounts_parse_back_to_the_same_fen(fen: int) -> None:
    assert parse_amount(format_amount(fen), field="x") == fen
    assert parse_amount(format_plain(fen), field="x") == fen


def test_format_with_yuan_sign_and_thousands() -> None:
    assert format_amount(1_000_000) == "¥10,000.00"
    assert format_amount(500_050) == "¥5,000.50"
    assert format_amount(1) == "¥0.01"
    assert format_plain(123_456_789) == "1,234,567.89"
    assert format_plain(-150) == "-1.50"


def test_split_gives_the_leftover_fen_to_the_largest_remainders() -> None:
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    assert split(5_000_000, [50, 50]) == [2_500_000, 2_500_000]
    assert split(1, [50, 50]) == [1, 0]
    assert split(101, [2, 1]) == [67, 34]  # 67.33 / 33.67: the 0.67 wins the fen
    assert split(0, [1, 2]) == [0, 0]


def test_split_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="negative"):
        split(-1, [1])
    with pytest.raises(ValueError, match="weights"):
        split(10, [0, 0])
    with pytest.raises(ValueError, match="weights"):
        split(10, [])


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_split_parts_always_sum_to_the_whole_and_stay_within_one_fen(
    total: int, weights: list[int]
) -> None:
    parts = split(total, weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact_floor = total * weight // whole
        assert exact_floor <= part <= exact_floor + 1
        if weight == 0:
            assert part == 0
    assert split(total, weights) == parts  # deterministic


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (yuan(10_000), "壹万元整"),
        (500_050, "伍仟元伍角"),
        (100_203, "壹仟零贰元零叁分"),
        (32_504, "叁佰贰拾伍元零肆分"),
        (600_714, "陆仟零柒元壹角肆分"),
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角"),
        (yuan(10), "壹拾元整"),
        (yuan(100_010), "壹拾万零壹拾元整"),
        (yuan(1_000_000), "壹佰万元整"),
        (yuan(100_000_000), "壹亿元整"),
        (yuan(100_010_000), "壹亿零壹万元整"),
        (yuan(120_000_000), "壹亿贰仟万元整"),
        (yuan(10_000_001), "壹仟万零壹元整"),
        (yuan(200_300), "贰拾万零叁佰元整"),
        (yuan(1_000) + 5, "壹仟元零伍分"),
        (yuan(50_000), "伍万元整"),
        (yuan(2_000), "贰仟元整"),
        # at and above 1 万亿 the part above 亿 carries its own 万
        (yuan(1_0000_0000_0000), "壹万亿元整"),
        (yuan(1_0001_0000_0000), "壹万零壹亿元整"),
        (yuan(1_2345_6789_0000), "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万元整"),
        (yuan(1_0000_0005_0000), "壹万亿零伍万元整"),
        (
            yuan(9999_9999_9999_9999) + 99,
            "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
        (MAX_AMOUNT, "壹佰亿元整"),
    ],
)
def test_uppercase_as_written_on_vouchers(fen: int, words: str) -> None:
    assert to_uppercase(fen) == words


def test_uppercase_refuses_negative_and_too_large() -> None:
    with pytest.raises(ValueError, match="非负金额"):
        to_uppercase(-1)
    with pytest.raises(ValueError, match="金额过大"):
        to_uppercase(MAX_UPPERCASE_FEN + 1)


_DIGIT = dict(zip("零壹贰叁肆伍陆柒捌玖", range(10), strict=True))
_PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def _read_four(words: str) -> int:
    total = digit = 0
    for char in words.replace("零", ""):
        if char in _DIGIT:
            digit = _DIGIT[char]
        else:
            total += digit * _PLACE[char]
            digit = 0
    return total + digit


def _read_below(words: str, names: str) -> int:
    """亿 splits first (its left part may hold 万), then 万, then four digits."""
    if not names:
        return _read_four(words)
    name, rest = names[0], names[1:]
    unit = {"亿": 10**8, "万": 10**4}[name]
    high, found, low = words.rpartition(name) if name in words else ("", "", words)
    return (_read_below(high, rest) * unit if found else 0) + _read_below(low, rest)


def _read_uppercase(words: str) -> int:
    """An independent reader of 人民币大写, to check the writer against."""
    if words == "零元整":
        return 0
    yuan_part, _, rest = words.partition("元") if "元" in words else ("", "", words)
    fen = _read_below(yuan_part, "亿万") * 100
    for char, next_char in zip(rest, rest[1:] + " ", strict=True):
        if char in _DIGIT and next_char in "角分":
            fen += _DIGIT[char] * (10 if next_char == "角" else 1)
    return fen


@given(st.integers(min_value=0, max_value=MAX_UPPERCASE_FEN))
@example(yuan(100_010_000))
@example(yuan(10_000_001))
@example(yuan(1_0001_0000_0000))
@example(MAX_AMOUNT)
@example(MAX_UPPERCASE_FEN)
def test_uppercase_reads_back_to_the_same_amount(fen: int) -> None:
    words = to_uppercase(fen)
    assert _read_uppercase(words) == fen
    assert "零零" not in words
    assert words.endswith(("整", "角", "分"))
    assert (fen % 100 == 0) == words.endswith("整")


# -- worked examples at each limit, found by mutation testing (python -m tests.mutation) --


def test_an_amount_of_exactly_forty_characters_is_read_and_forty_one_refused() -> None:
    assert parse_amount("0" * 36 + "1.00", field="金额") == 100  # 40 characters
    with pytest.raises(ValidationError) as refused:
        parse_amount("0" * 37 + "1.00", field="配套资金.金额")  # 41
    assert refused.value.field == "配套资金.金额"
    # the refusal quotes the first 20 characters, and no more
    assert refused.value.message.endswith(f"{('0' * 20)!r}…")


def test_every_refusal_names_its_field_and_says_what_is_wrong() -> None:
    for text, words in (
        ("十元", "不是有效的金额：'十元'；请写作 10000 或 10,000.00 这样的金额"),
        ("-5.00", "金额不能为负数：'-5.00'"),
    ):
        with pytest.raises(ValidationError) as refused:
            parse_amount(text, field="报销金额")
        assert (refused.value.field, refused.value.message) == ("报销金额", words)


def test_minus_one_fen_is_negative_and_minus_nothing_is_zero() -> None:
    with pytest.raises(ValidationError, match="金额不能为负数"):
        parse_amount("-0.01", field="金额")
    assert parse_amount("-0.00", field="金额") == 0
    assert parse_amount("-0", field="金额") == 0


def test_a_negative_weight_is_refused_even_beside_a_positive_one() -> None:
    with pytest.raises(ValueError, match="weights"):
        split(100, [2, -1])


def test_a_negative_amount_keeps_its_minus_sign_and_zero_has_none() -> None:
    assert format_amount(-150) == "-¥1.50"
    assert format_amount(0) == "¥0.00"
    assert format_amount(-1) == "-¥0.01"


@pytest.mark.parametrize(
    ("yuan_", "words"),
    [
        # the lower part starting at its unit's first place reads without 零 …
        (11_000, "壹万壹仟元整"),
        (110_000_000, "壹亿壹仟万元整"),
        # … one place short of it, with one 零
        (10_999, "壹万零玖佰玖拾玖元整"),
        (10_909, "壹万零玖佰零玖元整"),
        (100_999_999, "壹亿零玖拾玖万玖仟玖佰玖拾玖元整"),
        # inner zeros are one 零 each run, never one per place
        (1_011, "壹仟零壹拾壹元整"),
        (1_001, "壹仟零壹元整"),
        (1_101, "壹仟壹佰零壹元整"),
        (10_101, "壹万零壹佰零壹元整"),
    ],
)
def test_uppercase_zeros_as_written_by_hand(yuan_: int, words: str) -> None:
    assert to_uppercase(yuan(yuan_)) == words
