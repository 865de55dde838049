"""Excel import: templates and all-or-nothing imports of roster, grades, receipts, expenses.

A template (``studio-ledger import template KIND FILE``) has one sheet per kind
of row with Chinese headers, drop-down lists where a column takes fixed
values, text format for ID numbers and accounts (so Excel does not turn them
into numbers), and a 说明 sheet with example rows.

An import reads every row first. Every problem is reported with its sheet,
row, column and reason (:class:`ImportRefused`), and then nothing is written;
only a file without problems reaches the services, in one unit of work that
the caller commits. The rows read are kept on disk (:class:`Spool`), so a roster
of a province is checked and written :data:`ROWS_AT_A_TIME` rows at a time.
Importing the same file twice changes nothing: the roster and grades are saved by
natural key, receipts and expenses carry content keys.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from ledger import program
from ledger.books.postings import MAX_MEMO_LENGTH
from ledger.clock import FIRST_YEAR, LAST_YEAR
from ledger.errors import (
    InvalidInputError,
    LedgerError,
    ValidationError,
    digits,
    text_errors,
)
from ledger.funds import expenses, fund_services
from ledger.funds.expenses import EXPENSE_CATEGORIES, RECEIPT_KINDS, SOURCE_LABELS, Expense, Receipt
from ledger.money import parse_amount
from ledger.registry import roster, roster_services
from ledger.registry.policy import GRADE_LABELS, STUDIO_KINDS
from ledger.registry.roster import (
    CANCELLATION_CAUSES,
    MAX_BANK_ACCOUNT,
    MAX_BANK_NAME,
    MAX_NAME,
    MAX_PHONE,
    MAX_REASON,
    MAX_ROUND,
    MAX_UNIT,
    ROLE_LABELS,
    STATUS_LABELS,
    MembershipInput,
    PersonInput,
    Studio,
    check_studio_code,
    membership_errors,
    normalize_id_number,
)
from ledger.users import acting
from ledger.workbooks.sheets import FLUSH_LEFT, Layout, fit_width, font, set_up_page
from ledger.workbooks.sheets import Column as PrintColumn

MEMBER_HEADERS: Final = {
    "studio": "工作室编号",
    "id_number": "身份证号",
    "role": "角色",
    "joined_on": "加入日期",
    "left_on": "退出日期",
}
"""The 成员 sheet's column for each field of a membership the domain checks."""

TEMPLATE_ROWS: Final = 500
"""Rows of each data sheet that carry the drop-down lists."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of an import sheet: its header, how a cell is read, and its choices."""

    header: str
    kind: str  # text, code, id, date, year, round, amount, choice
    required: bool = True
    choices: Mapping[str, str] = field(default_factory=dict)  # code → label
    width: int = 14
    max_length: int | None = None  # text: the longest accepted, in characters


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    columns: tuple[Column, ...]
    example: tuple[tuple[Any, ...], ...]
    required: bool = True


def _choice(header: str, labels: Mapping[str, str], *, required: bool = True) -> Column:
    return Column(header, "choice", required, labels, width=max(10, 2 * len(header) + 4))


STUDIO_SHEET: Final = Sheet(
    "工作室",
    (
        Column("工作室编号", "code"),
        Column("工作室名称", "text", width=24, max_length=MAX_UNIT),
        _choice("类型", STUDIO_KINDS),
        Column("挂牌单位", "text", width=20, max_length=MAX_UNIT),
        Column("周期开始年度", "year"),
        _choice("状态", STATUS_LABELS),
        Column("撤销日期", "date", required=False),
        _choice("撤销原因", CANCELLATION_CAUSES, required=False),
        Column("撤销说明", "text", required=False, width=20, max_length=MAX_REASON),
        Column("轮次", "round", required=False, width=8),
    ),
    (
        (
            "HJ-S01",
            "王芳语文名师工作室",
            "名教师工作室",
            "杭锦旗第一中学",
            2024,
            "正常",
            None,
            None,
            None,
            1,
        ),
    ),
)

MEMBER_SHEET: Final = Sheet(
    "成员",
    (
        Column("工作室编号", "code"),
        Column("姓名", "text", max_length=MAX_NAME),
        Column("身份证号", "id", width=22),
        _choice("角色", ROLE_LABELS),
        Column("所在单位", "text", width=20, max_length=MAX_UNIT),
        Column("加入日期", "date"),
        Column("退出日期", "date", required=False),
        Column("开户银行", "text", required=False, width=18, max_length=MAX_BANK_NAME),
        Column("银行账号", "text", required=False, width=24, max_length=MAX_BANK_ACCOUNT),
        Column("手机号", "text", required=False, max_length=MAX_PHONE),
    ),
    (
        (
            "HJ-S01",
            "王芳",
            "11010519491231002X",
            "主持人",
            "杭锦旗第一中学",
            "2024-01-01",
            None,
            "中国农业银行杭锦旗支行",
            "6228480012345678901",
            "13800000000",
        ),
    ),
)

