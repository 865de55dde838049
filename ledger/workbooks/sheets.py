"""How every workbook the product writes looks on screen and on paper (SPEC §6).

The 发放表, the bank file, the 明细账, the 汇总表, the 科目余额表 and the import
templates are all printed by someone, so their page setup lives here and only
here: A4, landscape where the sheet is wide, scaled to one page wide (as many
pages tall as it takes), the header rows repeated on every page, a centred
title merged across the sheet, ruled lines, a footer 第 N 页 共 M 页, and one
font for every cell, bold included.

A sheet is streamed (openpyxl write-only mode): rows go to disk as they are
appended, so memory stays flat however long the sheet is. Everything openpyxl
writes at the top of a sheet (column widths, frozen panes, fit-to-page) is
therefore set when the sheet is opened, before its first row.

Invariants:
- Amounts arrive as integer fen and become a numeric cell in 元 (``fen / 100``)
  only here (:func:`yuan_value`); they are never text.
- Text that came from a person becomes a string cell through :func:`text_value`,
  the one place every writer passes user text through.
- Times are written in 北京时间 with the zone named (:func:`stamp`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from ledger.books.postings import as_naive_utc, utc_now
from ledger.clock import local_time
from ledger.money import Fen

FONT_NAME: Final = "宋体"
"""Every cell's font: 宋体 (SimSun), the face Chinese offices print forms in; Excel and
WPS on Windows have it. Elsewhere the renderer substitutes: ``docs/fonts`` maps it
to Noto Serif CJK SC (regular and bold) for LibreOffice on Linux."""

BODY_SIZE: Final = 10.5  # 五号
TITLE_SIZE: Final = 16  # 三号
AMOUNT_FORMAT: Final = "#,##0.00"
PLAIN_AMOUNT_FORMAT: Final = "0.00"
"""Two decimals without separators, as bank upload templates read amounts."""

FOOTER: Final = "第 &P 页 共 &N 页"

_BODY: Final = Font(name=FONT_NAME, size=BODY_SIZE)
_BOLD: Final = Font(name=FONT_NAME, size=BODY_SIZE, bold=True)
_TITLE: Final = Font(name=FONT_NAME, size=TITLE_SIZE, bold=True)
_THIN: Final = Side(style="thin")
_RULED: Final = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_ALIGN: Final = {
    (horizontal, wrap): Alignment(
        horizontal=horizontal,
        vertical="center",
        wrap_text=wrap,
        indent=0 if horizontal == "center" else 1,  # clear of the ruled line
    )
    for horizontal in ("left", "center", "right")
    for wrap in (False, True)
}

FLUSH_LEFT: Final = Alignment(horizontal="left", vertical="center")
_FLUSH_RIGHT: Final = Alignment(horizontal="right", vertical="center")
_SIGN_HERE: Final = Alignment(horizontal="left", vertical="bottom")

Kind = Literal["text", "centre", "number", "amount"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a printed sheet.

    Attributes:
      width: in characters of the default font (a CJK character is about two).
      kind: ``text`` (left), ``centre`` (short codes and labels, centred),
        ``number`` (counts, centred) or ``amount`` (fen in, 元 out, right-aligned;
        its header is right-aligned too, over the numbers beneath it).
      wrap: long text wraps inside the cell instead of running into the next.
      number_format: of an amount column.
    """

    width: float
    kind: Kind = "text"
    wrap: bool = False
    number_format: str = AMOUNT_FORMAT

    @property
    def align(self) -> str:
        return {"text": "left", "amount": "right"}.get(self.kind, "center")


@dataclass(frozen=True, slots=True)
class Layout:
    """How a sheet prints.

    Attributes:
      columns: left to right.
      title_rows: how many rows at the top (title, captions, headers) repeat on every
        printed page and stay frozen on screen.
      landscape: for a sheet wider than a portrait page.
      ruled: thin lines round every header and body cell.
      row_height: of body rows, in points (room to sign), or the font's own.
      paper: ``A4``, or ``A5`` (a 记账凭证).
    """

    columns: tuple[Column, ...]
    title_rows: int
    landscape: bool = True
    ruled: bool = True
    row_height: float | None = None
    paper: Literal["A4", "A5"] = "A4"


