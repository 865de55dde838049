"""Auditor statements (SPEC §6): 专项资金明细账, 专项资金收支汇总表 and 科目余额表.

Every account is shown by its 科目编码 and 科目名称 and booked as the chart of
accounts says (:mod:`ledger.chart`): a posting from A to B is 借 A, 贷 B, so a
studio fund's receipts are its 贷方, its spending its 借方, a fund holding money
has a 贷 balance, and debits equal credits in every statement.

This module gives each statement's figures, tied to the ledger and checked against
``statement.export``; :mod:`ledger.workbooks.statements` lays them out on paper. Rows are
generated (:func:`ledger_rows`) and the store reads postings in chunks, so memory
stays flat however many rows are exported. Amounts are integer fen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Final

from ledger import program
from ledger.books import attachments, book
from ledger.books.accounts import FUNDING_SOURCES, WITHHELD_TAX, account_kind, studio_fund
from ledger.books.book import AccountEntry
from ledger.books.chart import (
    BANK,
    TOP_TITLES,
    ChartAccount,
    Names,
    Title,
    chart_account,
    direction,
    named_codes,
    on_side,
)
from ledger.clock import check_in_books
from ledger.errors import ValidationError
from ledger.funds.expenses import SOURCE_LABELS
from ledger.money import Fen
from ledger.registry.roster import round_label
from ledger.users import User, acting

ORGANIZATION: Final = "杭锦旗名师工作室领导小组办公室"
OPTIONAL_POOLS: Final = frozenset({"support"})
"""Pools a studio has only once money came into them: a book for each would be empty
for most studios (every studio has the others from its first appropriation)."""


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One line of a three-column ledger.

    Attributes:
      balance: the raw ledger balance after the line (inflows − outflows: a 贷
        amount when positive, see :func:`ledger.chart.direction`).
      kind: ``opening`` (上年结转), ``entry``, ``month`` (本月合计), ``year``
        (本年累计), ``carry`` (结转下年), ``closing`` (期末余额), or on paper
        ``forward`` (过次页) and ``brought`` (承前页) (:func:`paged_rows`).
    """

    kind: str
    month: int | None
    day: int | None
    voucher: str
    memo: str
    debit: Fen | None
    credit: Fen | None
    balance: Fen


def ledger_rows(
    opening: Fen, entries: Iterable[AccountEntry], first_year: int, last_year: int
) -> Iterator[LedgerRow]:
    """The three-column ledger of one account from ``first_year`` to ``last_year``:
    上年结转, the entries with running balances, 本月合计 and 本年累计 after each month
    with entries, 结转下年 between years, and the closing balance."""
    balance = opening
    year = first_year
    month: int | None = None
    month_debit = month_credit = year_debit = year_credit = 0

    def close_month() -> Iterator[LedgerRow]:
        yield LedgerRow("month", month, None, "", "本月合计", month_debit, month_credit, balance)
        yield LedgerRow("year", month, None, "", "本年累计", year_debit, year_credit, balance)

    yield LedgerRow("opening", 1, 1, "", "上年结转", None, None, balance)
    for entry in entries:
        entry_year, entry_month = entry.effective_date.year, entry.effective_date.month
        while entry_year > year:
            if month is not None:
                yield from close_month()
            yield LedgerRow("carry", 12, 31, "", "结转下年", None, None, balance)
            year, month = year + 1, None
            year_debit = year_credit = 0
            yield LedgerRow("opening", 1, 1, "", "上年结转", None, None, balance)
        if month is not None and entry_month != month:
            yield from close_month()
        if entry_month != month:
            month, month_debit, month_credit = entry_month, 0, 0
        balance += entry.inflow - entry.outflow
        month_debit += entry.outflow
        month_credit += entry.inflow
        year_debit += entry.outflow
        year_credit += entry.inflow
        yield LedgerRow(
            "entry",
            entry_month,
            entry.effective_date.day,
            str(entry.voucher),
            entry.memo,
            entry.outflow or None,
            entry.inflow or None,
            balance,
        )
    if month is not None:
        yield from close_month()
    while year < last_year:
        yield LedgerRow("carry", 12, 31, "", "结转下年", None, None, balance)
        year += 1
        yield LedgerRow("opening", 1, 1, "", "上年结转", None, None, balance)
    yield LedgerRow("closing", 12, 31, "", "期末余额", None, None, balance)


PAGE_FORWARD: Final = "过次页"
PAGE_BROUGHT: Final = "承前页"


