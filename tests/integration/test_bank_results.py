"""The bank's result file read back (SPEC §5, issue #30): the rows of the bank file the
cashier sent, each with 处理结果 and 失败原因, matched to the approved lines to the fen;
all of a file or none of it, the same file twice changing nothing, the bank answering
in several files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine

from api.cli import main
from ledger.batches import disbursement
from ledger.batches.batch import Batch
from ledger.errors import InvalidInputError, PermissionDeniedError
from ledger.workbooks import bank_results, payout_files
from ledger.workbooks.imports import ImportRefused
from schema.db import UnitOfWork
from tests.fakes import whole
from tests.integration.test_batches import ON, balances, create, run, stored
from tests.integration.test_batches import year as year  # noqa: PLC0414 (the fixture)

HEADER_ROW = 4  # the bank file's title, caption and 总笔数 stand above its header


@pytest.fixture
def sent(year: Engine, tmp_path: Path) -> tuple[Engine, Batch, Path]:
    """An approved batch and the bank file its cashier took."""
    batch = create(year).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "cashier1", tmp_path / "sent")
    return year, stored(year, batch.id), exported.files[1]


def answered(
    bank_file: Path,
    out: Path,
    failed: Mapping[int, str] = {},
    *,
    only: range | None = None,
    edit: Mapping[tuple[int, int], Any] = {},
) -> Path:
    """The bank's result file for the sent ``bank_file``: every payment 成功 but the
    ``failed`` lines (line → 失败原因); only the ``only`` lines when given; ``edit`` sets
    cells (file row, column) afterwards, as a bank or a forger might."""
    wb = load_workbook(bank_file)
    ws = wb.active
    ws.cell(HEADER_ROW, 7, "处理结果")
    ws.cell(HEADER_ROW, 8, "失败原因")
    for row in range(ws.max_row, HEADER_ROW, -1):
        remark = ws.cell(row, 6).value
        if not isinstance(remark, str) or not remark.startswith("批次#"):
            continue
        number = int(remark.split("-")[1].split()[0])
        if only is not None and number not in only:
            ws.delete_rows(row)
            continue
        ws.cell(row, 7, "失败" if number in failed else "成功")
        ws.cell(row, 8, failed.get(number, ""))
    for (row, column), value in edit.items():
        ws.cell(row, column, value)
    wb.save(out)
    return out


def read(engine: Engine, batch: Batch, path: Path, on: date = ON) -> disbursement.Outcome:
    return run(
        engine, lambda uow: whole(uow, bank_results.answer(uow, batch.id, path, "cashier1", on))
    )


def test_a_true_file_confirms_and_returns_in_one_action_and_once(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    result = answered(bank_file, tmp_path / "结果.xlsx", {3: "户名不符", 8: "账户已冻结"})
    outcome = read(engine, batch, result)
    assert outcome.batch.state == "partially_paid"
    assert {x.number: x.status.value for x in outcome.batch.lines if x.status != "paid"} == {
        3: "failed",
        8: "failed",
    }
    assert outcome.batch.line(3).failure_reason == "户名不符"
    succeeded = sum(x.sent for x in batch.lines if x.number not in (3, 8))
    # bank:disbursed is exactly the sum of the successful rows, to the fen
    rows = list(load_workbook(result).active.iter_rows(min_row=5, values_only=True))
    paid_rows = sum(round(r[3] * 100) for r in rows if r[6] == "成功")
    assert balances(engine, "bank:disbursed") == [succeeded] == [paid_rows]
    assert outcome.batch == stored(engine, batch.id)
    with UnitOfWork(engine, write=False) as uow:
        _, events = disbursement.show(uow, batch.id)
    assert (events[-1].action, events[-1].to_state) == ("results", "partially_paid")
    assert events[-1].reason is not None
    assert events[-1].reason.startswith(f"银行结果文件 sha256:{bank_results.digest(result)}")
    assert "第3行：户名不符" in events[-1].reason
    # one voucher per kind: the payment; failed lines post nothing
    assert outcome.batch.line(1).payment_seq == outcome.batch.line(12).payment_seq

    again = read(engine, batch, result)
    assert not again.changed
    assert "已于" in again.message
    assert "未作任何更改" in again.message
    assert balances(engine, "bank:disbursed") == [succeeded]
    with UnitOfWork(engine, write=False) as uow:
        assert len(disbursement.show(uow, batch.id)[1]) == len(events)
    r = stored(engine, batch.id).reconciliation
    assert (r.succeeded.count, r.failed.count, r.pending.count) == (10, 2, 0)


def test_a_file_with_wrong_rows_is_refused_whole_naming_each(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    # file rows 5.. are lines 1..12: line 2 a fen short, line 4 another account, line 6
    # another name, line 7's row names line 99, line 9 a 失败 with no reason
    result = answered(
        bank_file,
        tmp_path / "结果.xlsx",
        edit={
            (6, 4): batch.line(2).sent / 100 - 0.01,
            (8, 2): "6228480000000000999",
            (10, 3): "李四",
            (11, 6): f"批次#{batch.id}-99 HJ-S01",
            (13, 7): "失败",
            (14, 6): f"批次#{batch.id}-9 HJ-S01",
        },
    )
    with pytest.raises(InvalidInputError) as refused:
        read(engine, batch, result)
    said = {e.field: e.message for e in refused.value.errors}
    assert set(said) == {
        "第6行 金额",
        "第8行 收款账号",
        "第10行 收款账号名称",
        "第11行 备注",
        "第13行 失败原因",
        "第14行 备注",
    }
    assert said["第6行 金额"].startswith(
        f"{(batch.line(2).sent - 1) / 100:,.2f} 元与发出的 {batch.line(2).sent / 100:,.2f} 元不符"
    )
    assert "没有第99行" in said["第11行 备注"]
    assert "在第13行已出现" in said["第14行 备注"]  # line 9 twice: a duplicated row
    # nothing written: still approved, every line waiting, no money moved
    after = stored(engine, batch.id)
    assert after.state == "approved"
    assert {x.status.value for x in after.lines} == {"pending"}
    assert balances(engine, "bank:disbursed") == [0]


def test_the_bank_may_answer_in_several_files(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    first = read(engine, batch, answered(bank_file, tmp_path / "1.xlsx", only=range(1, 7)))
    assert first.batch.state == "approved"  # six lines still waiting for the bank
    assert "6 行仍待银行答复" in first.message
    # the second repeats lines 5 and 6 as the first said them, and fails line 10
    second_file = answered(
        bank_file, tmp_path / "2.csv.xlsx", {10: "账号不存在"}, only=range(5, 13)
    )
    second = read(engine, batch, second_file)
    assert second.batch.state == "partially_paid"
    assert balances(engine, "bank:disbursed") == [
        sum(x.sent for x in batch.lines if x.number != 10)
    ]
    # a third that says line 5 failed after the bank said it was paid: refused
    contradicting = answered(bank_file, tmp_path / "3.xlsx", {5: "退汇"}, only=range(5, 6))
    with pytest.raises(InvalidInputError, match="前后矛盾"):
        read(engine, batch, contradicting)
    # and one that only repeats what is known changes nothing
    repeat = read(engine, batch, answered(bank_file, tmp_path / "4.xlsx", only=range(1, 3)))
    assert not repeat.changed
    assert "2 行均已入账" in repeat.message


def test_a_csv_result_in_the_same_columns_is_read_too(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    rows = list(
        load_workbook(answered(bank_file, tmp_path / "r.xlsx", {2: "户名不符"})).active.iter_rows(
            min_row=HEADER_ROW, values_only=True
        )
    )
    lines = [
        ",".join("" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in r)
        for r in rows
        if r[1] or r[0] == "收款账号开户行"
    ]
    path = tmp_path / "结果.csv"
    path.write_bytes("\r\n".join(lines).encode("gb18030"))  # as a Chinese bank writes it
    outcome = read(engine, batch, path)
    assert outcome.batch.line(2).status == "failed"
    assert balances(engine, "bank:disbursed") == [
        sum(x.sent for x in batch.lines[2:]) + batch.line(1).sent
    ]


def test_unreadable_files_and_the_wrong_people_are_refused(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    with pytest.raises(ImportRefused, match="没有表头"):
        read(engine, batch, bank_file)  # the file sent, not the bank's answer
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    with pytest.raises(ImportRefused, match="不是可读取的"):
        read(engine, batch, junk)
    result = answered(bank_file, tmp_path / "r.xlsx")
    with pytest.raises(PermissionDeniedError):
        run(engine, lambda uow: bank_results.answer(uow, batch.id, result, "boss1", ON))
    assert balances(engine, "bank:disbursed") == [0]


def test_the_command_line_reads_the_file_as_the_cashier(
    sent: tuple[Engine, Batch, Path], tmp_path: Path
) -> None:
    engine, batch, bank_file = sent
    cli_db = engine.url.render_as_string(hide_password=False)
    result = answered(bank_file, tmp_path / "结果.xlsx", {3: "户名不符"})
    runner = CliRunner()
    said = runner.invoke(
        main,
        ["--db", cli_db, "batches", "results", str(batch.id), str(result), "--as", "cashier1",
         "--on", ON.isoformat()],
    )  # fmt: skip
    assert said.exit_code == 0, said.output
    assert f"批次 #{batch.id} 状态为部分发放：11 行已支付，1 行被银行退回" in said.output
    again = runner.invoke(
        main,
        ["--db", cli_db, "batches", "results", str(batch.id), str(result), "--as", "cashier1",
         "--on", ON.isoformat()],
    )  # fmt: skip
    assert again.exit_code == 0
    assert "未作任何更改" in again.output
