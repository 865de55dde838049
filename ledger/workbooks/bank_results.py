"""The bank's result file (银行代发结果), read: the rows of the bank file the cashier sent,
each with 处理结果 (成功/失败) and 失败原因, as xlsx or as CSV in the same columns (UTF-8,
or GB18030 as Chinese banks' systems write it).

The file may keep the bank file's title rows above its header and its 合计 and notes
below the rows: the header is the first row naming 收款账号 and 处理结果 within the
first rows, and rows below it that are a 合计, a 总笔数 or carry no account, amount nor
备注 are not payments. Every cell is read as the clerk sees it; which rows are true is
decided by :func:`ledger.batches.bank_answer.read_answer`, against the batch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ledger.batches import disbursement
from ledger.batches.bank_answer import ResultRow
from ledger.books import attachments
from ledger.errors import ValidationError
from ledger.money import parse_amount
from ledger.workbooks.imports import (
    MAX_PROBLEMS,
    ImportRefused,
    Problem,
    size_problems,
)

REQUIRED: Final = ("收款账号", "收款账号名称", "金额", "备注", "处理结果")
OPTIONAL: Final = ("失败原因",)
HEADER_WITHIN: Final = 20
"""The header is looked for in the file's first rows (the bank file has four above)."""
MAX_RESULT_ROWS: Final = 1_000_000


def digest(path: Path) -> str:
    """The file's content hash (SHA-256, hex): reading the same file twice is one read."""
    hashed = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hashed.update(block)
    return hashed.hexdigest()


def read(path: Path) -> list[ResultRow]:
    """Every payment row of the file, or :class:`ImportRefused` naming each cell that
    cannot be read (nothing is stored: this only reads)."""
    if too_big := size_problems(path):
        raise ImportRefused(too_big)
    name = path.name
    lines = _csv_lines(path) if path.suffix.lower() == ".csv" else _xlsx_lines(path)
    problems: list[Problem] = []
    rows = _rows(name, lines, problems)
    if problems:
        raise ImportRefused(problems)
    return rows


def answer(
    stores: disbursement.Stores,
    batch_id: int,
    path: Path,
    by: str,
    on: date,
    *,
    sha256: str | None = None,
    name: str | None = None,
) -> disbursement.Outcome:
    """Read ``path`` and record what the bank answered for batch ``batch_id`` as ``by``
    (:func:`ledger.batches.disbursement.read_results`): all of the file or none of it.
    ``sha256`` is the file's :func:`digest` when the caller has taken it already, and
    ``name`` its name as it was sent (an upload kept under another name). The file is
    attached to the payment voucher it made (the bank's answer is its original);
    a file that paid no line made none, and its hash stays in the batch's history."""
    sha256 = sha256 or digest(path)
    outcome = disbursement.read_results(stores, batch_id, read(path), sha256, by, on)
    if outcome.voucher_seq is not None:  # the payment this answer posted
        attachments.attach_own(
            stores,
            outcome.voucher_seq,
            name or path.name,
            path.read_bytes(),
            origin=attachments.origin(batch_id, attachments.RESULTS, sha256),
            by=by,
            note=attachments.NOTES[attachments.RESULTS],
        )
    return outcome


def _xlsx_lines(path: Path) -> Iterator[Sequence[Any]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidFileException):
        raise ImportRefused(
            [
                Problem(
                    path.name,
                    None,
                    None,
                    "不是可读取的 xlsx 或 CSV 文件：文件已损坏，或不是 .xlsx 或 .csv 格式",
                )
            ]
        ) from None
    try:
        ws = workbook.worksheets[0]
        yield from ws.iter_rows(values_only=True)
    finally:
        workbook.close()


def _csv_lines(path: Path) -> Iterator[Sequence[Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes every byte string
        raise ImportRefused([Problem(path.name, None, None, "CSV 文件编码无法识别")])
    yield from csv.reader(io.StringIO(text, newline=""))


def _rows(name: str, lines: Iterable[Sequence[Any]], problems: list[Problem]) -> list[ResultRow]:
    positions: dict[str, int] | None = None
    rows: list[ResultRow] = []
    for number, line in enumerate(lines, start=1):
        cells = [_text(v) for v in line]
        if positions is None:
            if "收款账号" in cells and "处理结果" in cells:
                positions = {c: i for i, c in enumerate(cells) if c}
                missing = [c for c in REQUIRED if c not in positions]
                if missing:
                    problems.append(Problem(name, number, None, f"缺少列：{'、'.join(missing)}"))
                    return []
            elif number >= HEADER_WITHIN:
                break
            continue
        row = _row(name, number, cells, positions, problems)
        if row is not None:
            rows.append(row)
        if len(problems) >= MAX_PROBLEMS or len(rows) > MAX_RESULT_ROWS:
            problems.append(Problem(name, number, None, "问题或行数超过上限，已停止读取"))
            break
    if positions is None:
        problems.append(
            Problem(
                name,
                None,
                None,
                f"前{HEADER_WITHIN}行中没有表头（须有“收款账号”和“处理结果”列）",
            )
        )
    return rows


def _row(
    name: str, number: int, cells: list[str], at: dict[str, int], problems: list[Problem]
) -> ResultRow | None:
    def cell(header: str) -> str:
        i = at.get(header)
        return cells[i] if i is not None and i < len(cells) else ""

    first = next((c for c in cells if c), "")
    if first.startswith(("合计", "总笔数")) or not (
        cell("收款账号") or cell("金额") or cell("备注")
    ):
        return None
    try:
        amount = parse_amount(cell("金额"), field="金额")
    except ValidationError as error:
        problems.append(Problem(name, number, "金额", error.message))
        return None
    return ResultRow(
        number,
        cell("收款账号"),
        cell("收款账号名称"),
        amount,
        cell("备注"),
        cell("处理结果"),
        cell("失败原因"),
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text of the number: never rounds
    return str(value).strip()
