"""The bank file and the payout roster, re-read with openpyxl: cells, formats, totals
that equal the ledger, and masking by role."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

from ledger import disbursement
from schema.db import UnitOfWork
from tests.integration.test_batches import ON, balances, person, run
from tests.integration.test_batches import year as year  # noqa: PLC0414 (the fixture)


def test_the_exported_workbooks_tie_to_the_ledger(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: disbursement.create(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = disbursement.export(uow, batch.id, "boss1", tmp_path)
    roster_path, bank_path = exported.files
    assert roster_path.name == f"batch-{batch.id}-发放表.xlsx"

    bank = load_workbook(bank_path).active
    rows = list(bank.iter_rows(values_only=True))
    assert rows[0] == ("收款账号开户行", "收款账号", "收款账号名称", "金额", "汇款用途", "备注")
    # lines run in studio-code order: line 1 is HJ-H01's host, 教师11
    assert rows[1] == (
        "中国农业银行杭锦旗支行",
        "6228480000000000011",
        "教师11",
        8400.0,
        "2024年度名师工作室劳务补贴",
        f"批次#{batch.id}-1 HJ-H01",
    )
    assert bank["D2"].number_format == "#,##0.00"
    assert isinstance(bank["D2"].value, int | float)  # a number, never text
    total_fen = sum(round(r[3] * 100) for r in rows[1:])
    assert total_fen == exported.bank_total == batch.net == 5_750_000 - 890_000

    run(year, lambda uow: disbursement.confirm(uow, batch.id, "boss1", ON))
    assert balances(year, "bank:disbursed") == [total_fen]

    roster = load_workbook(roster_path).active
    assert roster["A1"].value == "杭锦旗名师工作室2024年度劳务补贴发放表"
    header = [c.value for c in roster[3]]
    assert header == [
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
    ]
    first = [c.value for c in roster[4]]
    assert first[:11] == [
        1,
        "HJ-H01",
        "教师11",
        first[3],
        "主持人",
        12,
        "合格",
        10000.0,
        1600.0,
        8400.0,
        "捌仟肆佰元整",
    ]
    assert first[3] == person(11, "第二中学").id_number  # an approver sees the whole number
    total_row = 4 + len(batch.lines)
    totals = [c.value for c in roster[total_row]]
    assert totals[0] == "合计"
    assert (totals[7], totals[8], totals[9]) == (57500.0, 8900.0, 48600.0)
    assert totals[10] == "肆万捌仟陆佰元整"
    assert all(
        roster.cell(row=r, column=c).number_format == "#,##0.00"
        for r in range(4, total_row + 1)
        for c in (8, 9, 10)
    )
    assert roster.freeze_panes == "A4"
    assert roster.print_title_rows == "$1:$3"
    assert [roster.cell(row=total_row + 2, column=c).value for c in (1, 4, 8)] == [
        "经办人：",
        "审核人：",
        "负责人：",
    ]


def test_other_roles_get_masked_numbers_and_no_bank_file(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: disbursement.create(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", date(2025, 1, 10)))
    with UnitOfWork(year, write=False) as uow:
        exported = disbursement.export(uow, batch.id, "audit", tmp_path)
    [roster_path] = exported.files
    assert exported.notes == [
        "bank file not written: it needs whole account numbers, which only 审核人 may export"
    ]
    roster = load_workbook(roster_path).active
    whole = person(11, "第二中学").id_number
    assert roster["D4"].value == f"150625********{whole[-4:]}"
    assert not (tmp_path / f"batch-{batch.id}-批量代发.xlsx").exists()


def test_a_draft_batch_is_not_sent_to_the_bank(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: disbursement.create(uow, 2024, "clerk", ON)).batch
    with UnitOfWork(year, write=False) as uow:
        exported = disbursement.export(uow, batch.id, "boss1", tmp_path)
    assert exported.notes == [
        "bank file not written: the batch is draft, only an approved batch is sent to the bank"
    ]
    assert [p.name for p in exported.files] == [f"batch-{batch.id}-发放表.xlsx"]
