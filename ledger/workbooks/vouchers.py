"""记账凭证 printed as offices print them (SPEC §3, issue 32): A5 landscape, one voucher
page to a sheet of paper, the form's six lines ruled whether used or not.

Each page: 记账凭证, then 核算单位, 日期 and 凭证号; the lines (摘要, 科目编码, 科目名称,
辅助核算, 借方金额, 贷方金额), a continued page's first being 承前页 with the totals
brought from the pages before; then 过次页 with the totals so far, or on the last page 合计
in figures with the amount in 大写; 附单据 N 张 (and 本凭证第 n 页，共 m 页 when a voucher
runs over a page); and the names of 制单, 审核, 记账 and 出纳 the ledger knows. No
internal account address is printed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final

from ledger.books.statements import ORGANIZATION
from ledger.books.vouchers import LINES_PER_PAGE, VoucherPage, VoucherView, voucher_pages
from ledger.money import to_uppercase
from ledger.workbooks.sheets import Column, Layout, PrintedSheet, new_workbook

VOUCHER_LAYOUT: Final = Layout(
    columns=(
        Column(30, wrap=True),  # 摘要
        Column(9, "centre"),  # 科目编码
        Column(17, wrap=True),  # 科目名称
        Column(30, wrap=True),  # 辅助核算
        Column(13, "amount"),  # 借方金额
        Column(13, "amount"),  # 贷方金额
    ),
    title_rows=0,
    paper="A5",
    row_height=30,  # two lines of a wrapped 摘要 or 辅助核算
)
HEADINGS: Final = ("摘要", "科目编码", "科目名称", "辅助核算", "借方金额", "贷方金额")


def export_vouchers(views: Iterable[VoucherView], path: Path) -> int:
    """Write every voucher of ``views`` to ``path``, each page on its own sheet of paper;
    the number of vouchers written."""
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "记账凭证", VOUCHER_LAYOUT)
    written = 0
    for view in views:
        for page in voucher_pages(view):
            _page(sheet, view, page)
            sheet.page_break()
        written += 1
    if not written:
        sheet.title("记账凭证")
        sheet.note("所选范围内没有凭证")
    workbook.save(path)
    return written


def _page(sheet: PrintedSheet, view: VoucherView, page: VoucherPage) -> None:
    sheet.title("记 账 凭 证")
    sheet.caption(
        f"核算单位：{ORGANIZATION}",
        f"日期：{view.on:%Y年%m月%d日}　凭证号：{view.number}",
        right_span=3,
    )
    sheet.header(HEADINGS)
    ruled = LINES_PER_PAGE
    if not page.first:
        sheet.row(["承前页", None, None, None, page.brought_debit, page.brought_credit], span=4)
        ruled -= 1
    for line in page.lines:
        sheet.row(
            [
                line.memo,
                line.code,
                line.title,
                line.item,
                line.debit or None,
                line.credit or None,
            ]
        )
    for _ in range(len(page.lines), ruled):
        sheet.row([None] * sheet.width)
    label = f"合计：人民币{to_uppercase(view.total)}" if page.last else "过次页"
    sheet.row([label, None, None, None, page.debit, page.credit], bold=True, span=4)
    reverses = f"　　冲销 {view.reverses}" if view.reverses else ""
    place = f"　　本凭证第{page.page}页，共{page.pages}页" if page.pages > 1 else ""
    sheet.note(f"附单据 {view.attachments} 张{reverses}{place}")
    who = view.signers
    sheet.signatures(
        [
            (1, f"制单：{who.maker}"),
            (2, f"审核：{'、'.join(who.checkers)}"),
            (4, f"记账：{who.bookkeeper}"),
            (5, f"出纳：{who.cashier}"),
        ],
        height=22,
    )
