"""Money: amounts are ``int`` fen (分, 1/100 元), everywhere in the domain.

This module owns the three ways money crosses the edge of the system:
parsing what a person typed, splitting a whole into parts, and writing an
amount for a person to read (``¥10,000.00`` and 人民币大写).

Invariants:
- no float and no Decimal arithmetic: every function here works on ``int``;
- parsing is strict and never rounds: more than two decimals is an error;
- :func:`split` returns parts that always sum exactly to the whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from moneyed import Money
from moneyed.l10n import format_money

from ledger.errors import ValidationError

Fen = int
"""An amount of money in fen. 1 元 = 100 fen."""

FEN_PER_YUAN: Final = 100
CURRENCY: Final = "CNY"

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
    match = _AMOUNT.fullmatch(cleaned)
    if match is None:
        raise ValidationError(
            field, f"不是有效的金额 (not a valid amount): {text!r}; use e.g. 10000 or 10,000.00"
        )
    integer = int(match["integer"].replace(",", ""))
    fraction = int((match["fraction"] or "0").ljust(2, "0"))
    fen = integer * FEN_PER_YUAN + fraction
    if match["sign"] == "-" and fen != 0:
        if not allow_negative:
            raise ValidationError(field, f"金额不能为负数 (amount may not be negative): {text!r}")
        fen = -fen
    return fen


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
_PLACES: Final = ("", "拾", "佰", "仟")
_GROUPS: Final = ("", "万", "亿", "万亿")
MAX_UPPERCASE_FEN: Final = 10**16 * FEN_PER_YUAN - 1


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
        raise ValueError(f"大写金额只用于非负金额 (uppercase needs a non-negative amount): {fen}")
    if fen > MAX_UPPERCASE_FEN:
        raise ValueError(f"amount too large for 人民币大写: {fen}")
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
    """The yuan part: digits with 拾佰仟 places and 万/亿 groups.

    A run of zeros inside the number is written as a single 零; zeros at the
    end of the number or of a group are not written; a group that is all
    zeros does not write its 万/亿.
    """
    digits = str(whole)
    out: list[str] = []
    pending_zero = False
    group_has_digit = False
    for i, char in enumerate(digits):
        position = len(digits) - 1 - i
        digit = int(char)
        if digit == 0:
            pending_zero = bool(out)
        else:
            if pending_zero:
                out.append("零")
                pending_zero = False
            out.append(_DIGITS[digit] + _PLACES[position % 4])
            group_has_digit = True
        if position % 4 == 0 and position > 0:
            if group_has_digit:
                out.append(_GROUPS[position // 4])
            group_has_digit = False
    return "".join(out)
