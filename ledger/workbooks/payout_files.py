"""The batch's files: the bank bulk-payment workbook (批量代发) and the payout roster
(劳务补贴发放表), streamed through :mod:`ledger.workbooks` so memory stays flat and
both print on A4, one page wide.

Amounts are numeric cells in 元, never text; every total is summed in integer fen
first and only the cell gets ``fen / 100``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ledger.batches import disbursement
from ledger.batches.batch import Batch
from ledger.batches.disbursement import PayoutRow, payout
from ledger.books import attachments
from ledger.money import Fen, to_uppercase
from ledger.permissions import allows
from ledger.registry.policy import GRADE_LABELS
from ledger.registry.roster import ROLE_LABELS
from ledger.users import ROLE_LABELS as USER_ROLE_LABELS
from ledger.workbooks.sheets import (
    PLAIN_AMOUNT_FORMAT,
    Column,
    Layout,
    PrintedSheet,
    new_workbook,
    stamp,
)

BANK_HEADERS: Final = ("收款账号开户行", "收款账号", "收款账号名称", "金额", "汇款用途", "备注")
BANK_LAYOUT: Final = Layout(
    (
        Column(26),
        Column(24),
        Column(14),
        Column(14, "amount", number_format=PLAIN_AMOUNT_FORMAT),
        Column(28),
        Column(24),
    ),
    title_rows=4,
)
ROSTER_HEADERS: Final = (
    "序号",
    "工作室",
    "姓名",
    "身份证号",
    "银行账号",
    "角色",
    "月数",
    "等次",
    "应发金额",
    "代扣税款",
    "实发金额",
    "实发金额大写",
    "领款人签字",
)
ROSTER_LAYOUT: Final = Layout(
    (
        Column(5, "number"),
        Column(9, "centre"),
        Column(9, "centre", wrap=True),
        Column(20, "centre"),
        Column(22, "centre"),
        Column(7, "centre"),
        Column(5, "number"),
        Column(6, "centre"),
        Column(12, "amount"),
        Column(12, "amount"),
        Column(12, "amount"),
        Column(24, wrap=True),
        Column(16),
    ),
    title_rows=3,
    row_height=30,  # room for a signature
)
ROSTER_ROWS_PER_PAGE: Final = 18
"""Payees on a printed page of the 发放表, at the row height that leaves room to sign:
with the repeated title rows, the 本页小计 and (on the last page) 合计, the signature
line and the stamp, a page holds them on A4 landscape with room to spare, so the
page breaks where the sheet says and never earlier."""
SIGN_OFF: Final = (
    (1, "经办人（签字）："),
    (5, "审核人（签字）："),
    (9, "负责人（签字）："),
    (12, "日期：　　年　　月　　日"),
)


@dataclass(frozen=True, slots=True)
class Heading:
    """What heads a batch's file: its title, the batch line under it, and the stamp."""

    title: str
    batch: str
    stamp: str


def write_bank_file(path: Path, rows: Sequence[PayoutRow], heading: Heading, purpose: str) -> Fen:
    """批量代发: 笔数 and 总金额 above the payments, one row per payment, a 合计 row;
    returns the total, fen."""
    total = sum(row.net for row in rows)
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "批量代发", BANK_LAYOUT)
    sheet.title(heading.title)
    sheet.caption(heading.batch, "金额单位：元")
    sheet.row(("总笔数", len(rows), "总金额", total, "", ""))
    sheet.header(BANK_HEADERS)
    for row in rows:
        sheet.row((row.bank_name, row.bank_account, row.name, row.net, purpose, row.remark))
    sheet.row(("合计", None, f"{len(rows)}笔", total, "", ""), bold=True, span=2)
    sheet.blank()
    sheet.note(heading.stamp)
    workbook.save(path)
    return total


