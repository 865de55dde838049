"""Auditor statements (SPEC §6): 专项资金明细账, 专项资金收支汇总表 and 科目余额表.

Every posting is booked as a debit (借方) to the account the money goes to and a
credit (贷方) to the account it comes from — the view of "where the money is" —
so debits equal credits in every statement and a studio fund's receipts are its
借方, its spending its 贷方, and a fund holding money has a 借 balance.

Layouts are pure generators of rows (:func:`ledger_rows`); the writers stream
them into openpyxl write-only workbooks, and the store reads postings in chunks,
so memory stays flat however many rows are exported. Amounts are numeric cells
(``#,##0.00``) summed in integer fen; a cell gets ``fen / 100`` only when written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from ledger import book, program
from ledger.accounts import FUNDING_SOURCES, account_kind, studio_fund
from ledger.book import AccountEntry
from ledger.errors import ValidationError
from ledger.expenses import SOURCE_LABELS
from ledger.money import Fen
from ledger.payout_files import AMOUNT_FORMAT, yuan_value
from ledger.postings import utc_now

ORGANIZATION: Final = "杭锦旗名师工作室领导小组办公室"
LEDGER_HEADER: Final = ("月", "日", "凭证号", "摘要", "借方", "贷方", "借或贷", "余额")


def direction(balance: Fen) -> str:
    """借 for a debit balance, 贷 for a credit balance, 平 when it is zero."""
    return "借" if balance > 0 else "贷" if balance < 0 else "平"


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One line of a three-column ledger.

    Attributes:
      kind: ``opening`` (上年结转), ``entry``, ``month`` (本月合计), ``year``
        (本年累计), ``carry`` (结转下年) or ``closing`` (期末余额).
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
        balance += entry.debit - entry.credit
        month_debit += entry.debit
        month_credit += entry.credit
        year_debit += entry.debit
        year_credit += entry.credit
        yield LedgerRow(
            "entry",
            entry_month,
            entry.effective_date.day,
            str(entry.voucher),
            entry.memo,
            entry.debit or None,
            entry.credit or None,
            balance,
        )
    if month is not None:
        yield from close_month()
    while year < last_year:
        yield LedgerRow("carry", 12, 31, "", "结转下年", None, None, balance)
        year += 1
        yield LedgerRow("opening", 1, 1, "", "上年结转", None, None, balance)
    yield LedgerRow("closing", 12, 31, "", "期末余额", None, None, balance)


# -- writing ------------------------------------------------------------------------


_BOLD: Final = Font(bold=True)


def _amount(ws: Worksheet, fen: Fen | None, *, bold: bool = False) -> WriteOnlyCell | None:
    if fen is None:
        return None
    cell = WriteOnlyCell(ws, value=yuan_value(fen))
    cell.number_format = AMOUNT_FORMAT
    if bold:
        cell.font = _BOLD
    return cell


def _text(
    ws: Worksheet, value: Any, *, bold: bool = False, size: int | None = None
) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if bold or size:
        cell.font = Font(bold=bold, size=size)
    return cell


def _sheet(workbook: Workbook, title: str, widths: Iterable[int], header_rows: int) -> Worksheet:
    ws = workbook.create_sheet(title[:31])
    for index, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = f"A{header_rows + 1}"
    ws.print_title_rows = f"1:{header_rows}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    return ws


def generated_line(by: str) -> str:
    return f"生成时间 {utc_now():%Y-%m-%d %H:%M} UTC，导出人 {by}"


@dataclass(frozen=True)
class LedgerSection:
    """One account's three-column ledger: a sheet."""

    sheet: str
    studio: str
    studio_name: str
    source: str
    period: str
    rows: Iterator[LedgerRow]


def write_ledger(path: Path, sections: Iterable[LedgerSection], by: str) -> int:
    """Write one sheet per section; returns how many entry rows were written."""
    workbook = Workbook(write_only=True)
    written = 0
    for section in sections:
        ws = _sheet(workbook, section.sheet, (5, 5, 16, 40, 15, 15, 8, 16), 4)
        ws.append([_text(ws, "专项资金明细账", bold=True, size=16)])
        ws.append(
            [
                f"单位：{ORGANIZATION}",
                None,
                None,
                f"工作室：{section.studio} {section.studio_name}",
                f"资金来源：{SOURCE_LABELS[section.source]}",
                None,
                f"期间：{section.period}",
                "金额单位：元",
            ]
        )
        ws.append(
            [
                _text(ws, "日期", bold=True),
                None,
                *(_text(ws, h, bold=True) for h in LEDGER_HEADER[2:]),
            ]
        )
        ws.append([_text(ws, "月", bold=True), _text(ws, "日", bold=True)])
        for row in section.rows:
            bold = row.kind != "entry"
            written += row.kind == "entry"
            ws.append(
                [
                    row.month,
                    row.day,
                    row.voucher,
                    _text(ws, row.memo, bold=bold),
                    _amount(ws, row.debit, bold=bold),
                    _amount(ws, row.credit, bold=bold),
                    direction(row.balance),
                    _amount(ws, abs(row.balance), bold=bold),
                ]
            )
        ws.append([])
        ws.append([generated_line(by)])
    workbook.save(path)
    return written


# -- the three statements ---------------------------------------------------------------