def yuan_value(fen: Fen) -> float:
    """The numeric cell value for ``fen``: the only place amounts become floats."""
    return fen / 100


FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula (OWASP, CSV and
formula injection)."""


def text_value(value: str) -> str:
    """Text as a cell holds it: a string, never a formula. Text that a spreadsheet would
    read as a formula gets a leading apostrophe, as OWASP recommends: a name typed as
    ``=HYPERLINK("http://…")`` prints as ``'=HYPERLINK("http://…")`` and does nothing."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def font(*, bold: bool = False, size: float = BODY_SIZE, grey: bool = False) -> Font:
    """The one font, for a cell written outside :class:`PrintedSheet` (import templates)."""
    return Font(name=FONT_NAME, size=size, bold=bold, color="808080" if grey else None)


def fit_width(value: object) -> float:
    """A column width that shows ``value`` whole: CJK characters count two, plus margin."""
    if value is None:
        return 0
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text) + 2


def stamp(exporter: str, role: str, now: datetime | None = None) -> str:
    """The generated-at line: 生成时间 2025-01-10 09:30（北京时间），导出人 审计员（审计）.

    ``now`` is aware, or naive UTC as the database records times."""
    local = local_time(utc_now() if now is None else as_naive_utc(now))
    return f"生成时间 {local:%Y-%m-%d %H:%M}（北京时间），导出人 {exporter}（{role}）"


def new_workbook() -> Workbook:
    """A streamed workbook; open its sheets with :class:`PrintedSheet`."""
    return Workbook(write_only=True)