def write_roster(
    path: Path,
    rows: Sequence[PayoutRow],
    heading: Heading,
    per_page: int = ROSTER_ROWS_PER_PAGE,
) -> tuple[Fen, Fen, Fen]:
    """劳务补贴发放表: a row per payee with room to sign, ``per_page`` to a printed page;
    when it runs over a page, every page ends with its 本页小计 (in figures and 大写) and
    the last with 合计 too, which the page subtotals sum to; then the 经办/审核/负责人
    lines. Returns the (gross, tax, net) totals."""
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "发放表", ROSTER_LAYOUT)
    sheet.title(heading.title)
    sheet.caption(heading.batch, "金额单位：元")
    sheet.header(ROSTER_HEADERS)
    pages = [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [rows]
    subtotals = [_sums(page) for page in pages]
    for number, page in enumerate(pages, start=1):
        for row in page:
            sheet.row(
                (
                    row.number,
                    row.studio,
                    row.name,
                    row.id_number,
                    row.bank_account,
                    ROLE_LABELS.get(row.role, row.role),
                    row.months,
                    GRADE_LABELS.get(row.grade, row.grade),
                    row.gross,
                    row.tax,
                    row.net,
                    to_uppercase(row.net),
                    "",
                )
            )
        if len(pages) > 1:
            _amounts_row(sheet, "本页小计", subtotals[number - 1])
        if number < len(pages):
            sheet.page_break()
    gross, tax, net = (sum(column) for column in zip(*subtotals, strict=True))
    _amounts_row(sheet, "合计", (gross, tax, net))
    sheet.signatures(SIGN_OFF)
    sheet.note(heading.stamp)
    workbook.save(path)
    return gross, tax, net


def _sums(rows: Sequence[PayoutRow]) -> tuple[Fen, Fen, Fen]:
    return (
        sum(r.gross for r in rows),
        sum(r.tax for r in rows),
        sum(r.net for r in rows),
    )


def _amounts_row(sheet: PrintedSheet, label: str, amounts: tuple[Fen, Fen, Fen]) -> None:
    gross, tax, net = amounts
    sheet.row((label, *[None] * 7, gross, tax, net, to_uppercase(net), ""), bold=True, span=8)


@dataclass(frozen=True)
class Exported:
    """The files written and what was left out, in words."""

    files: list[Path]
    roster_totals: tuple[Fen, Fen, Fen]
    bank_total: Fen | None
    notes: list[str]


def export(
    stores: disbursement.Stores,
    batch_id: int,
    by: str,
    out_dir: Path,
    *,
    handed: Collection[str] = (attachments.ROSTER, attachments.BANK_FILE),
) -> Exported:
    """Write the batch's 发放表 and, when the exporter may send it, its 批量代发 file
    (:func:`ledger.batches.disbursement.payout` decides what each role gets); those of
    them ``handed`` out (a download hands out one) are kept as originals (:func:`_attach`)."""
    given = payout(stores, batch_id, by)
    out_dir.mkdir(parents=True, exist_ok=True)
    generated = stamp(given.exporter.name, USER_ROLE_LABELS[given.exporter.role])
    roster = out_dir / f"batch-{given.batch.id}-发放表.xlsx"
    totals = write_roster(roster, given.rows, Heading(given.title, given.described, generated))
    files, bank_total = [roster], None
    if given.bank_title is not None:
        bank = out_dir / f"batch-{given.batch.id}-批量代发.xlsx"
        heading = Heading(given.bank_title, given.described, generated)
        bank_total = write_bank_file(bank, given.bank_rows, heading, purpose=given.purpose)
        files.append(bank)
    try:
        if allows(given.exporter.role, "attachment.add"):
            _attach(stores, given.batch, files, by, handed)
    except BaseException:  # nothing left behind: the bank file holds whole 身份证号
        for path in files:
            path.unlink(missing_ok=True)
        raise
    return Exported(files, totals, bank_total, given.notes)


def _attach(
    stores: disbursement.Stores,
    batch: Batch,
    files: Sequence[Path],
    by: str,
    handed: Collection[str],
) -> None:
    """The 发放表 and the bank file, the first time each is handed out after the batch was
    approved to someone who keeps the books' papers (not an auditor reading them),
    attached to its approval voucher (the 应付 they pay); the bank file goes on to the
    payment voucher when the bank has paid (:func:`ledger.batches.disbursement`)."""
    seq = next((x.approval_seq for x in batch.lines if x.approval_seq is not None), None)
    if seq is None:  # a draft, or a reissue (its lines were moved by the first batch)
        return
    for path, what in zip(files, (attachments.ROSTER, attachments.BANK_FILE), strict=False):
        if what not in handed:
            continue
        attachments.attach_own(
            stores,
            seq,
            path.name,
            path.read_bytes(),
            origin=attachments.origin(batch.id, what),
            by=by,
            note=attachments.NOTES[what],
        )
