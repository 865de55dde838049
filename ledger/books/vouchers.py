"""记账凭证 as the books show them (SPEC §3): a recorded transaction read as the voucher
an accountant fills in — 凭证号, 日期, 摘要, and its lines, each a 科目 by code and name
with its 辅助核算, on the 借方 or the 贷方, and 合计.

Invariants:

- A posting that moves money from account A to account B is 借 A, 贷 B
  (:mod:`ledger.books.chart`), so every voucher's 借方合计 equals its 贷方合计, which is
  the sum of its postings.
- A voucher shows each account once on each side, its postings on that side added up,
  the 借 lines before the 贷 lines, each in the order the postings first name it: a batch
  approval of 154 payees is one line per studio fund and one per payee, not 308 lines.
- Nothing on a voucher is an internal account address: 科目 by code and name, the
  studio, payee or 收支项目 by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger import program
from ledger.books import book
from ledger.books.accounts import Account
from ledger.books.chart import Names, chart_account
from ledger.books.periods import Period
from ledger.books.postings import Transaction, Voucher
from ledger.books.statements import names as names_of
from ledger.errors import NotFoundError
from ledger.money import Fen

PAGE: Final = 1_000
"""Transactions read at a time when a month's vouchers are listed."""
NO_NAMES: Final = Names()
"""Codes shown as they are (a studio's code, a payee's)."""


@dataclass(frozen=True, slots=True)
class VoucherLine:
    """One line of a voucher: its 摘要, 科目 (code and name), 辅助核算 item and amount on
    one side (the other side is 0)."""

    memo: str
    code: str
    title: str
    item: str
    debit: Fen
    credit: Fen


@dataclass(frozen=True, slots=True)
class VoucherView:
    """A voucher as printed: its number, date, 摘要, lines and what it reverses."""

    number: Voucher
    seq: int
    on: date
    memo: str
    lines: tuple[VoucherLine, ...]
    reverses: str | None

    @property
    def total(self) -> Fen:
        """合计: the 借方 total, equal to the 贷方 total."""
        return sum(line.debit for line in self.lines)


@dataclass(frozen=True, slots=True)
class VoucherSummary:
    """A voucher in a list: number, date, 摘要, 合计, how many postings."""

    number: Voucher
    seq: int
    on: date
    memo: str
    total: Fen
    postings: int
    reverses: str | None


def voucher_lines(transaction: Transaction, names: Names = NO_NAMES) -> tuple[VoucherLine, ...]:
    """The voucher's lines: each account once per side, 借 before 贷 (see the module's
    invariants). A line's 摘要 is its postings' own when they all say the same (a payee's
    stipend line), else the voucher's (a studio's fund, paying several payees)."""
    memos: tuple[dict[Account, str], dict[Account, str]] = ({}, {})
    amounts: tuple[dict[Account, Fen], dict[Account, Fen]] = ({}, {})
    for posting in transaction.postings:
        memo = posting.memo or transaction.memo
        for side, address in ((0, posting.source), (1, posting.destination)):
            if memos[side].setdefault(address, memo) != memo:
                memos[side][address] = transaction.memo
            amounts[side][address] = amounts[side].get(address, 0) + posting.amount
    lines = []
    for side in (0, 1):
        for address, amount in amounts[side].items():
            account = chart_account(address, names)
            lines.append(
                VoucherLine(
                    memos[side][address],
                    account.code,
                    account.title.name,
                    account.item,
                    amount if side == 0 else 0,
                    amount if side == 1 else 0,
                )
            )
    return tuple(lines)


def _reverses(transaction: Transaction) -> str | None:
    reversed_voucher = transaction.request.metadata.get("reverses_voucher")
    return None if reversed_voucher is None else str(reversed_voucher)


def view(transaction: Transaction, names: Names = NO_NAMES) -> VoucherView:
    """``transaction`` as its 记账凭证."""
    return VoucherView(
        transaction.voucher,
        transaction.seq,
        transaction.effective_date,
        transaction.memo,
        voucher_lines(transaction, names),
        _reverses(transaction),
    )


def summary(transaction: Transaction) -> VoucherSummary:
    return VoucherSummary(
        transaction.voucher,
        transaction.seq,
        transaction.effective_date,
        transaction.memo,
        sum(p.amount for p in transaction.postings),
        len(transaction.postings),
        _reverses(transaction),
    )


def month_vouchers(
    stores: program.Stores, month: Period, *, after: int = 0, limit: int = PAGE
) -> list[VoucherSummary]:
    """Up to ``limit`` vouchers of ``month`` in number order (the order they were
    recorded), those recorded after sequence number ``after``: a month of 100,000
    studios' appropriations is read a page at a time. The entry points check that the
    reader may read the ledger (``ledger.read``)."""
    page = book.transactions(
        stores.ledger, after=after, limit=limit, from_date=month.first_day, to_date=month.last_day
    )
    return [summary(t) for t in page]


def voucher(stores: program.Stores, number: str) -> VoucherView:
    """The voucher numbered ``number`` (``记-2024-03-0002``), or :class:`NotFoundError`."""
    wanted = Voucher.parse(number)
    seq = stores.ledger.voucher_seq(wanted)
    found = None if seq is None else stores.ledger.get(seq)
    if found is None:
        raise NotFoundError(f"凭证{wanted}不存在")
    addresses = {a for p in found.postings for a in (p.source, p.destination)}
    return view(found, names_of(stores, addresses))
