"""The batch's files: the bank bulk-payment workbook (批量代发) and the payout roster
(劳务补贴发放表), written with openpyxl in write-only mode so memory stays flat.

Amounts are numeric cells in 元 with the ``#,##0.00`` format, never text. Excel
keeps numbers as binary floating point, so each cell gets ``fen / 100`` at the
last moment; every total is summed in integer fen first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

from ledger.money import Fen, to_uppercase
from ledger.policy import GRADE_LABELS
from ledger.registry import ROLE_LABELS

AMOUNT_FORMAT: Final = "#,##0.00"
BANK_HEADERS: Final = ("收款账号开户行", "收款账号", "收款账号名称", "金额", "汇款用途", "备注")
ROSTER_HEADERS: Final = (
    "序号",
    "工作室",
    "姓名",
    "身份证号",
    "角色",
    "月数",
    "等次",
    "应发金额",
    "代扣税款",
    "实发金额",
    "实发金额大写",
    "领款人签字",
)
_THIN: Final = Side(style="thin")
_BOX: Final = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """One payee line as the files show it (ID and account already masked if they must be)."""

    number: int
    studio: str
    name: str
    id_number: str
    role: str
    months: int
    grade: str
    gross: Fen
    tax: Fen
    net: Fen
    bank_name: str
    bank_account: str
    remark: str


def yuan_value(fen: Fen) -> float:
    """The numeric cell value for ``fen``: the only place amounts become floats."""
    return fen / 100


def _cell(
    ws: Worksheet, value: Any, *, amount: bool = False, bold: bool = False, boxed: bool = True
) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=yuan_value(value) if amount else value)
    if amount:
        cell.number_format = AMOUNT_FORMAT
    if bold:
        cell.font = Font(bold=True)
    if boxed:
        cell.border = _BOX
    return cell


def write_bank_file(path: Path, rows: Iterable[PayoutRow], purpose: str) -> Fen:
    """批量代发: one row per payment; returns the total paid, fen."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("批量代发")
    for letter, width in zip("ABCDEF", (26, 24, 12, 14, 28, 24), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, bold=True) for h in BANK_HEADERS])
    total = 0
    for row in rows:
        ws.append(
            [
                _cell(ws, row.bank_name),
                _cell(ws, row.bank_account),
                _cell(ws, row.name),
                _cell(ws, row.net, amount=True),
                _cell(ws, purpose),
                _cell(ws, row.remark),
            ]
        )
        total += row.net
    workbook.save(path)
    return total


def write_roster(
    path: Path, rows: Sequence[PayoutRow], *, title: str, subtitle: str, generated: str
) -> tuple[Fen, Fen, Fen]:
    """劳务补贴发放表 with a 合计 row and signature lines; returns (gross, tax, net) totals."""
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("发放表")
    widths = (6, 12, 10, 22, 8, 6, 8, 14, 12, 14, 26, 14)
    for index, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "A4"
    ws.print_title_rows = "1:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    heading = WriteOnlyCell(ws, value=title)
    heading.font = Font(bold=True, size=16)
    heading.alignment = Alignment(horizontal="left")
    ws.append([heading])
    ws.append([WriteOnlyCell(ws, value=subtitle)])
    ws.append([_cell(ws, h, bold=True) for h in ROSTER_HEADERS])
    gross = tax = net = 0
    for row in rows:
        ws.append(
            [
                _cell(ws, row.number),
                _cell(ws, row.studio),
                _cell(ws, row.name),
                _cell(ws, row.id_number),
                _cell(ws, ROLE_LABELS.get(row.role, row.role)),
                _cell(ws, row.months),
                _cell(ws, GRADE_LABELS.get(row.grade, row.grade)),
                _cell(ws, row.gross, amount=True),
                _cell(ws, row.tax, amount=True),
                _cell(ws, row.net, amount=True),
                _cell(ws, to_uppercase(row.net)),
                _cell(ws, ""),
            ]
        )
        gross, tax, net = gross + row.gross, tax + row.tax, net + row.net
    ws.append(
        [
            _cell(ws, "合计", bold=True),
            *(_cell(ws, None) for _ in range(6)),
            _cell(ws, gross, amount=True, bold=True),
            _cell(ws, tax, amount=True, bold=True),
            _cell(ws, net, amount=True, bold=True),
            _cell(ws, to_uppercase(net), bold=True),
            _cell(ws, None),
        ]
    )
    ws.append([])
    ws.append(
        ["经办人：", None, None, "审核人：", None, None, None, "负责人：", None, None, "日期："]
    )
    ws.append([generated])
    workbook.save(path)
    return gross, tax, net