def paged_rows(
    rows: Iterable[LedgerRow], lines_per_page: int, lines: Callable[[LedgerRow], int]
) -> Iterator[LedgerRow]:
    """The rows of an account's book laid on pages of ``lines_per_page`` printed lines
    (``lines`` says how many a row takes), as 会计基础工作规范 第六十条 asks: when the
    account runs over a page, its last line is 过次页 and the next page's first 承前页,
    both with the year's 借方 and 贷方 from its first day to the page's end (the book
    prints 本年累计, so the carried figures are the year's: 承前页 and the entries under
    it make the next 本年累计) and the balance; blank where the year has not moved yet.
    A ``forward`` row ends each page but the last (the writer breaks the page after it);
    a ``brought`` row heads each page but the first. The book's last row (期末余额) needs
    no 过次页 after it, so no line is kept free for one."""
    year_debit = year_credit = 0
    used = 0
    last: LedgerRow | None = None
    for row in rows:
        cost = lines(row)
        kept = 0 if row.kind == "closing" else 1
        if last is not None and used + cost + kept > lines_per_page:
            carried = (year_debit or None, year_credit or None)
            yield LedgerRow("forward", None, None, "", PAGE_FORWARD, *carried, last.balance)
            yield LedgerRow("brought", None, None, "", PAGE_BROUGHT, *carried, last.balance)
            used = 1
        if row.kind == "opening":
            year_debit = year_credit = 0  # a year begins: 上年结转
        elif row.kind == "entry":
            year_debit += row.debit or 0
            year_credit += row.credit or 0
        used += cost
        last = row
        yield row


def anchor_line(seq: int, last_hash: str) -> str:
    """The ledger's anchor as a statement prints it, short enough for one printed line:
    an auditor who keeps the paper can check later that the ledger still holds that
    transaction, neither rewritten, truncated nor rolled back (``verify --anchor``)."""
    return f"账簿锚点 {book.Anchor(seq, last_hash)}（截至第{seq}笔交易；以 verify --anchor 核对）"


@dataclass(frozen=True)
class LedgerSection:
    """One account's three-column ledger: a sheet; ``studio`` says the studio's round
    and cycle years (``第1轮　周期2024-2026``)."""

    sheet: str
    account: ChartAccount
    period: str
    rows: Iterator[LedgerRow]
    studio: str = ""


# -- the three statements ---------------------------------------------------------------


def names(stores: program.Stores, addresses: Iterable[str]) -> Names:
    """The names of the studios, payees and units ``addresses`` hold, for the chart's 明细
    (辅助核算); only those are read."""
    codes = named_codes(addresses)
    return Names(
        {s.code: s.name for s in stores.registry.studios_of(codes.studios)},
        {p.code: p.name for p in stores.registry.people_of(codes.people)},
        stores.registry.unit_names(codes.units),
    )


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """An account's balance as the books read it: ``balance`` is the raw ledger
    balance (inflows − outflows), shown as 借或贷 :attr:`direction` and :attr:`amount`."""

    address: str
    account: ChartAccount
    balance: Fen

    @property
    def direction(self) -> str:
        return direction(self.balance)

    @property
    def amount(self) -> Fen:
        return abs(self.balance)


def account_balance(stores: program.Stores, address: str, as_of: date | None) -> AccountBalance:
    """The balance of the account at ``address``, now or at the end of ``as_of``."""
    account = chart_account(address, names(stores, [address]))
    return AccountBalance(address, account, book.balance(stores.ledger, address, as_of))


@dataclass(frozen=True, slots=True)
class SummaryLine:
    studio: str
    name: str
    round: int
    source: str
    opening: Fen
    received: Fen
    stipends: Fen
    expenses: Fen
    returned: Fen
    closing: Fen


def summary_lines(stores: program.Stores, year: int) -> list[SummaryLine]:
    """Studio × source: opening, received, stipends, expenses, returned, closing — each
    tied to the ledger (the closing equals the balance at 31 December, to the fen)."""
    before = stores.ledger.balances_as_of(date(year - 1, 12, 31))
    after = stores.ledger.balances_as_of(date(year, 12, 31))
    moved: dict[tuple[str, str], Fen] = {}
    for source, destination, amount in stores.ledger.pair_movements(
        date(year, 1, 1), date(year, 12, 31)
    ):
        for account, other, sign in ((destination, source, 1), (source, destination, -1)):
            key = (account, account_kind(other))
            moved[key] = moved.get(key, 0) + sign * amount
    lines = []
    for s in stores.registry.studios():
        for source in FUNDING_SOURCES:
            account = studio_fund(s.code, source)
            if source in OPTIONAL_POOLS and not (
                account in before or account in after or (account, "source") in moved
            ):
                continue  # no member's unit supported it: no line
            line = SummaryLine(
                s.code,
                s.name,
                s.round,
                source,
                before.get(account, 0),
                received=moved.get((account, "source"), 0)
                if moved.get((account, "source"), 0) > 0
                else 0,
                stipends=-moved.get((account, "payable"), 0),
                expenses=-moved.get((account, "expense"), 0),
                returned=-moved.get((account, "source"), 0)
                if moved.get((account, "source"), 0) < 0
                else 0,
                closing=after.get(account, 0),
            )
            derived = line.opening + line.received - line.stipends - line.expenses - line.returned
            if derived != line.closing:
                raise AssertionError(
                    f"{account}: the summary does not tie to the ledger "
                    f"({derived} != {line.closing} fen)"
                )
            lines.append(line)
    return lines


