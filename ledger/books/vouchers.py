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
- The people a voucher names are those the ledger knows (:func:`signers`): 制单 who
  prepared it (for a batch's approval and payment, the batch's preparer; else who
  recorded it); 审核 the approvers of the batch it approves or pays (both sealed in its
  metadata since issue 32); 出纳 who recorded a payment out of the bank; 记账 who
  recorded a voucher entered directly (a receipt, an expense, a correction, a tax
  re-settlement). A voucher an approval or a payment posted names no 记账: the ledger
  posts it by itself, and naming the approver or the 出纳 would show them keeping the
  books (不相容职务). A name the ledger does not know is left blank, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger import program
from ledger.batches.batch import Batch
from ledger.batches.disbursement import Stores
from ledger.books import book
from ledger.books.accounts import Account
from ledger.books.chart import Names, chart_account
from ledger.books.periods import Period
from ledger.books.postings import Transaction, Voucher
from ledger.books.statements import names as names_of
from ledger.errors import NotFoundError, ValidationError
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
class Signers:
    """The names a 记账凭证 carries at its foot ('' where the ledger does not know)."""

    maker: str = ""
    checkers: tuple[str, ...] = ()
    bookkeeper: str = ""
    cashier: str = ""


@dataclass(frozen=True, slots=True)
class VoucherView:
    """A voucher as printed: its number, date, 摘要, lines, what it reverses, who made,
    checked, recorded and paid it, and how many originals it has (附单据)."""

    number: Voucher
    seq: int
    on: date
    memo: str
    lines: tuple[VoucherLine, ...]
    reverses: str | None
    signers: Signers = Signers()
    attachments: int = 0

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


PAYMENT_KINDS: Final = frozenset({"stipend_payment", "tax_remittance"})
"""Vouchers whose money leaves the bank at the 出纳's hand (who records them)."""
APPROVED_KINDS: Final = frozenset({"stipend_approval", "stipend_payment"})
"""Vouchers of a batch whose approvers approved what they say."""


def signers(transaction: Transaction, batch: Batch | None) -> Signers:
    """Who the ledger knows made, checked, recorded and paid ``transaction`` (see the
    module's invariants): the preparer and approvers its sealed metadata names, else
    (a voucher posted before they were sealed) those of ``batch``, the batch it belongs
    to, if any."""
    recorded_by = transaction.recorded_by or ""
    metadata = transaction.request.metadata
    kind = metadata.get("kind")
    maker = recorded_by
    checkers: tuple[str, ...] = ()
    if kind in APPROVED_KINDS:
        sealed_maker, sealed_checkers = metadata.get("prepared_by"), metadata.get("approved_by")
        if isinstance(sealed_maker, str) and isinstance(sealed_checkers, list):
            maker, checkers = sealed_maker, tuple(str(name) for name in sealed_checkers)
        elif batch is not None:
            maker, checkers = batch.prepared_by, batch.approved_by
    posted_by_itself = kind in APPROVED_KINDS or kind in PAYMENT_KINDS
    return Signers(
        maker=maker,
        checkers=checkers,
        bookkeeper="" if posted_by_itself else recorded_by,
        cashier=recorded_by if kind in PAYMENT_KINDS else "",
    )


def view(
    transaction: Transaction,
    names: Names = NO_NAMES,
    *,
    batch: Batch | None = None,
    attachments: int = 0,
) -> VoucherView:
    """``transaction`` as its 记账凭证, ``batch`` the batch it belongs to (if any) and
    ``attachments`` how many originals it has."""
    return VoucherView(
        transaction.voucher,
        transaction.seq,
        transaction.effective_date,
        transaction.memo,
        voucher_lines(transaction, names),
        _reverses(transaction),
        signers(transaction, batch),
        attachments,
    )


def batch_of(stores: Stores, transaction: Transaction) -> Batch | None:
    """The batch ``transaction`` was posted for (its ``batch`` metadata), if any."""
    batch_id = transaction.request.metadata.get("batch")
    return stores.batches.batch(batch_id) if isinstance(batch_id, int) else None


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


def voucher(stores: Stores, number: str) -> VoucherView:
    """The voucher numbered ``number`` (``记-2024-03-0002``), or :class:`NotFoundError`."""
    wanted = Voucher.parse(number)
    seq = stores.ledger.voucher_seq(wanted)
    found = None if seq is None else stores.ledger.get(seq)
    if found is None:
        raise NotFoundError(f"凭证{wanted}不存在")
    return _viewed(stores, found)


