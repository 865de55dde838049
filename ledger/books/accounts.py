"""Account addresses: colon paths with a fixed set of shapes (SPEC §3).

An address names one account and says what kind it is. Only the shapes
listed in :data:`SHAPES` exist, so a typo cannot open a phantom account.

Invariant: only ``source`` accounts (the world outside the program: county
finance, the education foundation, host units) may go below zero; every other
account is overdraft-guarded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from ledger.codes import FundingSource, codes
from ledger.errors import InvalidAccountError

Account = str
"""An account address, e.g. ``studio:HJ01:fund:finance``."""

FUNDING_SOURCES: Final = codes(FundingSource)
"""The pots of a studio's fund: county finance, the education foundation, its host unit's
matching, and support from its members' units."""

# A segment is word characters (Unicode: a host unit's Chinese name is a valid
# segment), dots and hyphens, starting with a letter or digit.
_SEGMENT: Final = r"[^\W_][\w.\-]*"
_SOURCE: Final = "(?:finance|edu_fund|matching|support)"

SHAPES: Final[dict[str, re.Pattern[str]]] = {
    "source": re.compile(rf"source:(?:finance|edu_fund|unit:{_SEGMENT}|support:{_SEGMENT})"),
    "fund": re.compile(rf"studio:{_SEGMENT}:fund:{_SOURCE}"),
    "payable": re.compile(rf"studio:{_SEGMENT}:payable:{_SEGMENT}"),
    "expense": re.compile(rf"expense:{_SEGMENT}:studio:{_SEGMENT}"),
    "bank": re.compile(r"bank:disbursed"),
    "tax": re.compile(r"tax:withheld"),
    "remitted": re.compile(r"bank:tax_remitted"),
}

WITHHELD_TAX: Final = "tax:withheld"
"""应交税费—代扣个人所得税: tax withheld from stipends until it is paid over."""
TAX_REMITTED: Final = "bank:tax_remitted"
"""银行存款, 收支项目 已缴代扣个人所得税: the withheld tax paid over to the tax office."""

MAX_ADDRESS_LENGTH: Final = 200

WORLD_KINDS: Final = frozenset({"source"})
"""Kinds of account allowed to go negative: money enters the program through them."""


@lru_cache(maxsize=1_024)  # a chunk's addresses, not a national year's (issue 34)
def account_kind(address: Account) -> str:
    """The kind of account an address names, or :class:`InvalidAccountError`."""
    if len(address) <= MAX_ADDRESS_LENGTH:
        for kind, shape in SHAPES.items():
            if shape.fullmatch(address):
                return kind
    raise InvalidAccountError(
        "account",
        f"未知的科目地址 {address!r}；应为以下形式之一：source:finance、source:edu_fund、"
        "source:unit:<单位编码>、source:support:<单位编码>、studio:<工作室编号>:fund:<资金来源>、"
        "studio:<工作室编号>:payable:<人员>、expense:<支出类别>:studio:<工作室编号>、"
        "bank:disbursed、tax:withheld、bank:tax_remitted",
    )


def may_go_negative(address: Account) -> bool:
    """Whether an account is a world account exempt from the overdraft guard."""
    return account_kind(address) in WORLD_KINDS


def studio_fund(studio: str, source: str) -> Account:
    """``studio:<id>:fund:<source>``."""
    return _checked(f"studio:{studio}:fund:{source}")


def studio_payable(studio: str, person: str) -> Account:
    """``studio:<id>:payable:<person>``."""
    return _checked(f"studio:{studio}:payable:{person}")


def source_account(source: str) -> Account:
    """``source:finance`` or ``source:edu_fund``; matching comes from a unit's account."""
    return _checked(f"source:{source}")


UNIT_SOURCE_PREFIX: Final = "source:unit:"


def unit_source(unit: str) -> Account:
    """``source:unit:<unit code>``: a host unit paying matching funds
    (:mod:`ledger.registry.units`)."""
    return _checked(f"{UNIT_SOURCE_PREFIX}{unit}")


SUPPORT_SOURCE_PREFIX: Final = "source:support:"


def support_source(unit: str) -> Account:
    """``source:support:<unit code>``: a member's unit supporting a studio (kept apart from
    the host unit's matching, which alone counts toward the policy's minimum)."""
    return _checked(f"{SUPPORT_SOURCE_PREFIX}{unit}")


def expense_account(category: str, studio: str) -> Account:
    """``expense:<category>:studio:<id>``."""
    return _checked(f"expense:{category}:studio:{studio}")


def _checked(address: Account) -> Account:
    account_kind(address)
    return address