@dataclass(frozen=True, slots=True)
class TrialLine:
    """One account in the trial balance: raw balances (inflows − outflows, a 贷 amount)
    at the start of the year and at the date, and the year's movements to the date."""

    account: str
    chart: ChartAccount
    opening: Fen
    inflow: Fen
    outflow: Fen

    @property
    def closing(self) -> Fen:
        return self.opening + self.inflow - self.outflow

    @property
    def moved(self) -> bool:
        """Not zero at the start, in the period and at the end alike."""
        return bool(self.opening or self.inflow or self.outflow)


def trial_lines(stores: program.Stores, on: date) -> list[TrialLine]:
    """Every account in chart order: balance at the start of ``on``'s year, the year's
    movements to ``on``, and the balance at ``on``."""
    opening = stores.ledger.balances_as_of(date(on.year - 1, 12, 31))
    inflow: dict[str, Fen] = {}
    outflow: dict[str, Fen] = {}
    for source, destination, amount in stores.ledger.pair_movements(date(on.year, 1, 1), on):
        inflow[destination] = inflow.get(destination, 0) + amount
        outflow[source] = outflow.get(source, 0) + amount
    addresses = set(opening) | set(inflow) | set(outflow)
    known = names(stores, addresses)
    lines = [
        TrialLine(
            a, chart_account(a, known), opening.get(a, 0), inflow.get(a, 0), outflow.get(a, 0)
        )
        for a in addresses
    ]
    return sorted(lines, key=lambda x: (x.chart.code, x.chart.rank, x.chart.detail))


@dataclass(frozen=True, slots=True)
class TrialRow:
    """A row of the 科目余额表: a 一级 or 二级 科目's total, or one 明细 account.

    Balances sit in the column of the title's normal side (a reversed balance is
    negative there); movements are 借方 = money out, 贷方 = money in."""

    level: int
    code: str
    name: str
    side: str
    opening: Fen
    debit: Fen
    credit: Fen
    closing: Fen

    def values(self) -> tuple[Fen, ...]:
        def sides(amount: Fen) -> tuple[Fen, Fen]:
            return (amount, 0) if self.side == "借" else (0, amount)

        return (*sides(self.opening), self.debit, self.credit, *sides(self.closing))


def _total(level: int, title: Title, lines: list[TrialLine], name: str) -> TrialRow:
    return TrialRow(
        level,
        title.code,
        name,
        title.side,
        sum(on_side(x.opening, title.side) for x in lines),
        sum(x.outflow for x in lines),
        sum(x.inflow for x in lines),
        sum(on_side(x.closing, title.side) for x in lines),
    )


def trial_rows(lines: list[TrialLine], *, every: bool = False) -> Iterator[TrialRow]:
    """Each 一级科目 with its total, then each 二级科目 under it (银行存款 has none): every
    code once, each 二级 code extending its 一级 code; the accounts within a 科目 are its
    辅助核算 (:func:`auxiliary_rows`). A 科目 none of whose accounts moved (zero at the
    start, no movement, zero at the end) is left out unless ``every``: the same rule
    the 辅助余额表 follows, so the two sheets show the same 科目."""
    for top in TOP_TITLES:
        under = [x for x in lines if x.chart.parent == top and (every or x.moved)]
        if not under:
            continue
        titles = sorted({x.chart.title for x in under} - {top}, key=lambda t: t.code)
        yield _total(1, top, under, top.name)
        for t in titles:
            yield _total(2, t, [x for x in under if x.chart.title == t], t.name)


@dataclass(frozen=True, slots=True)
class AuxiliaryRow:
    """A row of the 辅助余额表: one 辅助核算 item of a 科目 (``item`` set), or the 科目's
    小计 (``item`` empty). Balances are raw (inflows − outflows): the writer shows each
    on the side it sits (借或贷), as the 明细账 does; movements are 借方 = money out,
    贷方 = money in."""

    code: str
    name: str
    item: str
    opening: Fen
    debit: Fen
    credit: Fen
    flow: bool = False
    """A 收支项目 of 银行存款 (money that came in or went out): its movements are what it
    says; the balance is the 科目's, on its 小计."""

    @property
    def closing(self) -> Fen:
        return self.opening + self.credit - self.debit