def _viewed(stores: Stores, found: Transaction) -> VoucherView:
    addresses = {a for p in found.postings for a in (p.source, p.destination)}
    return view(
        found,
        names_of(stores, addresses),
        batch=batch_of(stores, found),
        attachments=stores.attachments.counts([found.seq]).get(found.seq, 0),
    )


def month_views(stores: Stores, month: Period) -> Iterator[VoucherView]:
    """Every voucher of ``month`` as printed, in number order, a page at a time."""
    after = 0
    while page := book.transactions(
        stores.ledger, after=after, limit=PAGE, from_date=month.first_day, to_date=month.last_day
    ):
        for found in page:
            yield _viewed(stores, found)
        after = page[-1].seq


def views(stores: Stores, numbers: Sequence[str]) -> list[VoucherView]:
    """The vouchers ``numbers`` as printed, in the order given, or :class:`NotFoundError`
    naming the first that does not exist."""
    return [voucher(stores, number) for number in numbers]


LINES_PER_PAGE: Final = 6
"""Ruled lines on one printed 记账凭证 (A5 landscape, as the forms offices buy have): a
longer voucher continues on further pages, each but the last ending with 过次页 and each
but the first beginning with 承前页, which takes one of its lines."""


@dataclass(frozen=True, slots=True)
class VoucherPage:
    """One printed page of a voucher: its lines, its place (``page`` of ``pages``), the
    借方/贷方 brought from the pages before it (承前页, on every page but the first) and
    those from the voucher's first line to this page's last (过次页 on every page but the
    last, 合计 on the last)."""

    lines: tuple[VoucherLine, ...]
    page: int
    pages: int
    brought_debit: Fen
    brought_credit: Fen
    debit: Fen
    credit: Fen

    @property
    def first(self) -> bool:
        return self.page == 1

    @property
    def last(self) -> bool:
        return self.page == self.pages


def voucher_pages(view: VoucherView, per_page: int = LINES_PER_PAGE) -> list[VoucherPage]:
    """``view``'s lines on pages of ``per_page`` ruled lines, each page after the first
    giving one of them to 承前页, each carrying the totals so far."""
    groups = [view.lines[:per_page]]
    rest = view.lines[per_page:]
    groups += [rest[i : i + per_page - 1] for i in range(0, len(rest), per_page - 1)]
    pages: list[VoucherPage] = []
    debit = credit = 0
    for number, group in enumerate(groups, start=1):
        brought = (debit, credit)
        debit += sum(line.debit for line in group)
        credit += sum(line.credit for line in group)
        pages.append(VoucherPage(group, number, len(groups), *brought, debit, credit))
    return pages


def printed(stores: Stores, *, month: str | None, numbers: Sequence[str]) -> Iterator[VoucherView]:
    """The vouchers a print asks for: every one of ``month`` (``YYYY-MM``) in number
    order, or those ``numbers`` name (all found before any is printed); one of the two."""
    if bool(month) == bool(numbers):
        raise ValidationError("month", "请给出月份（YYYY-MM）或凭证号，二者选一")
    if month:
        return month_views(stores, Period.parse(month, field="month"))
    return iter(views(stores, numbers))


@dataclass(frozen=True, slots=True)
class VoucherQuery:
    """What a reader looks for among a month's vouchers: those touching ``studio``, whose
    合计 is ``amount`` fen, whose 摘要 (the voucher's or a line's) contains ``memo``."""

    month: Period
    studio: str | None = None
    amount: Fen | None = None
    memo: str = ""

    def matches(self, transaction: Transaction) -> bool:
        if self.amount is not None and sum(p.amount for p in transaction.postings) != self.amount:
            return False
        memos = (transaction.memo, *(p.memo for p in transaction.postings))
        return not self.memo or any(self.memo in memo for memo in memos)


def search(
    stores: program.Stores, query: VoucherQuery, *, after: int = 0, limit: int = PAGE
) -> list[VoucherSummary]:
    """Up to ``limit`` vouchers of ``query.month`` that match it, in number order, those
    recorded after sequence number ``after`` (the last one shown: the next page starts
    after it). The month is read a page at a time, never whole."""
    found: list[VoucherSummary] = []
    while page := book.transactions(
        stores.ledger,
        after=after,
        limit=PAGE,
        studio=query.studio,
        from_date=query.month.first_day,
        to_date=query.month.last_day,
    ):
        for transaction in page:
            if query.matches(transaction):
                found.append(summary(transaction))
                if len(found) == limit:
                    return found
        after = page[-1].seq
    return found