class PrintedSheet:
    """A streamed worksheet laid out to print: A4, one page wide, titled and ruled.

    Rows are appended top to bottom; the sheet counts them so that a title or a
    total can be merged across columns."""

    def __init__(self, workbook: Workbook, title: str, layout: Layout) -> None:
        self.ws: Worksheet = workbook.create_sheet(title[:31])
        self.layout = layout
        self.rows = 0
        self._styles: dict[tuple[Column, bool, bool, str], Any] = {}
        set_up_page(self.ws, layout)

    @property
    def width(self) -> int:
        return len(self.layout.columns)

    def cell(
        self,
        value: Any,
        column: Column,
        *,
        bold: bool = False,
        ruled: bool | None = None,
        align: str | None = None,
    ) -> WriteOnlyCell:
        """One cell as ``column`` shows it: fen (an int) as 元 in an amount column, text as
        text (a heading over an amount column stays text)."""
        if column.kind == "amount" and isinstance(value, int):
            value = yuan_value(value)
        elif isinstance(value, str):
            value = text_value(value)
        cell = WriteOnlyCell(self.ws, value=value)
        key = (column, bold, self.layout.ruled if ruled is None else ruled, align or column.align)
        style = self._styles.get(key)
        if style is None:
            # the first cell of each look is styled through openpyxl's public setters ...
            cell.font = _BOLD if bold else _BODY
            cell.alignment = _ALIGN[(key[3], column.wrap)]
            if key[2]:
                cell.border = _RULED
            if column.kind == "amount":
                cell.number_format = column.number_format
            self._styles[key] = copy(cell._style)
        else:
            # ... and the rest copy its style ids: hashing a Font, an Alignment and a
            # Border for every cell was two thirds of a long export's time
            cell._style = copy(style)
        return cell

    def append(self, cells: Sequence[WriteOnlyCell | None], *, height: float | None = None) -> int:
        """Append a row of cells; returns its row number."""
        self.rows += 1
        if height is not None:
            self.ws.row_dimensions[self.rows].height = height
        self.ws.append(list(cells))
        if height is not None:
            del self.ws.row_dimensions[self.rows]  # written; keep memory flat
        return self.rows

    def row(
        self,
        values: Sequence[Any],
        *,
        bold: bool = False,
        span: int = 1,
        height: float | None = None,
    ) -> int:
        """A body row, one value per column (fen in amount columns); ``span`` merges the
        first cells (a 合计 label over several columns)."""
        cells = [
            self.cell(value, column, bold=bold, align="center" if span > 1 and i == 0 else None)
            for i, (value, column) in enumerate(zip(values, self.layout.columns, strict=True))
        ]
        number = self.append(cells, height=height or self.layout.row_height)
        if span > 1:
            self.merge(1, span)
        return number

    def merge(self, first: int, last: int, *, rows: int = 1) -> None:
        """Merge columns ``first``..``last`` (1-based) of the last row (and ``rows`` - 1
        rows above it)."""
        top = self.rows - rows + 1
        self.ws.merged_cells.add(
            f"{get_column_letter(first)}{top}:{get_column_letter(last)}{self.rows}"
        )

    def title(self, text: str) -> None:
        """The sheet's title, bold and centred across every column."""
        cell = WriteOnlyCell(self.ws, value=text_value(text))
        cell.font = _TITLE
        cell.alignment = _ALIGN[("center", False)]
        self.append([cell], height=TITLE_SIZE * 2)
        self.merge(1, self.width)

    def caption(self, left: str, right: str = "", *, right_span: int = 2) -> None:
        """A line under the title: ``left`` across the sheet, ``right`` flush right over
        the last ``right_span`` columns (金额单位：元, 期间)."""
        split = self.width - right_span if right else self.width
        first = WriteOnlyCell(self.ws, value=text_value(left))
        first.font = _BODY
        first.alignment = FLUSH_LEFT
        cells: list[WriteOnlyCell | None] = [first, *[None] * (split - 1)]
        if right:
            last = WriteOnlyCell(self.ws, value=text_value(right))
            last.font = _BODY
            last.alignment = _FLUSH_RIGHT
            cells.append(last)
        self.append(cells)
        self.merge(1, split)
        if right and right_span > 1:
            self.merge(split + 1, self.width)

    def header(self, labels: Sequence[str | None]) -> int:
        """A row of column headings, bold, each aligned as its column's values are."""
        return self.append(
            [
                self.cell(label, column, bold=True, ruled=True, align=_header_align(column))
                for label, column in zip(labels, self.layout.columns, strict=True)
            ]
        )

    def note(self, text: str, *, bold: bool = False) -> None:
        """A line of text under the table, across the sheet, unruled."""
        cell = WriteOnlyCell(self.ws, value=text_value(text))
        cell.font = _BOLD if bold else _BODY
        cell.alignment = FLUSH_LEFT
        self.append([cell])
        self.merge(1, self.width)

    def blank(self) -> None:
        self.append([])

    def page_break(self) -> None:
        """End the printed page after the last row: what follows starts a new page, under
        the repeated title rows (a page's 本页小计 or 过次页 is its last line)."""
        self.ws.row_breaks.append(Break(id=self.rows))

    def signatures(self, labels: Iterable[tuple[int, str]], *, height: float = 36) -> None:
        """A line of places to sign (经办人：, 审核人：, ...), each label at its column."""
        cells: list[WriteOnlyCell | None] = [None] * self.width
        for column, label in labels:
            cell = WriteOnlyCell(self.ws, value=text_value(label))
            cell.font = _BODY
            cell.alignment = _SIGN_HERE
            cells[column - 1] = cell
        self.append(cells, height=height)


def _header_align(column: Column) -> str:
    return "right" if column.kind == "amount" else "center"


def set_up_page(ws: Worksheet, layout: Layout) -> None:
    """A4 (or A5), orientation, one page wide, margins, footer, print titles, frozen headers
    and column widths: everything about a sheet that is not a cell."""
    for index, column in enumerate(layout.columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    if layout.title_rows:
        ws.freeze_panes = f"A{layout.title_rows + 1}"
        ws.print_title_rows = f"1:{layout.title_rows}"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.paperSize = (
        Worksheet.PAPERSIZE_A5 if layout.paper == "A5" else Worksheet.PAPERSIZE_A4
    )
    ws.page_setup.orientation = "landscape" if layout.landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows need
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.7, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = FOOTER
    ws.oddFooter.center.font = f"{FONT_NAME},Regular"
    ws.oddFooter.center.size = 9