def auxiliary_rows(lines: list[TrialLine], *, every: bool = False) -> Iterator[AuxiliaryRow]:
    """The 辅助余额表: for each 科目 with 辅助核算, in chart order, its items (收支项目,
    工作室, 人员) and their 小计, which equals the 科目's row in :func:`trial_rows`. An
    item zero in every column is left out unless ``every``."""
    titles = sorted({x.chart.title for x in lines if x.chart.detail}, key=lambda t: t.code)
    for title in titles:
        items = [x for x in lines if x.chart.title == title]
        shown = [
            AuxiliaryRow(
                title.code,
                title.name,
                x.chart.item,
                x.opening,
                x.outflow,
                x.inflow,
                flow=title == BANK,
            )
            for x in items
            if every or x.moved
        ]
        if shown:
            yield from shown
            yield AuxiliaryRow(
                title.code,
                title.name,
                "",
                sum(x.opening for x in items),
                sum(x.outflow for x in items),
                sum(x.inflow for x in items),
            )


@dataclass(frozen=True)
class LedgerStatement:
    """专项资金明细账 as the ledger gives it: who asked, one section per book (read as
    it is written), and the ledger's anchor at the time."""

    exporter: User
    sections: Iterator[LedgerSection]
    anchor: tuple[int, str]


def ledger_statement(
    stores: program.Stores,
    first_year: int,
    last_year: int,
    by: str,
    studio: str | None = None,
) -> LedgerStatement:
    """专项资金明细账 of every studio (or one) and funding source, for the years given."""
    exporter = acting(stores, by, "statement.export")
    if last_year < first_year:
        raise ValidationError("year", f"结束年度 {last_year} 早于起始年度 {first_year}")
    studios = [s for s in stores.registry.studios() if studio is None or s.code == studio]
    if studio is not None and not studios:
        raise ValidationError("studio", f"{studio} 不在名册中")
    start, end = date(first_year, 1, 1), date(last_year, 12, 31)
    period = f"{first_year}年" if first_year == last_year else f"{first_year}-{last_year}年"
    studio_names = Names({s.code: s.name for s in studios})

    def sections() -> Iterator[LedgerSection]:
        for s in studios:
            for source in FUNDING_SOURCES:
                account = studio_fund(s.code, source)
                if source in OPTIONAL_POOLS and stores.ledger.balance(account, None) is None:
                    continue  # a studio no member's unit supported has no support book
                opening = stores.ledger.balance(account, date(first_year - 1, 12, 31)) or 0
                entries = stores.ledger.iter_account_entries(account, start, end)
                yield LedgerSection(
                    f"{s.code}-{SOURCE_LABELS[source]}",
                    chart_account(account, studio_names),
                    period,
                    ledger_rows(opening, entries, first_year, last_year),
                    f"{round_label(s.round)}　周期{s.cycle_start_year}-{s.cycle_end_year}"
                    if s.cycle_end_year
                    else round_label(s.round),
                )
        if studio is None and stores.ledger.balance(WITHHELD_TAX, None) is not None:
            # the withheld tax's own book: withheld by payments, given back by
            # re-settlements, paid over to the tax office (缴纳)
            opening = stores.ledger.balance(WITHHELD_TAX, date(first_year - 1, 12, 31)) or 0
            entries = stores.ledger.iter_account_entries(WITHHELD_TAX, start, end)
            yield LedgerSection(
                "应交税费-代扣个人所得税",
                chart_account(WITHHELD_TAX),
                period,
                ledger_rows(opening, entries, first_year, last_year),
            )

    return LedgerStatement(exporter, sections(), stores.ledger.head_hash())


@dataclass(frozen=True)
class SummaryStatement:
    """专项资金收支汇总表 as the ledger gives it, with the verify result and anchor."""

    exporter: User
    year: int
    lines: list[SummaryLine]
    verified: book.VerifyReport
    anchor: tuple[int, str]


def summary_statement(stores: attachments.Stores, year: int, by: str) -> SummaryStatement:
    """专项资金收支汇总表 of ``year``, for an auditor (``statement.export``)."""
    exporter = acting(stores, by, "statement.export")
    return SummaryStatement(
        exporter,
        year,
        summary_lines(stores, year),
        attachments.verified(stores),
        stores.ledger.head_hash(),
    )


@dataclass(frozen=True)
class TrialStatement:
    """科目余额表 as the ledger gives it: the accounts, their rows and the anchor."""

    exporter: User
    on: date
    lines: list[TrialLine]
    anchor: tuple[int, str]


def trial_statement(stores: program.Stores, on: date, by: str) -> TrialStatement:
    """科目余额表 as of ``on``, for an auditor (``statement.export``)."""
    exporter = acting(stores, by, "statement.export")
    check_in_books(on, field="date")
    return TrialStatement(exporter, on, trial_lines(stores, on), stores.ledger.head_hash())
