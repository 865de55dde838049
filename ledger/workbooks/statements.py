"""The auditor statements on paper (SPEC §6): 专项资金明细账, 专项资金收支汇总表 and
科目余额表 as print-ready workbooks.

The figures come from :mod:`ledger.books.statements`; this module only lays them out,
streaming rows into openpyxl write-only workbooks. Amounts are numeric cells
(``#,##0.00``) summed in integer fen; a cell gets ``fen / 100`` only when written.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Final

from ledger import program
from ledger.batches.disbursement import Stores
from ledger.books import attachments
from ledger.books.accounts import FUNDING_SOURCES, studio_fund
from ledger.books.chart import chart_account, direction
from ledger.books.periods import Period
from ledger.books.statements import (
    ORGANIZATION,
    LedgerRow,
    LedgerSection,
    SummaryLine,
    TrialLine,
    anchor_line,
    auxiliary_rows,
    ledger_statement,
    paged_rows,
    summary_statement,
    trial_rows,
    trial_statement,
)
from ledger.money import Fen, format_plain
from ledger.tax.declaration import ID_KIND, INCOME_ITEM, Declaration, declaration
from ledger.users import ROLE_LABELS, User
from ledger.workbooks.sheets import Column, Layout, PrintedSheet, fit_width, new_workbook, stamp

LEDGER_HEADER: Final = ("月", "日", "凭证号", "摘要", "借方", "贷方", "借或贷", "余额")
LEDGER_LAYOUT: Final = Layout(
    (
        Column(4, "number"),
        Column(4, "number"),
        Column(16, "centre"),
        Column(44, wrap=True),
        Column(15, "amount"),
        Column(15, "amount"),
        Column(7, "centre"),
        Column(16, "amount"),
    ),
    title_rows=5,
)
LEDGER_HEADER_ROWS: Final = LEDGER_LAYOUT.title_rows
LEDGER_LINES_PER_PAGE: Final = 26
"""Printed lines of an account's book on a page, under its repeated title rows: the
rows of A4 landscape at 10.5 pt, with room to spare, so a page breaks after its 过次页
and never earlier (a long 摘要 wraps and counts for each line it takes)."""
_MEMO: Final = LEDGER_LAYOUT.columns[3]


def memo_lines(row: LedgerRow) -> int:
    """How many printed lines a row of the book takes: its 摘要 wraps in its column."""
    return max(1, math.ceil((fit_width(row.memo) - 2) / (_MEMO.width - 2)))


def generated_line(by: User) -> str:
    return stamp(by.name, ROLE_LABELS[by.role])


def write_ledger(
    path: Path, sections: Iterable[LedgerSection], by: User, anchor: tuple[int, str]
) -> int:
    """Write one sheet per section, each ending with the ledger's ``anchor`` (sequence
    number and hash of its last transaction); returns how many entry rows were written."""
    workbook = new_workbook()
    written = 0
    for section in sections:
        sheet = PrintedSheet(workbook, section.sheet, LEDGER_LAYOUT)
        sheet.title("专项资金明细账")
        account = section.account
        item = f"　{account.item}" if account.item else ""
        sheet.caption(f"科目：{account.code} {account.title.name}{item}", f"期间：{section.period}")
        sheet.caption(
            f"核算单位：{ORGANIZATION}" + (f"　{section.studio}" if section.studio else ""),
            "金额单位：元",
        )
        sheet.header(("日期", None, *LEDGER_HEADER[2:]))
        sheet.merge(1, 2)
        sheet.header(("月", "日", *[None] * 6))
        for column in range(3, 9):
            sheet.merge(column, column, rows=2)
        for row in paged_rows(section.rows, LEDGER_LINES_PER_PAGE, memo_lines):
            written += row.kind == "entry"
            sheet.row(
                (
                    row.month,
                    row.day,
                    row.voucher,
                    row.memo,
                    row.debit,
                    row.credit,
                    direction(row.balance),
                    abs(row.balance),
                ),
                bold=row.kind != "entry",
            )
            if row.kind == "forward":
                sheet.page_break()
        sheet.blank()
        sheet.note(anchor_line(*anchor))
        sheet.note(generated_line(by))
    workbook.save(path)
    return written


def export_ledger(
    stores: program.Stores,
    first_year: int,
    last_year: int,
    path: Path,
    by: str,
    studio: str | None = None,
) -> int:
    """专项资金明细账 of every studio (or one) and funding source, for the years given;
    returns how many entry rows were written."""
    statement = ledger_statement(stores, first_year, last_year, by, studio)
    return write_ledger(path, statement.sections, statement.exporter, statement.anchor)


SUMMARY_LAYOUT: Final = Layout(
    (
        Column(9, "centre"),
        Column(23),
        Column(10, "centre"),
        Column(26),
        Column(5, "centre"),
        *[Column(14, "amount")] * 6,
    ),
    title_rows=3,
)
SUMMARY_HEADER: Final = (
    "科目编码",
    "科目名称",
    "工作室编号",
    "工作室名称",
    "轮次",
    "期初余额",
    "本年拨入",
    "劳务补贴支出",
    "活动经费支出",
    "退回资金",
    "期末余额",
)


SUMMARY_AMOUNTS: Final = ("opening", "received", "stipends", "expenses", "returned", "closing")
SUMMARY_SIGN_OFF: Final = (
    (1, "制表人（签字）："),
    (4, "审核人（签字）："),
    (7, "负责人（签字）："),
    (10, "日期：　　年　　月　　日"),
)


def summary_totals(lines: Iterable[SummaryLine]) -> list[Fen]:
    """期初余额 … 期末余额 of ``lines`` added up, fen."""
    kept = list(lines)
    return [sum(getattr(x, f) for x in kept) for f in SUMMARY_AMOUNTS]


def export_summary(stores: attachments.Stores, year: int, path: Path, by: str) -> list[SummaryLine]:
    """专项资金收支汇总表: the studios of each funding source with the source's 小计, then
    合计 (which the subtotals add up to), the verify result, the last transaction's hash
    and the 制表 / 审核 / 负责人 lines to sign."""
    statement = summary_statement(stores, year, by)
    lines, report, exporter = statement.lines, statement.verified, statement.exporter
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, f"{year}收支汇总", SUMMARY_LAYOUT)
    sheet.title(f"{year}年度名师工作室专项资金收支汇总表")
    sheet.caption(f"核算单位：{ORGANIZATION}", "金额单位：元")
    sheet.header(SUMMARY_HEADER)
    for source in FUNDING_SOURCES:
        of_source = [x for x in lines if x.source == source]
        if not of_source:
            continue
        title = chart_account(studio_fund(of_source[0].studio, source)).title
        for x in of_source:
            sheet.row(
                (
                    title.code,
                    title.name,
                    x.studio,
                    x.name,
                    x.round,
                    *(getattr(x, f) for f in SUMMARY_AMOUNTS),
                )
            )
        label = f"{title.name}小计（{len(of_source)}个工作室）"
        sheet.row((label, None, None, None, None, *summary_totals(of_source)), bold=True, span=5)
    sheet.row(("合计", None, None, None, None, *summary_totals(lines)), bold=True, span=5)
    sheet.blank()
    sheet.note(
        f"账簿校验：通过（{report.transactions}笔凭证，哈希链完整、余额与分录一致）"
        if report.ok
        else f"账簿校验：未通过，首个断点 {report.broken_link}"
    )
    sheet.note(anchor_line(*statement.anchor))
    sheet.signatures(SUMMARY_SIGN_OFF)
    sheet.note(generated_line(exporter))
    workbook.save(path)
    return lines


TRIAL_LAYOUT: Final = Layout(
    (Column(9, "centre"), Column(46), *[Column(14, "amount")] * 6),
    title_rows=3,
)
ZERO_ROWS_LEFT_OUT: Final = (
    "期初、本期、期末均为零的科目和项目未列出（导出时选择“显示全部”可列出）。"
)
ZERO_ROWS_SHOWN: Final = "含期初、本期、期末均为零的科目和项目。"
TRIAL_HEADER: Final = (
    "科目编码",
    "科目名称",
    "期初借方",
    "期初贷方",
    "本期借方",
    "本期贷方",
    "期末借方",
    "期末贷方",
)


AUXILIARY_LAYOUT: Final = Layout(
    (
        Column(9, "centre"),
        Column(24),
        Column(44, wrap=True),
        Column(6, "centre"),
        Column(14, "amount"),
        Column(14, "amount"),
        Column(14, "amount"),
        Column(6, "centre"),
        Column(14, "amount"),
    ),
    title_rows=3,
)
AUXILIARY_HEADER: Final = (
    "科目编码",
    "科目名称",
    "辅助核算项目",
    "期初方向",
    "期初余额",
    "本期借方",
    "本期贷方",
    "期末方向",
    "期末余额",
)


def export_trial_balance(
    stores: program.Stores, on: date, path: Path, by: str, *, every: bool = False
) -> list[TrialLine]:
    """科目余额表 as of ``on``: 一级 and 二级 科目 once each, each balance on its normal
    side, debits equal to credits in every pair of columns of the 合计; then the
    辅助余额表: each 科目's 辅助核算 items (收支项目 of 银行存款, studios, payees) and
    their 小计, which equals the 科目's row. Rows zero in every column are left out
    unless ``every``; a line under each table says so."""
    statement = trial_statement(stores, on, by)
    lines, exporter = statement.lines, statement.exporter
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "科目余额表", TRIAL_LAYOUT)
    sheet.title(f"科目余额表（截至{on.isoformat()}）")
    sheet.caption(f"核算单位：{ORGANIZATION}", "金额单位：元")
    sheet.header(TRIAL_HEADER)
    totals = [0] * 6
    for row in trial_rows(lines, every=every):
        values = row.values()
        if row.level == 1:
            totals = [t + v for t, v in zip(totals, values, strict=True)]
        sheet.row((row.code, row.name, *values), bold=row.level == 1)
    sheet.row(("合计", None, *totals), bold=True, span=2)
    sheet.blank()
    sheet.note(ZERO_ROWS_SHOWN if every else ZERO_ROWS_LEFT_OUT)
    sheet.note(anchor_line(*statement.anchor))
    sheet.note(generated_line(exporter))
    aux = PrintedSheet(workbook, "辅助余额表", AUXILIARY_LAYOUT)
    aux.title(f"辅助余额表（截至{on.isoformat()}）")
    aux.caption(f"核算单位：{ORGANIZATION}", "金额单位：元")
    aux.header(AUXILIARY_HEADER)
    for item in auxiliary_rows(lines, every=every):
        balances = not item.flow  # a 收支项目 shows what came in or went out, no balance
        aux.row(
            (
                item.code,
                item.name,
                item.item or "小计",
                direction(item.opening) if balances else None,
                abs(item.opening) if balances else None,
                item.debit,
                item.credit,
                direction(item.closing) if balances else None,
                abs(item.closing) if balances else None,
            ),
            bold=not item.item,
        )
    aux.blank()
    aux.note(ZERO_ROWS_SHOWN if every else ZERO_ROWS_LEFT_OUT)
    aux.note("银行存款的收支项目列示本期收付；其余额见小计。")
    aux.note(anchor_line(*statement.anchor))
    aux.note(generated_line(exporter))
    workbook.save(path)
    if totals[0] != totals[1] or totals[2] != totals[3] or totals[4] != totals[5]:
        raise AssertionError(f"the trial balance does not balance: {totals}")
    return lines


WITHHOLDING_LAYOUT: Final = Layout(
    (
        Column(5, "number"),
        Column(9, "centre", wrap=True),
        Column(10, "centre", wrap=True),
        Column(20, "centre"),
        Column(12, "centre", wrap=True),
        Column(14, "amount"),
        Column(13, "amount"),
        Column(14, "amount"),
        Column(6, "centre"),
        Column(11, "amount"),
        Column(14, "amount"),
        Column(14, "amount"),
        Column(13, "amount"),
    ),
    title_rows=4,
)
WITHHOLDING_HEADER: Final = (
    "序号",
    "姓名",
    "身份证件类型",
    "身份证件号码",
    "所得项目",
    "收入额",
    "减除费用",
    "应纳税所得额",
    "税率",
    "速算扣除数",
    "应纳税额",
    "已扣缴税额",
    "应补（退）税额",
)
WITHHOLDING_SIGN_OFF: Final = (
    (1, "扣缴义务人（签章）："),
    (6, "经办人（签字）："),
    (10, "受理日期：　　年　　月　　日"),
)


def export_withholding(stores: Stores, month: Period, path: Path, by: str) -> Declaration:
    """扣缴个人所得税报告表 of ``month``: a row per person, 合计, and the line saying
    whether it agrees with the tax account's movements of the month, to the fen."""
    found = declaration(stores, month, by)
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "扣缴申报", WITHHOLDING_LAYOUT)
    sheet.title("扣缴个人所得税报告表")
    sheet.caption(
        f"税款所属期：{month.first_day:%Y年%m月%d日}至{month.last_day:%Y年%m月%d日}"
        f"　扣缴义务人：{ORGANIZATION}",
        "金额单位：元",
        right_span=3,
    )
    sheet.caption(
        f"本月有所得的 {len(found.lines)} 人"
        + ("" if found.whole else "　（身份证件号码已遮盖：完整报表由出纳导出报送）")
    )
    sheet.header(WITHHOLDING_HEADER)
    for n, x in enumerate(found.lines, start=1):
        sheet.row(
            (
                n,
                x.name,
                ID_KIND,
                x.id_number,
                INCOME_ITEM,
                x.income,
                x.deduction,
                x.taxable,
                f"{x.rate}%",
                x.quick_deduction,
                x.due,
                x.withheld,
                x.difference,
            )
        )
    lines = found.lines
    sheet.row(
        (
            "合计",
            None,
            None,
            None,
            f"{len(lines)}人",
            found.income,
            sum(x.deduction for x in lines),
            sum(x.taxable for x in lines),
            None,
            None,
            found.due,
            found.withheld,
            sum(x.difference for x in lines),
        ),
        bold=True,
        span=4,
    )
    sheet.blank()
    sheet.note(tie_line(found), bold=not found.ties)
    sheet.signatures(WITHHOLDING_SIGN_OFF)
    sheet.note(generated_line(found.exporter))
    workbook.save(path)
    return found


def tie_line(found: Declaration) -> str:
    """Whether the declaration agrees with 应交税费—代扣个人所得税, in words."""
    ledger_side = (
        f"应交税费—代扣个人所得税本月贷方 {format_plain(found.credited)} 元"
        + (f"，重算退回 {format_plain(found.given_back)} 元" if found.given_back else "")
        + f"，净额 {format_plain(found.in_ledger)} 元"
    )
    if found.ties:
        return f"核对：{ledger_side}，与已扣缴税额合计一致。"
    return (
        f"核对不符：{ledger_side}，已扣缴税额合计 {format_plain(found.withheld)} 元，"
        f"差额 {format_plain(found.withheld - found.in_ledger)} 元。"
    )
