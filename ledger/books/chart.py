"""The chart of accounts (会计科目表): what an accountant calls each account (SPEC §3).

The ledger addresses accounts by path (``studio:HJ-S01:fund:finance``); the books
show each as a 科目编码 and a Chinese 科目名称, with the balance on the account's
normal side. This module is the one place that mapping lives.

Booking convention (记账方向) — invariant:

    a posting that moves money from account A to account B is 借 A, 贷 B.

Read as the program's 专项资金 books: money received from a funder is 借 银行存款
(the bank holds more), 贷 专项资金 (the studio's fund owes more to its purpose);
approving a stipend is 借 专项资金, 贷 其他应付款; paying it is 借 其他应付款, 贷
银行存款—已拨付; withholding tax is 借 专项资金, 贷 应交税费. So funds, payables and
withheld tax hold 贷 balances and the funders' receipts 借 balances, as an
accountant reads them, and debits equal credits in every statement.

Spending on activities (活动经费) leaves the program's bank account in a single
posting (fund → expense), so it is booked 借 专项资金, 贷 银行存款—已支付活动经费:
a contra sub-account of 银行存款 with a 贷 balance, one per 类别 and studio. Paying
the withheld tax over to the tax office (缴纳) is 借 应交税费, 贷 银行存款—已缴代扣个人
所得税, the same way. The sum of 银行存款's sub-accounts is the money still in the
bank, which equals the funds, payables and tax it owes — the trial balance's two sides.

A raw ledger balance (inflows − outflows, what :mod:`ledger.book` keeps) is a 贷
amount: :func:`on_side` turns it into the amount on an account's normal side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from ledger.books.accounts import SUPPORT_SOURCE_PREFIX, UNIT_SOURCE_PREFIX, Account, account_kind
from ledger.funds.expenses import EXPENSE_CATEGORIES
from ledger.money import Fen

Side = Literal["借", "贷"]


@dataclass(frozen=True, slots=True)
class Title:
    """A 会计科目: its code, its name and the side its balance normally sits on."""

    code: str
    name: str
    side: Side


BANK: Final = Title("1002", "银行存款", "借")
TAX: Final = Title("2221", "应交税费", "贷")
PAYABLE: Final = Title("2241", "其他应付款", "贷")
FUND: Final = Title("2711", "专项资金", "贷")

TOP_TITLES: Final = (BANK, TAX, PAYABLE, FUND)
"""一级科目, in the order of the chart."""

SUB_TITLES: Final[dict[str, Title]] = {
    "source:finance": Title("100201", "银行存款—旗财政拨入", "借"),
    "source:edu_fund": Title("100202", "银行存款—教育基金拨入", "借"),
    "source:unit": Title("100203", "银行存款—单位配套拨入", "借"),
    "source:support": Title("100204", "银行存款—成员单位支持拨入", "借"),
    "bank": Title("100211", "银行存款—已拨付劳务补贴", "贷"),
    "expense": Title("100212", "银行存款—已支付活动经费", "贷"),
    "remitted": Title("100213", "银行存款—已缴代扣个人所得税", "贷"),
    "tax": Title("222101", "应交税费—代扣个人所得税", "贷"),
    "payable": Title("224101", "其他应付款—应付劳务补贴", "贷"),
    "fund:finance": Title("271101", "专项资金—财政拨款", "贷"),
    "fund:edu_fund": Title("271102", "专项资金—教育基金拨款", "贷"),
    "fund:matching": Title("271103", "专项资金—单位配套", "贷"),
    "fund:support": Title("271104", "专项资金—成员单位支持", "贷"),
}
"""二级科目 by what kind of address they hold."""


@dataclass(frozen=True, slots=True)
class Names:
    """Who the codes in addresses are: studio code → name, payee code → name, unit
    code → name."""

    studios: Mapping[str, str] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChartAccount:
    """An account as the books show it.

    Attributes:
      title: its 二级科目 (code, name, normal side).
      parent: its 一级科目.
      detail: the 明细 (辅助核算) that tells it apart within the title — a studio,
        a payee, a host unit — or ``""``.
    """

    title: Title
    parent: Title
    detail: str

    @property
    def code(self) -> str:
        return self.title.code

    @property
    def name(self) -> str:
        return f"{self.title.name}—{self.detail}" if self.detail else self.title.name

    @property
    def side(self) -> Side:
        return self.title.side


def named_codes(addresses: Iterable[Account]) -> Names:
    """The studio, payee and unit codes the addresses hold, each named by itself: the
    codes whose names a :class:`Names` for them needs."""
    studios: set[str] = set()
    people: set[str] = set()
    units: set[str] = set()
    for address in addresses:
        kind = account_kind(address)
        if kind == "fund":  # studio:<code>:fund:<source>
            studios.add(address.split(":")[1])
        elif kind == "payable":  # studio:<code>:payable:<person>
            people.add(address.split(":")[3])
        elif kind == "source" and (unit := _unit_of(address)):
            units.add(unit[1])
    return Names(*({code: code for code in found} for found in (studios, people, units)))


def _unit_of(address: Account) -> tuple[str, str] | None:
    """(title key, unit code) of a unit's source account, else ``None``."""
    for prefix, key in (
        (UNIT_SOURCE_PREFIX, "source:unit"),
        (SUPPORT_SOURCE_PREFIX, "source:support"),
    ):
        if address.startswith(prefix):
            return key, address[len(prefix) :]
    return None


def _studio(code: str, names: Names) -> str:
    name = names.studios.get(code)
    return f"{code} {name}" if name else code


def _title_and_detail(address: Account, names: Names) -> tuple[str, str]:
    kind = account_kind(address)
    parts = address.split(":")
    if kind == "source" and (unit := _unit_of(address)):
        key, code = unit
        return key, names.units.get(code, code)
    if kind == "fund":  # studio:<code>:fund:<source>
        return f"fund:{parts[3]}", _studio(parts[1], names)
    if kind == "payable":  # studio:<code>:payable:<person>
        person = names.people.get(parts[3])  # the payee code tells apart namesakes
        return (
            kind,
            f"{person}（{parts[3]}，{parts[1]}）" if person else f"{parts[3]}（{parts[1]}）",
        )
    if kind == "expense":  # expense:<category>:studio:<code>
        return kind, f"{EXPENSE_CATEGORIES.get(parts[1], parts[1])}（{parts[3]}）"
    return (address if kind == "source" else kind), ""


_TOP_BY_CODE: Final = {t.code: t for t in TOP_TITLES}


def chart_account(address: Account, names: Names = Names()) -> ChartAccount:
    """The 科目 an address is booked to; raises on an address no shape allows."""
    key, detail = _title_and_detail(address, names)
    title = SUB_TITLES[key]
    return ChartAccount(title, _TOP_BY_CODE[title.code[:4]], detail)


def on_side(balance: Fen, side: Side) -> Fen:
    """A raw ledger balance (inflows − outflows, a 贷 amount) as an amount on ``side``:
    positive when the balance sits on that side, negative when it is reversed."""
    return balance if side == "贷" else -balance


def direction(balance: Fen) -> str:
    """借或贷 of a raw ledger balance: 贷 when more came in than went out, 平 at zero."""
    return "贷" if balance > 0 else "借" if balance < 0 else "平"