def export_ledger(
    stores: program.Stores,
    first_year: int,
    last_year: int,
    path: Path,
    by: str,
    studio: str | None = None,
) -> int:
    """专项资金明细账 of every studio (or one) and funding source, for the years given."""
    if last_year < first_year:
        raise ValidationError("year", "the period ends before it starts")
    studios = [s for s in stores.registry.studios() if studio is None or s.code == studio]
    if studio is not None and not studios:
        raise ValidationError("studio", f"unknown studio {studio}")
    start, end = date(first_year, 1, 1), date(last_year, 12, 31)
    period = f"{first_year}年" if first_year == last_year else f"{first_year}-{last_year}年"

    def sections() -> Iterator[LedgerSection]:
        for s in studios:
            for source in FUNDING_SOURCES:
                account = studio_fund(s.code, source)
                opening = stores.ledger.balance(account, date(first_year - 1, 12, 31)) or 0
                entries = stores.ledger.iter_account_entries(account, start, end)
                yield LedgerSection(
                    f"{s.code}-{SOURCE_LABELS[source]}",
                    s.code,
                    s.name,
                    source,
                    period,
                    ledger_rows(opening, entries, first_year, last_year),
                )

    return write_ledger(path, sections(), by)


SUMMARY_HEADER: Final = (
    "工作室编号",
    "工作室名称",
    "资金来源",
    "期初余额",
    "本年拨入",
    "劳务补贴支出",
    "活动经费支出",
    "退回资金",
    "期末余额",
)


@dataclass(frozen=True, slots=True)
class SummaryLine:
    studio: str
    name: str
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
            line = SummaryLine(
                s.code,
                s.name,
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


def export_summary(stores: program.Stores, year: int, path: Path, by: str) -> list[SummaryLine]:
    """专项资金收支汇总表 with 合计, the verify result and the last transaction's hash."""
    lines = summary_lines(stores, year)
    report = book.verify(stores.ledger)
    seq, last_hash = stores.ledger.head_hash()
    workbook = Workbook(write_only=True)
    ws = _sheet(workbook, f"{year}收支汇总", (12, 28, 14, 15, 15, 15, 15, 15, 15), 3)
    ws.append([_text(ws, f"{year}年度名师工作室专项资金收支汇总表", bold=True, size=16)])
    ws.append([f"单位：{ORGANIZATION}", None, None, None, None, None, None, None, "金额单位：元"])
    ws.append([_text(ws, h, bold=True) for h in SUMMARY_HEADER])
    for x in lines:
        ws.append(
            [
                x.studio,
                x.name,
                SOURCE_LABELS[x.source],
                *(
                    _amount(ws, v)
                    for v in (x.opening, x.received, x.stipends, x.expenses, x.returned, x.closing)
                ),
            ]
        )
    totals = [
        sum(getattr(x, f) for x in lines)
        for f in ("opening", "received", "stipends", "expenses", "returned", "closing")
    ]
    ws.append(
        [_text(ws, "合计", bold=True), None, None, *(_amount(ws, v, bold=True) for v in totals)]
    )
    ws.append([])
    ws.append(
        [
            f"账簿校验：{'通过' if report.ok else '未通过'}（{report.transactions}笔凭证，"
            "哈希链完整、余额与分录一致）"
            if report.ok
            else f"账簿校验：未通过，首个断点 {report.broken_link}"
        ]
    )
    ws.append([f"截至第{seq}笔交易，哈希 {last_hash}"])
    ws.append([generated_line(by)])
    workbook.save(path)
    return lines


TRIAL_HEADER: Final = (
    "科目",
    "类别",
    "期初借方",
    "期初贷方",
    "本期借方",
    "本期贷方",
    "期末借方",
    "期末贷方",
)


@dataclass(frozen=True, slots=True)
class TrialLine:
    account: str
    opening: Fen
    debit: Fen
    credit: Fen

    @property
    def closing(self) -> Fen:
        return self.opening + self.debit - self.credit


def trial_lines(stores: program.Stores, on: date) -> list[TrialLine]:
    """Every account: balance at the start of ``on``'s year, movements to ``on``, closing."""
    opening = stores.ledger.balances_as_of(date(on.year - 1, 12, 31))
    debit: dict[str, Fen] = {}
    credit: dict[str, Fen] = {}
    for source, destination, amount in stores.ledger.pair_movements(date(on.year, 1, 1), on):
        debit[destination] = debit.get(destination, 0) + amount
        credit[source] = credit.get(source, 0) + amount
    accounts = sorted(set(opening) | set(debit) | set(credit))
    return [TrialLine(a, opening.get(a, 0), debit.get(a, 0), credit.get(a, 0)) for a in accounts]


def _sides(balance: Fen) -> tuple[Fen, Fen]:
    return (balance, 0) if balance >= 0 else (0, -balance)


def export_trial_balance(stores: program.Stores, on: date, path: Path, by: str) -> list[TrialLine]:
    """科目余额表 as of ``on``: debits equal credits in every pair of columns."""
    lines = trial_lines(stores, on)
    workbook = Workbook(write_only=True)
    ws = _sheet(workbook, "科目余额表", (40, 10, 15, 15, 15, 15, 15, 15), 3)
    ws.append([_text(ws, f"科目余额表（截至{on.isoformat()}）", bold=True, size=16)])
    ws.append([f"单位：{ORGANIZATION}", None, None, None, None, None, None, "金额单位：元"])
    ws.append([_text(ws, h, bold=True) for h in TRIAL_HEADER])
    totals = [0] * 6
    for x in lines:
        values = (*_sides(x.opening), x.debit, x.credit, *_sides(x.closing))
        totals = [t + v for t, v in zip(totals, values, strict=True)]
        ws.append([x.account, account_kind(x.account), *(_amount(ws, v) for v in values)])
    ws.append([_text(ws, "合计", bold=True), None, *(_amount(ws, t, bold=True) for t in totals)])
    ws.append([])
    ws.append([generated_line(by)])
    workbook.save(path)
    if totals[0] != totals[1] or totals[2] != totals[3] or totals[4] != totals[5]:
        raise AssertionError(f"the trial balance does not balance: {totals}")
    return lines
