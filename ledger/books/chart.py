"""The chart of accounts (会计科目表): what an accountant calls each account (SPEC §3).

The ledger addresses accounts by path (``studio:HJ-S01:fund:finance``); the books
show each as a 科目编码 and a Chinese 科目名称, with the balance on the account's
normal side. This module is the one place that mapping lives.

Booking convention (记账方向) — invariant:

    a posting that moves money from account A to account B is 借 A, 贷 B.

Read as the program's 专项资金 books: money received from a funder is 借 银行存款
(the bank holds more), 贷 专项资金 (the studio's fund owes more to its purpose);
approving a stipend is 借 专项资金, 贷 其他应付款; paying it is 借 其他应付款, 贷
银行存款 (收支项目 已拨付劳务补贴); withholding tax is 借 专项资金, 贷 应交税费. So funds,
payables and withheld tax hold 贷 balances and 银行存款 a 借 balance, as an
accountant reads them, and debits equal credits in every statement.

银行存款 is one account with one 借 balance, the money still in the program's bank
account: every ledger account of money entering or leaving the program (a funder's,
a unit's, the stipends paid, an activity expense, the tax paid over) is booked to it,
told apart by 辅助核算 (its 收支项目: 旗财政拨入, 单位配套拨入—<单位>, 已拨付劳务补贴,
已支付活动经费—<类别>（<工作室>）…), never by sub-account codes. Likewise a studio is
the 辅助核算 of its 专项资金 and a payee of 其他应付款, so every code in the chart is
unique and each 二级 code extends its 一级 code. 银行存款's balance equals the funds,
payables and tax it owes — the trial balance's two sides.

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

BANK_ITEMS: Final[dict[str, str]] = {
    "source:finance": "旗财政拨入",
    "source:edu_fund": "教育基金拨入",
    "source:unit": "单位配套拨入",
    "source:support": "成员单位支持拨入",
    "bank": "已拨付劳务补贴",
    "expense": "已支付活动经费",
    "remitted": "已缴代扣个人所得税",
}
"""银行存款's 辅助核算 (收支项目) by what kind of address they hold: where its money came
from or went."""

SUB_TITLES: Final[dict[str, Title]] = {
    **dict.fromkeys(BANK_ITEMS, BANK),
    "tax": Title("222101", "应交税费—代扣个人所得税", "贷"),
    "payable": Title("224101", "其他应付款—应付劳务补贴", "贷"),
    "fund:finance": Title("271101", "专项资金—财政拨款", "贷"),
    "fund:edu_fund": Title("271102", "专项资金—教育基金拨款", "贷"),
    "fund:matching": Title("271103", "专项资金—单位配套", "贷"),
    "fund:support": Title("271104", "专项资金—成员单位支持", "贷"),
}
"""The 科目 each kind of address is booked to: a 二级科目, or 银行存款 itself."""

DIMENSIONS: Final[dict[str, str]] = {
    BANK.code: "收支项目",
    "224101": "人员",
    **dict.fromkeys(("271101", "271102", "271103", "271104"), "工作室"),
}
"""The 辅助核算 of each 科目 that has one: what tells its accounts apart."""


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
      title: its 科目 (code, name, normal side): a 二级科目, or 银行存款 itself.
      parent: its 一级科目 (the title itself for 银行存款).
      detail: its 辅助核算 item, which tells it apart within the title — a 收支项目 of
        银行存款, a studio, a payee — or ``""``.
    """

    title: Title
    parent: Title
    detail: str
    rank: int = 0
    """Where it stands among its title's accounts before its detail is compared: the
    收支项目 of 银行存款 in the order of :data:`BANK_ITEMS` (money in, then out)."""

    @property
    def code(self) -> str:
        return self.title.code

    @property
    def name(self) -> str:
        return f"{self.title.name}—{self.detail}" if self.detail else self.title.name

    @property
    def side(self) -> Side:
        return self.title.side

    @property
    def dimension(self) -> str:
        """What kind of 辅助核算 :attr:`detail` is (收支项目, 工作室, 人员), or ``""``."""
        return DIMENSIONS.get(self.title.code, "") if self.detail else ""

    @property
    def item(self) -> str:
        """Its 辅助核算 as the books print it (``工作室：HJ-S01 语文名师工作室``), or ``""``."""
        return f"{self.dimension}：{self.detail}" if self.detail else ""


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
        return key, f"{BANK_ITEMS[key]}—{names.units.get(code, code)}"
    if kind == "fund":  # studio:<code>:fund:<source>
        return f"fund:{parts[3]}", _studio(parts[1], names)
    if kind == "payable":  # studio:<code>:payable:<person>
        person = names.people.get(parts[3])  # the payee code tells apart namesakes
        return (
            kind,
            f"{person}（{parts[3]}，{parts[1]}）" if person else f"{parts[3]}（{parts[1]}）",
        )
    if kind == "expense":  # expense:<category>:studio:<code>
        category = EXPENSE_CATEGORIES.get(parts[1], parts[1])
        return kind, f"{BANK_ITEMS[kind]}—{category}（{parts[3]}）"
    key = address if kind == "source" else kind
    return key, BANK_ITEMS.get(key, "")


_TOP_BY_CODE: Final = {t.code: t for t in TOP_TITLES}


def chart_account(address: Account, names: Names = Names()) -> ChartAccount:
    """The 科目 an address is booked to; raises on an address no shape allows."""
    key, detail = _title_and_detail(address, names)
    title = SUB_TITLES[key]
    rank = _BANK_RANK.get(key, 0)
    return ChartAccount(title, _TOP_BY_CODE[title.code[:4]], detail, rank)


_BANK_RANK: Final = {key: rank for rank, key in enumerate(BANK_ITEMS)}


def on_side(balance: Fen, side: Side) -> Fen:
    """A raw ledger balance (inflows − outflows, a 贷 amount) as an amount on ``side``:
    positive when the balance sits on that side, negative when it is reversed."""
    return balance if side == "贷" else -balance


def direction(balance: Fen) -> str:
    """借或贷 of a raw ledger balance: 贷 when more came in than went out, 平 at zero."""
    return "贷" if balance > 0 else "借" if balance < 0 else "平"