GRADE_SHEET: Final = Sheet(
    "考核结果",
    (
        Column("年度", "year"),
        Column("工作室编号", "code"),
        Column("身份证号", "id", required=False, width=22),
        _choice("等次", GRADE_LABELS),
    ),
    ((2024, "HJ-S01", None, "优秀"), (2024, "HJ-S01", "11010519491231002X", "合格")),
)

RECEIPT_SHEET: Final = Sheet(
    "配套资金",
    (
        Column("日期", "date"),
        Column("工作室编号", "code"),
        Column("金额", "amount"),
        Column("摘要", "text", width=30, max_length=MAX_MEMO_LENGTH),
        _choice("类型", RECEIPT_KINDS, required=False),
        Column("出资单位", "text", required=False, width=20, max_length=MAX_UNIT),
    ),
    (
        ("2024-03-01", "HJ-S01", "2,000.00", "杭锦旗第一中学2024年配套经费", "挂牌单位配套", None),
        (
            "2024-04-01",
            "HJ-S01",
            "1,000.00",
            "锡尼镇第一小学支持经费",
            "成员单位支持",
            "锡尼镇第一小学",
        ),
    ),
)

EXPENSE_SHEET: Final = Sheet(
    "支出",
    (
        Column("日期", "date"),
        Column("工作室编号", "code"),
        _choice("资金来源", SOURCE_LABELS),
        _choice("类别", EXPENSE_CATEGORIES),
        Column("金额", "amount"),
        Column("摘要", "text", width=30, max_length=MAX_MEMO_LENGTH),
        Column("报销人", "text", required=False, max_length=MAX_NAME),
        Column("报销人身份证号", "id", required=False, width=22),
    ),
    (
        ("2024-05-10", "HJ-S01", "单位配套", "资料费", "800.00", "购买教研资料", None, None),
        (
            "2024-06-12",
            "HJ-S01",
            "教育基金",
            "差旅费",
            "1,200.00",
            "特聘导师来旗指导往返交通",
            "赵敏",
            "11010519491231002X",
        ),
    ),
)

PLAN_SHEET: Final = Sheet(
    "支出计划",
    (
        Column("年度", "year"),
        Column("工作室编号", "code"),
        _choice("类别", EXPENSE_CATEGORIES),
        Column("计划金额", "amount"),
    ),
    ((2024, "HJ-S01", "资料费", "1,500.00"),),
    required=False,
)

KINDS: Final[dict[str, tuple[Sheet, ...]]] = {
    "roster": (STUDIO_SHEET, MEMBER_SHEET),
    "grades": (GRADE_SHEET,),
    "receipts": (RECEIPT_SHEET,),
    "expenses": (EXPENSE_SHEET, PLAN_SHEET),
}


TITLES: Final = {
    "roster": "名册（工作室与成员）",
    "grades": "考核结果",
    "receipts": "配套与支持资金到账",
    "expenses": "活动支出与支出计划",
}
"""Each kind of workbook as its people call it."""
ACTIONS: Final = {
    "roster": "roster.save",
    "grades": "grades.save",
    "receipts": "receipt.record",
    "expenses": "expense.record",
}
"""The permission each kind's import needs (:mod:`ledger.permissions`): what its
service checks, so a screen offers a workbook only to who may import it."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a file was refused, where it is."""

    sheet: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.sheet
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column is not None:
            where += f" {self.column}"
        return f"{where}: {self.reason}"


