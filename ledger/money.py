"""Money: amounts are ``int`` fen (分, 1/100 元), everywhere in the domain.

This module owns the three ways money crosses the edge of the system:
parsing what a person typed, splitting a whole into parts, and writing an
amount for a person to read (``¥10,000.00`` and 人民币大写).

Invariants:
- no float and no Decimal arithmetic: every function here works on ``int``;
- parsing is strict and never rounds: more than two decimals is an error;
- :func:`split` returns parts that always sum exactly to the whole;
- no amount a person or a service gives is above :data:`MAX_AMOUNT`, so a sum
  of them cannot come near the 64-bit columns that store balances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

from moneyed import Money
from moneyed.l10n import format_money

from ledger.errors import ValidationError

Fen = int
"""An amount of money in fen. 1 元 = 100 fen."""

FEN_PER_YUAN: Final = 100
CURRENCY: Final = "CNY"

MAX_AMOUNT: Final[Fen] = 10**12
"""100 亿元, the largest single amount accepted anywhere: far above any stipend or
budget the program moves (a year at national scale is about 50 亿元), and ten
million such amounts still fit a balance (int64 holds about 9.2 × 10¹⁸ fen)."""

MAX_AMOUNT_TEXT: Final = 40
"""An amount typed by a person is never longer than this."""

# Optional sign, optional yuan sign, then either plain digits or digits grouped
# by thousands with commas, then at most two decimals. Nothing else: no
# exponent, no inner spaces, no "NaN", no "Infinity".
_AMOUNT = re.compile(
    r"""
    (?P<sign>[-+]?)
    [¥￥]?
    (?P<integer>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)
    (?:\.(?P<fraction>[0-9]{1,2}))?
    (?:元)?
    """,
    re.VERBOSE,
)


def yuan(amount: int) -> Fen:
    """Whole yuan as fen: ``yuan(10_000) == 1_000_000``."""
    return amount * FEN_PER_YUAN


def parse_amount(text: str, *, field: str, allow_negative: bool = False) -> Fen:
    """Parse a person's amount in 元 into fen, strictly.

    Accepts ``"10000"``, ``"10,000.00"``, ``"¥5000.5"``, ``"5000元"``.
    Refuses, naming ``field``: an empty value, an exponent, NaN, thousands
    separators in the wrong places, more than two decimals (no silent
    rounding), and a negative amount unless ``allow_negative``.
    """
    cleaned = text.strip()
    if len(cleaned) > MAX_AMOUNT_TEXT:
        raise ValidationError(field, f"金额过长（最多{MAX_AMOUNT_TEXT}个字符）：{text[:20]!r}…")
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise ValidationError(
            field, f"不是有效的金额：{text!r}；请写作 10000 或 10,000.00 这样的金额"
        )
    integer = int(match["integer"].replace(",", ""))
    fraction = int((match["fraction"] or "0").ljust(2, "0"))
    fen = integer * FEN_PER_YUAN + fraction
    if fen > MAX_AMOUNT:
        raise ValidationError(
            field,
            f"金额超过上限（最多 {format_plain(MAX_AMOUNT)} 元）：{text!r}",
        )
    if match["sign"] == "-" and fen != 0:
        if not allow_negative:
            raise ValidationError(field, f"金额不能为负数：{text!r}")
        fen = -fen
    return fen


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for non-negative integers: the one
    rounding rule of the program (a prorated stipend, a share of an appropriation, the
    tax withheld)."""
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount: Fen, percent: int) -> Fen:
    """``percent``% of ``amount``, rounded half-up to the fen."""
    return round_half_up(amount * percent, 100)


def split(total: Fen, weights: Sequence[int]) -> list[Fen]:
    """Split ``total`` fen in proportion to ``weights`` by largest remainder.

    Each part first gets the floor of its exact share; the fen left over go,
    one each, to the parts with the largest remainders, ties to the earlier
    part. The parts always sum to ``total`` and the result depends only on
    the arguments.

    >>> split(100, [1, 1, 1])
    [34, 33, 33]
    """
    if total < 0:
        raise ValueError(f"cannot split a negative amount: {total}")
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError(f"weights must be non-negative with a positive sum: {list(weights)}")
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left_over = total - sum(parts)
    by_largest_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_largest_remainder[:left_over]:
        parts[i] += 1
    return parts


def _yuan_text(fen: Fen) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def format_amount(fen: Fen, *, locale: str = "zh_CN") -> str:
    """``¥10,000.00``: an amount for a person to read, formatted by py-moneyed."""
    # Money is built from an exact decimal string, never from a float.
    return str(format_money(Money(_yuan_text(fen), CURRENCY), locale=locale))


def format_plain(fen: Fen) -> str:
    """``10,000.00``: the amount with thousands separators and no currency sign."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


_DIGITS: Final = "零壹贰叁肆伍陆柒捌玖"
_PLACES: Final = ("仟", "佰", "拾", "")
_WAN: Final = 10**4
_YI: Final = 10**8
MAX_UPPERCASE_FEN: Final = _YI * _YI * FEN_PER_YUAN - 1
"""亿亿 is not written: 人民币大写 stops below 10¹⁶ 元."""


def to_uppercase(fen: Fen) -> str:
    """人民币大写 of a non-negative amount, as written on vouchers.

    >>> to_uppercase(1_000_000)
    '壹万元整'
    >>> to_uppercase(500_050)
    '伍仟元伍角'
    >>> to_uppercase(100_203)
    '壹仟零贰元零叁分'
    """
    if fen < 0:
        raise ValueError(f"大写金额只用于非负金额：{fen}")
    if fen > MAX_UPPERCASE_FEN:
        raise ValueError(f"金额过大，无法写成人民币大写：{fen}")
    whole, cents = divmod(fen, FEN_PER_YUAN)
    jiao, fen_digit = divmod(cents, 10)

    if whole == 0 and cents == 0:
        return "零元整"
    text = _uppercase_yuan(whole) + "元" if whole else ""
    if cents == 0:
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif whole:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    return text


def _uppercase_yuan(whole: int) -> str:
    """The yuan part (0 < ``whole`` < 10¹⁶): 亿 over 万 over groups of four digits.

    The part above 亿 may itself hold 万 (壹万贰仟亿 is 1.2 万亿). A zero that
    separates a group from the digits below it is written once (壹亿零伍万);
    zeros at the end of a group or of the number are not written.
    """
    return _grouped(whole, _YI, "亿", lambda part: _grouped(part, _WAN, "万", _four_digits))


def _grouped(number: int, unit: int, name: str, below: Callable[[int], str]) -> str:
    high, low = divmod(number, unit)
    if not high:
        return below(low)
    text = below(high) + name
    if low:
        # a gap before the first digit of the lower part is read as one 零
        text += ("零" if low < unit // 10 else "") + below(low)
    return text


def _four_digits(number: int) -> str:
    """1-9999 with 仟佰拾: a run of inner zeros as one 零, trailing zeros not written."""
    out: list[str] = []
    pending_zero = False
    for place, char in zip(_PLACES, f"{number:04d}", strict=True):
        if char == "0":
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[int(char)] + place)
    return "".join(out)