class ImportRefused(LedgerError):  # noqa: N818 (a refusal, named as the domain says it)
    """The file has problems; ``problems`` lists every one. Nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"共{len(problems)}个问题：" + "；".join(map(str, problems[:5])))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Row:
    """A sheet row read; ``complete`` is false when a cell of it could not be read."""

    sheet: str
    number: int
    values: dict[str, Any]
    complete: bool = True


# -- templates ------------------------------------------------------------------


def write_template(kind: str, path: Path) -> None:
    """An empty import workbook for ``kind``: a data sheet per kind of row, with
    headers, drop-down lists and text formats, then a 说明 sheet with examples."""
    sheets = _sheets(kind)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _data_sheet(workbook.create_sheet(sheet.title), sheet)
    _notes_sheet(workbook.create_sheet("说明"), sheets)
    workbook.save(path)


def _data_sheet(ws: Any, sheet: Sheet) -> None:
    widths = [
        max(column.width, *(fit_width(example[i]) for example in sheet.example))
        for i, column in enumerate(sheet.columns)
    ]
    set_up_page(ws, Layout(tuple(PrintColumn(w) for w in widths), title_rows=1, ruled=False))
    for index, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(index)
        header = ws.cell(row=1, column=index, value=column.header)
        header.font = font(bold=True, grey=not column.required)
        for row in range(2, TEMPLATE_ROWS + 2):
            cell = ws.cell(row=row, column=index)
            cell.font = font()
            if column.kind in ("id", "text", "code"):
                cell.number_format = "@"
            elif column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
        cells = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        if column.kind == "choice":
            labels = ",".join(column.choices.values())
            _validate(
                ws,
                cells,
                column,
                f"请从下拉列表选择：{labels}",
                type="list",
                formula1=f'"{labels}"',
            )
        elif column.max_length is not None:
            _validate(
                ws,
                cells,
                column,
                f"最多{column.max_length}个字符",
                type="textLength",
                operator="lessThanOrEqual",
                formula1=str(column.max_length),
            )


NOTES: Final = (
    "在各数据表第2行起逐行填写；下面是示例，示例不会被导入。",
    "金额以元为单位，最多两位小数；日期写作 2024-01-01；身份证号和银行账号按文本填写。",
    "带下拉箭头的列请从列表中选择；灰色表头的列可以不填。",
)


def _notes_sheet(ws: Any, sheets: Sequence[Sheet]) -> None:
    """填写说明 and, for each data sheet, its headers and example rows."""
    lines: list[tuple[list[Any], bool]] = [(["填写说明"], True)]
    lines += [([note], False) for note in NOTES]
    for sheet in sheets:
        optional = "" if sheet.required else "（可选工作表）"
        lines += [([], False), ([f"示例：{sheet.title}{optional}"], True)]
        lines.append(([c.header for c in sheet.columns], True))
        lines += [(list(example), False) for example in sheet.example]
    columns = max(len(sheet.columns) for sheet in sheets)
    widths = [
        max(
            [10]
            + [fit_width(values[i]) for values, _ in lines[len(NOTES) + 1 :] if i < len(values)]
        )
        for i in range(columns)
    ]
    set_up_page(ws, Layout(tuple(PrintColumn(w) for w in widths), title_rows=0, ruled=False))
    for values, bold in lines:
        ws.append(values)
        for cell in ws[ws.max_row]:
            cell.font = font(bold=bold)
            cell.alignment = FLUSH_LEFT
    ws["A1"].font = font(bold=True, size=14)


def _validate(ws: Any, cells: str, column: Column, error: str, **rule: str) -> None:
    """An Excel data validation on ``cells`` that refuses a bad entry with ``error``."""
    validation = DataValidation(
        allow_blank=True, showErrorMessage=True, errorTitle=column.header, error=error, **rule
    )
    ws.add_data_validation(validation)
    validation.add(cells)


def fill_template(kind: str, path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]]) -> Path:
    """A template for ``kind`` with each sheet's rows written from row 2, as a person would."""
    write_template(kind, path)
    workbook = load_workbook(path)
    for title, rows in sheets.items():
        ws = workbook[title]
        for r, values in enumerate(rows, start=2):
            for c, value in enumerate(values, start=1):
                ws.cell(row=r, column=c, value=value)
    workbook.save(path)
    return path


def _sheets(kind: str) -> tuple[Sheet, ...]:
    if kind not in KINDS:
        listed = "、".join(f"{code}（{TITLES[code]}）" for code in KINDS)
        raise ValidationError("kind", f"应为 {listed} 之一：{kind!r}")
    return KINDS[kind]


# -- reading --------------------------------------------------------------------

MAX_IMPORT_BYTES: Final = 64 * 1024 * 1024
"""The largest import file: 64 MiB (a national roster of 900,000 people is about 50)."""
MAX_UNPACKED_BYTES: Final = 1024 * 1024 * 1024
"""The most an import's parts may unpack to together: 1 GiB. An xlsx is a zip; a small
file claiming far more (a zip bomb) is refused from its directory, before any of it
is unpacked. Python's zipfile never inflates a part beyond the size it declares."""
MAX_IMPORT_ROWS: Final = 1_000_000
"""Rows read from one sheet, at most (Excel's own limit is 1,048,576)."""
MAX_PROBLEMS: Final = 1_000
"""Problems listed before reading stops: the file is refused either way."""


def size_problems(path: Path) -> list[Problem]:
    """Why ``path`` is too big to read, from its size and its zip directory alone (quick,
    bounded memory); empty when it is not."""
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        return [
            Problem(
                path.name,
                None,
                None,
                f"文件{size / 2**20:,.1f} MiB，超过{MAX_IMPORT_BYTES // 2**20} MiB上限",
            )
        ]
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (OSError, zipfile.BadZipFile):
        return []  # not a zip at all: opening it says so
    if unpacked > MAX_UNPACKED_BYTES:
        return [
            Problem(
                path.name,
                None,
                None,
                f"解压后{unpacked / 2**20:,.0f} MiB，超过{MAX_UNPACKED_BYTES // 2**20} MiB上限",
            )
        ]
    return []


RowsRead = Callable[[int, int], None]
"""Told as an import reads: rows read so far, and rows in the file's sheets (as their
dimensions say; 0 when the file does not say)."""

PROGRESS_EVERY: Final = 1_000


ROWS_AT_A_TIME: Final = 5_000
"""Rows of a file an import's passes hold at once."""


class Spool:
    """The rows of a file, read from the workbook once and kept on disk (an unnamed
    temporary file, gone when closed) for the passes after it, a chunk at a time: an
    import holds a chunk of its file, never the whole of it."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed on leaving the spool)
        self._chunks: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}
        """Rows kept of each sheet."""

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()

    def keep(self, sheet: str, rows: Iterator[Row]) -> None:
        """Write ``rows`` of ``sheet`` away, a chunk at a time."""
        offsets = self._chunks.setdefault(sheet, [])
        self.counts.setdefault(sheet, 0)
        self._file.seek(0, os.SEEK_END)
        while chunk := list(islice(rows, ROWS_AT_A_TIME)):
            offsets.append(self._file.tell())
            pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.counts[sheet] += len(chunk)

    def chunks(self, sheet: str) -> Iterator[list[Row]]:
        """The rows of ``sheet`` in file order, :data:`ROWS_AT_A_TIME` at a time."""
        for offset in self._chunks.get(sheet, []):
            self._file.seek(offset)
            yield pickle.load(self._file)  # noqa: S301 (rows this import wrote itself)

    def rows(self, sheet: str) -> Iterator[Row]:
        for chunk in self.chunks(sheet):
            yield from chunk


def read_rows(
    kind: str, path: Path, spool: Spool, on_rows: RowsRead | None = None
) -> list[Problem]:
    """Keep every non-empty row of each sheet in ``spool``; every cell that could not be
    read comes back as a problem.

    The workbook is streamed (openpyxl's read-only mode): rows are read one at a time
    and only the cleaned values are kept, on disk. A file over the size limits
    (:func:`size_problems`) is refused before it is opened; a file that cannot be
    opened at all, or lacks a sheet or a column, is refused at once
    (:class:`ImportRefused`): its rows cannot be read.
    """
    sheets = _sheets(kind)
    if too_big := size_problems(path):
        raise ImportRefused(too_big)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidFileException):
        raise ImportRefused(
            [
                Problem(
                    path.name,
                    None,
                    None,
                    "不是可读取的 xlsx 文件：文件已损坏，或不是 Excel 的 .xlsx 格式",
                )
            ]
        ) from None
    problems: list[Problem] = []
    found = {s.title: workbook[s.title] for s in sheets if s.title in workbook.sheetnames}
    total = sum(ws.max_row or 0 for ws in found.values())
    done = 0

    def told(count: int) -> None:
        if on_rows is not None:
            on_rows(done + count, total)

    try:
        for sheet in sheets:
            ws = found.get(sheet.title)
            if ws is None:
                if sheet.required:
                    problems.append(Problem(sheet.title, None, None, "缺少工作表"))
                spool.keep(sheet.title, iter(()))
                continue
            spool.keep(sheet.title, _sheet_rows(sheet, ws, problems, told))
            done += ws.max_row or 0
            told(0)
    finally:
        workbook.close()
    if any(p.row in (None, 1) for p in problems):
        raise ImportRefused(problems)
    return problems


def _sheet_rows(
    sheet: Sheet, ws: Any, problems: list[Problem], told: Callable[[int], None]
) -> Iterator[Row]:
    lines = ws.iter_rows(values_only=True)
    header = [str(v).strip() if v is not None else "" for v in next(lines, ())]
    positions = {name: i for i, name in enumerate(header) if name}
    missing = [c.header for c in sheet.columns if c.required and c.header not in positions]
    if missing:
        problems.append(Problem(sheet.title, 1, None, f"缺少列：{'、'.join(missing)}"))
        return
    kept = 0
    for number, line in enumerate(lines, start=2):
        if number % PROGRESS_EVERY == 0:
            told(number)
        if len(problems) >= MAX_PROBLEMS:
            problems.append(
                Problem(sheet.title, number, None, f"问题超过{MAX_PROBLEMS}个，已停止读取")
            )
            return
        cells = {
            c.header: line[positions[c.header]]
            if c.header in positions and positions[c.header] < len(line)
            else None
            for c in sheet.columns
        }
        if all(_blank(v) for v in cells.values()):
            continue
        if kept == MAX_IMPORT_ROWS:  # blank rows do not count; the unpacked size bounds them
            problems.append(
                Problem(sheet.title, None, None, f"超过{MAX_IMPORT_ROWS:,}行，不予读取")
            )
            return
        values: dict[str, Any] = {}
        complete = True
        for column in sheet.columns:
            letter = (
                get_column_letter(positions[column.header] + 1)
                if column.header in positions
                else "?"
            )
            where = f"{column.header}({letter}列)"
            try:
                values[column.header] = _cell(column, cells[column.header])
            except ValidationError as error:
                problems.append(Problem(sheet.title, number, where, error.message))
                values[column.header] = None
                complete = False
        kept += 1
        yield Row(sheet.title, number, values, complete)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(column: Column, value: object) -> Any:
    if _blank(value):
        if column.required:
            raise ValidationError(column.header, "必填")
        return None
    reader = _READERS[column.kind]
    return reader(column, value)


def _text(column: Column, value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if refused := text_errors(column.header, text, column.max_length or len(text)):
        raise refused[0]  # a column without a limit checks only for hidden characters
    return text


def _code(column: Column, value: object) -> str:
    return check_studio_code(_text(column, value), field=column.header)


def _id(column: Column, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(
            column.header,
            "身份证号须按文本填写：按数字填写时，Excel 会丢掉长数字的末几位",
        )
    return normalize_id_number(value, field=column.header)


def _date(column: Column, value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(column.header, f"日期无效，请写作 2024-01-01：{value!r}") from None


def _round(column: Column, value: object) -> int:
    text = _text(column, value)
    if not digits(text) or not 1 <= int(text) <= MAX_ROUND:
        raise ValidationError(column.header, f"轮次应为1至{MAX_ROUND}的整数：{value!r}")
    return int(text)


def _year(column: Column, value: object) -> int:
    text = _text(column, value)
    if not digits(text) or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        raise ValidationError(
            column.header, f"年度无效，应为{FIRST_YEAR}至{LAST_YEAR}之间的年份：{value!r}"
        )
    return int(text)


def _amount(column: Column, value: object) -> int:
    if isinstance(value, bool):
        raise ValidationError(column.header, f"不是金额：{value!r}")
    if isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = repr(value)  # the shortest text of the number: never rounds
    fen = parse_amount(str(value), field=column.header)
    if fen <= 0:
        raise ValidationError(column.header, f"金额必须大于零：{value!r}")
    return fen


def read_choice(column: Column, value: object) -> str:
    """The code a choice cell names, by its Chinese label (or the code itself)."""
    text = _text(column, value)
    for code, label in column.choices.items():
        if text in (code, label):
            return code
    raise ValidationError(column.header, f"应为 {'/'.join(column.choices.values())} 之一：{text!r}")


_READERS: Final[dict[str, Callable[[Column, object], Any]]] = {
    "text": _text,
    "code": _code,
    "id": _id,
    "date": _date,
    "year": _year,
    "round": _round,
    "amount": _amount,
    "choice": read_choice,
}


# -- importing ------------------------------------------------------------------


@dataclass(frozen=True)
class ImportReport:
    kind: str
    rows: int
    changed: int
    warnings: list[str]


def import_file(
    stores: program.Stores, kind: str, path: Path, *, by: str, on_rows: RowsRead | None = None
) -> ImportReport:
    """Read ``path`` and save it through the services as ``by``; all or nothing.
    ``on_rows`` is told how the reading goes."""
    with Spool() as spool:
        problems = read_rows(kind, path, spool, on_rows)
        if kind == "roster":
            return _import_roster(stores, spool, problems, by)
        rows = {sheet.title: list(spool.rows(sheet.title)) for sheet in _sheets(kind)}
        _refuse(kind, problems + _IMPORT_CHECKS[kind](stores, rows))
        try:
            return _IMPORTERS[kind](stores, rows, by)
        except InvalidInputError as refused:
            first = _sheets(kind)[0].title
            raise ImportRefused(
                [_error_problem(first, rows[first], e) for e in refused.errors]
            ) from None


def _refuse(kind: str, problems: list[Problem]) -> None:
    """Refuse the file if it has problems, listed by sheet and row."""
    if problems:
        order = {sheet.title: i for i, sheet in enumerate(_sheets(kind))}
        raise ImportRefused(sorted(problems, key=lambda p: (order.get(p.sheet, 0), p.row or 0)))


_INDEXED: Final = re.compile(r"\w+\[(\d+)\]\.?(.*)")


FIELD_HEADERS: Final = {
    "code": "工作室编号",
    "name": "工作室名称",
    "kind": "类型",
    "host_unit": "挂牌单位",
    "cycle_start_year": "周期开始年度",
    "cancelled_on": "撤销日期",
    "cancellation_cause": "撤销原因",
    "cancellation_reason": "撤销说明",
    "round": "轮次",
    "year": "年度",
    "grade": "等次",
    "id_number": "身份证号",
}
"""The column of a sheet for each field of a record a service checks by name, so a
refusal points at the cell the clerk typed."""
PERSON_HEADERS: Final = {
    "id_number": "身份证号",
    "name": "姓名",
    "unit": "所在单位",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "phone": "手机号",
}
"""The 成员 sheet's column for each field of a person the domain checks."""


def _error_problem(
    sheet: str,
    rows: Sequence[Row],
    error: ValidationError,
    headers: Mapping[str, str] = FIELD_HEADERS,
) -> Problem:
    """A service's error about the i-th item, placed on the row and column it came from
    (``headers``: the sheet's column for each field)."""
    indexed = _INDEXED.fullmatch(error.field)
    if indexed is not None and int(indexed[1]) < len(rows):
        column = headers.get(indexed[2], indexed[2]) or None
        return Problem(sheet, rows[int(indexed[1])].number, column, error.message)
    return Problem(sheet, None, error.field, error.message)


def _fingerprint(value: object) -> bytes:
    """A value's 16-byte BLAKE2b digest: what a pass keeps of a row to compare it with
    later ones (two different values share one with odds of about 2⁻¹²⁸)."""
    return hashlib.blake2b(repr(value).encode(), digest_size=16).digest()


class _Repeats:
    """Rows the same (by a key) as an earlier row of their sheet, found across the
    chunks of a file: each key is kept as its fingerprint, with its first row."""

    def __init__(self) -> None:
        self._first: dict[bytes, int] = {}

    def problems(self, rows: Sequence[Row], key: Callable[[Row], object]) -> list[Problem]:
        """Identical rows would be posted once; a file with them is refused, never
        trimmed."""
        problems = []
        for row in rows:
            first = self._first.setdefault(_fingerprint(key(row)), row.number)
            if first != row.number:
                problems.append(Problem(row.sheet, row.number, None, f"与第{first}行完全相同"))
        return problems


def _duplicates(rows: Sequence[Row], key: Callable[[Row], object]) -> list[Problem]:
    return _Repeats().problems(rows, key)


def _complete(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.complete]


def _import_roster(
    stores: program.Stores, spool: Spool, problems: list[Problem], by: str
) -> ImportReport:
    """The roster checked whole in a first pass over the spooled rows and written in a
    second, a chunk at a time; the composition checked studio by studio once every part
    is in (:func:`roster_services.checked_composition`). A refusal at any point rolls the
    caller's unit of work back whole."""
    acting(stores, by, "roster.save")  # a file with no rows is refused as one with many
    _refuse("roster", problems + _roster_problems(stores, spool))
    roster_services.register_units(stores, _units(spool), by=by)
    changed = 0
    for chunk in spool.chunks(STUDIO_SHEET.title):
        changed += _save_part(stores, chunk, [], by)
    for chunk in spool.chunks(MEMBER_SHEET.title):
        changed += _save_part(stores, [], chunk, by)
    try:
        findings = roster_services.checked_composition(stores)
    except roster_services.CompositionRefused as refused:
        raise ImportRefused(_finding_problems(spool, refused.findings)) from None
    return ImportReport(
        "roster",
        sum(spool.counts.values()),
        changed,
        [f"{w.studio}：{w.message}" for w in findings],
    )


def _units(spool: Spool) -> set[str]:
    """The units a roster file names: its studios' host units and its people's units."""
    names = {r.values["挂牌单位"] for r in spool.rows(STUDIO_SHEET.title)}
    return names | {r.values["所在单位"] for r in spool.rows(MEMBER_SHEET.title)}


def _save_part(
    stores: program.Stores, studio_rows: list[Row], member_rows: list[Row], by: str
) -> int:
    """The records of these rows saved (each person once, from their first row); a
    service's refusal placed on the rows and columns it names."""
    firsts: dict[str, Row] = {}
    for row in member_rows:
        firsts.setdefault(row.values["身份证号"], row)
    person_rows = list(firsts.values())
    try:
        return roster_services.save_roster_part(
            stores,
            [_studio(r) for r in studio_rows],
            [_person(r) for r in person_rows],
            [_membership(r) for r in member_rows],
            by=by,
        )
    except InvalidInputError as refused:
        placed = {
            "studios": (STUDIO_SHEET.title, studio_rows, FIELD_HEADERS),
            "people": (MEMBER_SHEET.title, person_rows, PERSON_HEADERS),
            "memberships": (MEMBER_SHEET.title, member_rows, MEMBER_HEADERS),
        }
        problems = []
        for e in refused.errors:
            sheet, rows, headers = placed.get(e.field.split("[", 1)[0], placed["memberships"])
            problems.append(_error_problem(sheet, rows, e, headers))
        raise ImportRefused(problems) from None


def _studio(row: Row) -> Studio:
    v = row.values
    cancelled = v["状态"] == "cancelled"
    return Studio(
        v["工作室编号"],
        v["工作室名称"],
        v["类型"],
        v["挂牌单位"],
        v["周期开始年度"],
        v["撤销日期"] if cancelled else None,
        (v["撤销说明"] or "") if cancelled else "",
        v["轮次"] or 1,
        v["撤销原因"] if cancelled else None,
    )


def _person(row: Row) -> PersonInput:
    v = row.values
    return PersonInput(
        v["身份证号"],
        v["姓名"],
        v["所在单位"],
        v["开户银行"] or "",
        v["银行账号"] or "",
        v["手机号"] or "",
    )


def _membership(row: Row) -> MembershipInput:
    v = row.values
    return MembershipInput(v["工作室编号"], v["身份证号"], v["角色"], v["加入日期"], v["退出日期"])


def _roster_problems(stores: program.Stores, spool: Spool) -> list[Problem]:
    """What is wrong with a roster file across its rows, a chunk at a time: each
    studio's and person's record, a cancellation without its date and cause, a studio a
    roster may not bring back, a studio neither in the registry nor in the file, one
    person's details differing between rows, identical rows."""
    problems: list[Problem] = []
    today = program.today()
    in_file: set[str] = set()
    repeats = _Repeats()
    for chunk in spool.chunks(STUDIO_SHEET.title):
        in_file.update(r.values["工作室编号"] for r in chunk)
        rows = _complete(chunk)
        studios = [_studio(r) for r in rows]
        for row, studio in zip(rows, studios, strict=True):
            # a cancellation half filled in is one problem, not one per rule it breaks
            problems += _cancellation_problems(row) or [
                Problem(row.sheet, row.number, FIELD_HEADERS.get(e.field, e.field), e.message)
                for e in roster.studio_errors(studio, today=today)
            ]
        problems += repeats.problems(rows, lambda r: r.values["工作室编号"])
        problems += [
            Problem(rows[i].sheet, rows[i].number, "状态", why)
            for i, why in roster_services.reinstatements_refused(stores, studios).items()
        ]
        problems += [
            _error_problem(STUDIO_SHEET.title, rows, e)
            for e in roster_services.cycle_start_refusals(stores, studios)
        ]
    people: dict[str, bytes] = {}  # 身份证号 → the fingerprint of the details first given
    repeats = _Repeats()
    for chunk in spool.chunks(MEMBER_SHEET.title):
        rows = _complete(chunk)
        elsewhere = {r.values["工作室编号"] for r in rows} - in_file
        registered = {s.code for s in stores.registry.studios_of(elsewhere)}
        for row in rows:
            v = row.values
            if v["工作室编号"] not in in_file and v["工作室编号"] not in registered:
                problems.append(
                    Problem(
                        row.sheet,
                        row.number,
                        "工作室编号",
                        f"工作室 {v['工作室编号']} 不在名册中，也不在本文件的工作室表中",
                    )
                )
            person = _person(row)
            details = _fingerprint(person)
            if people.setdefault(person.id_number, details) != details:
                problems.append(
                    Problem(
                        row.sheet, row.number, "身份证号", "同一身份证号在文件中有不同的个人信息"
                    )
                )
            problems += [
                Problem(row.sheet, row.number, MEMBER_HEADERS[e.field], e.message)
                for e in membership_errors(_membership(row), today=today)
            ]
            problems += [
                Problem(row.sheet, row.number, PERSON_HEADERS[e.field], e.message)
                for e in roster.person_errors(person)
            ]
        problems += repeats.problems(
            rows, lambda r: (r.values["工作室编号"], r.values["身份证号"], r.values["加入日期"])
        )
    return problems


def _cancellation_problems(row: Row) -> list[Problem]:
    v = row.values
    cancelled = v["状态"] == "cancelled"
    if cancelled and (v["撤销日期"] is None or not v["撤销原因"]):
        return [
            Problem(
                row.sheet,
                row.number,
                "撤销日期",
                "撤销的工作室须填写撤销日期并选择撤销原因（"
                + "、".join(CANCELLATION_CAUSES.values())
                + "）",
            )
        ]
    if not cancelled and (v["撤销日期"] is not None or v["撤销原因"]):
        return [Problem(row.sheet, row.number, "状态", "有撤销日期或原因的工作室状态应为撤销")]
    return []


def _finding_problems(spool: Spool, findings: Sequence[Any]) -> list[Problem]:
    """Each refused composition rule placed on the rows of its studio's people."""
    numbers: dict[str, list[int]] = {f.studio: [] for f in findings}
    for row in spool.rows(MEMBER_SHEET.title):
        if row.values["工作室编号"] in numbers:
            numbers[row.values["工作室编号"]].append(row.number)
    problems = []
    for finding in findings:
        where = "、".join(map(str, numbers[finding.studio]))
        problems.append(
            Problem(
                MEMBER_SHEET.title,
                None,
                None,
                f"{finding.studio}{f'（第{where}行）' if where else ''}：{finding.message}",
            )
        )
    return problems


def _check_grades(_stores: program.Stores, rows: dict[str, list[Row]]) -> list[Problem]:
    return _duplicates(
        _complete(rows[GRADE_SHEET.title]),
        lambda r: (r.values["年度"], r.values["工作室编号"], r.values["身份证号"]),
    )


def _import_grades(stores: program.Stores, rows: dict[str, list[Row]], by: str) -> ImportReport:
    sheet = rows[GRADE_SHEET.title]
    grades = [
        roster.Grade(
            r.values["年度"], r.values["工作室编号"], r.values["身份证号"] or "", r.values["等次"]
        )
        for r in sheet
    ]
    return ImportReport(
        "grades", len(sheet), roster_services.save_grades(stores, grades, by=by).changed, []
    )


def _check_receipts(_stores: program.Stores, rows: dict[str, list[Row]]) -> list[Problem]:
    return _duplicates(_complete(rows[RECEIPT_SHEET.title]), lambda r: tuple(r.values.values()))


def _import_receipts(stores: program.Stores, rows: dict[str, list[Row]], by: str) -> ImportReport:
    sheet = rows[RECEIPT_SHEET.title]
    receipts = [
        Receipt(
            r.values["日期"],
            r.values["工作室编号"],
            r.values["金额"],
            r.values["摘要"],
            r.values["类型"] or "matching",
            r.values["出资单位"] or "",
        )
        for r in sheet
    ]
    before = _ledger_size(stores)
    fund_services.receive_matching(stores, receipts, by=by)
    return ImportReport("receipts", len(sheet), _ledger_size(stores) - before, [])


def _check_expenses(_stores: program.Stores, rows: dict[str, list[Row]]) -> list[Problem]:
    return _duplicates(
        _complete(rows[EXPENSE_SHEET.title]), lambda r: tuple(r.values.values())
    ) + _duplicates(
        _complete(rows[PLAN_SHEET.title]),
        lambda r: (r.values["年度"], r.values["工作室编号"], r.values["类别"]),
    )


def _import_expenses(stores: program.Stores, rows: dict[str, list[Row]], by: str) -> ImportReport:
    spent, plans = rows[EXPENSE_SHEET.title], rows[PLAN_SHEET.title]
    changed = fund_services.save_expense_plans(
        stores,
        [
            expenses.ExpensePlan(
                r.values["年度"], r.values["工作室编号"], r.values["类别"], r.values["计划金额"]
            )
            for r in plans
        ],
        by=by,
    ).changed
    before = _ledger_size(stores)
    fund_services.spend(
        stores,
        [
            Expense(
                r.values["日期"],
                r.values["工作室编号"],
                r.values["资金来源"],
                r.values["类别"],
                r.values["金额"],
                r.values["摘要"],
                r.values["报销人"] or "",
                r.values["报销人身份证号"] or "",
            )
            for r in spent
        ],
        by=by,
    )
    return ImportReport(
        "expenses", len(spent) + len(plans), changed + _ledger_size(stores) - before, []
    )


def _ledger_size(stores: program.Stores) -> int:
    return stores.ledger.lock_head().seq


_Check = Callable[[program.Stores, dict[str, list[Row]]], list[Problem]]
_IMPORT_CHECKS: Final[dict[str, _Check]] = {
    "grades": _check_grades,
    "receipts": _check_receipts,
    "expenses": _check_expenses,
}
_IMPORTERS: Final[
    dict[str, Callable[[program.Stores, dict[str, list[Row]], str], ImportReport]]
] = {
    "grades": _import_grades,
    "receipts": _import_receipts,
    "expenses": _import_expenses,
}
