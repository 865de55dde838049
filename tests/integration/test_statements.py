"""Auditor statements re-read with openpyxl: a worked three-column ledger to the
fen, the yearly summary and the trial balance tied to the ledger, LibreOffice
opening the files, and memory that stays flat in the number of rows."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text, update

from jobs.work import SCHEDULER_USER
from ledger import users
from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from ledger.registry import roster_services
from ledger.registry.roster import PersonInput, Studio, id_check_digit
from ledger.workbooks import statements
from schema import ledger_store
from schema.db import UnitOfWork
from schema.tables import StudioRow

CLERK = SCHEDULER_USER  # the clerk the migrations create

S1 = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
FUND = "studio:HJ-S01:fund:finance"
EXPENSE = "expense:training:studio:HJ-S01"


@pytest.fixture(autouse=True)
def auditor(engine: Engine) -> None:
    """The auditor who exports, named on every statement."""
    with UnitOfWork(engine) as uow:
        users.add_user(uow, "审计员", "auditor", by=None)
        uow.commit()


def _post(engine: Engine, *requests: NewTransaction) -> list:  # type: ignore[type-arg]
    with UnitOfWork(engine) as uow:
        posted = book.post(uow.ledger, list(requests))
        uow.commit()
    return posted


@pytest.fixture
def worked(engine: Engine) -> Engine:
    """HJ-S01: 25,000 in on 2 Jan; 1,000 and 500 out in March; the 500 reversed in April."""
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        uow.commit()
    _post(
        engine,
        NewTransaction(
            "a",
            date(2024, 1, 2),
            "2024年度工作室业务经费拨款",
            (Posting("source:finance", FUND, 2_500_000),),
        ),
        NewTransaction("e1", date(2024, 3, 10), "培训费", (Posting(FUND, EXPENSE, 100_000),)),
        NewTransaction(
            "e2", date(2024, 3, 20), "培训费（重复）", (Posting(FUND, EXPENSE, 50_000),)
        ),
    )
    with UnitOfWork(engine) as uow:
        book.reverse(uow.ledger, 3, idempotency_key="r", effective_date=date(2024, 4, 1))
        uow.commit()
    return engine


def _rows(path: Path, sheet: str) -> list[tuple[object, ...]]:
    return list(load_workbook(path)[sheet].iter_rows(values_only=True))


def test_the_three_column_ledger_of_a_worked_example(worked: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    with UnitOfWork(worked, write=False) as uow:
        entries = statements.export_ledger(uow, 2024, 2024, path, "审计员", "HJ-S01")
    assert entries == 4
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["HJ-S01-旗财政", "HJ-S01-立教教育基金", "HJ-S01-单位配套"]
    ws = workbook["HJ-S01-旗财政"]
    assert ws["A1"].value == "专项资金明细账"
    assert ws["A2"].value == "科目：271101 专项资金—财政拨款　工作室：HJ-S01 语文名师工作室"
    assert ws["G2"].value == "期间：2024年"
    assert ws["A3"].value == "核算单位：杭锦旗名师工作室领导小组办公室　第1轮　周期2024-2026"
    assert ws["G3"].value == "金额单位：元"
    assert {"A1:H1", "A2:F2", "G2:H2", "A4:B4", "C4:C5", "H4:H5"} <= {
        str(r) for r in ws.merged_cells.ranges
    }
    assert ws.freeze_panes == "A6"
    assert ws.print_title_rows == "$1:$5"
    body = [row[:8] for row in _rows(path, "HJ-S01-旗财政")[5:]]
    # 专项资金 is a 贷 account: receipts are 贷方, spending 借方, the balance 贷
    assert body[:13] == [
        (1, 1, None, "上年结转", None, None, "平", 0),
        (1, 2, "记-2024-01-0001", "2024年度工作室业务经费拨款", None, 25000, "贷", 25000),
        (1, None, None, "本月合计", 0, 25000, "贷", 25000),
        (1, None, None, "本年累计", 0, 25000, "贷", 25000),
        (3, 10, "记-2024-03-0001", "培训费", 1000, None, "贷", 24000),
        (3, 20, "记-2024-03-0002", "培训费（重复）", 500, None, "贷", 23500),
        (3, None, None, "本月合计", 1500, 0, "贷", 23500),
        (3, None, None, "本年累计", 1500, 25000, "贷", 23500),
        (4, 1, "记-2024-04-0001", "冲销 记-2024-03-0002：培训费（重复）", None, 500, "贷", 24000),
        (4, None, None, "本月合计", 0, 500, "贷", 24000),
        (4, None, None, "本年累计", 1500, 25500, "贷", 24000),
        (12, 31, None, "期末余额", None, None, "贷", 24000),
        (None, None, None, None, None, None, None, None),
    ]
    assert ws.cell(row=7, column=6).number_format == "#,##0.00"
    with UnitOfWork(worked, write=False) as uow:
        seq, last_hash = uow.ledger.head_hash()
    # the anchor an auditor keeps to check the ledger later, then who made the file
    assert (
        body[13][0] == f"账簿锚点 {seq}:{last_hash}（截至第{seq}笔交易；以 verify --anchor 核对）"
    )
    assert str(body[14][0]).startswith("生成时间")
    assert str(body[14][0]).endswith("导出人 审计员（审计）")


def test_a_month_lists_its_vouchers_in_number_order_even_when_one_is_backdated(
    engine: Engine, tmp_path: Path
) -> None:
    """A receipt dated 10 March keyed in after a spending dated 20 March takes the next
    number of March: the ledger never shows a later voucher above an earlier one."""
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        uow.commit()
    _post(
        engine,
        NewTransaction("a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 100_000),)),
        NewTransaction("e", date(2024, 3, 20), "资料费", (Posting(FUND, EXPENSE, 30_000),)),
    )
    _post(
        engine,
        NewTransaction(
            "m", date(2024, 3, 10), "补记拨款", (Posting("source:finance", FUND, 5_000),)
        ),
    )
    path = tmp_path / "ledger.xlsx"
    with UnitOfWork(engine, write=False) as uow:
        statements.export_ledger(uow, 2024, 2024, path, "审计员", "HJ-S01")
    march = [row[:8] for row in _rows(path, "HJ-S01-旗财政")[5:] if row[0] == 3 and row[2]]
    assert march == [
        (3, 20, "记-2024-03-0001", "资料费", 300, None, "贷", 700),
        (3, 10, "记-2024-03-0002", "补记拨款", None, 50, "贷", 750),
    ]


def test_a_cycle_ledger_carries_the_balance_into_each_year(worked: Engine, tmp_path: Path) -> None:
    path = tmp_path / "cycle.xlsx"
    with UnitOfWork(worked, write=False) as uow:
        statements.export_ledger(uow, 2024, 2026, path, "审计员", "HJ-S01")
    tail = [(row[3], row[7]) for row in _rows(path, "HJ-S01-旗财政")[5:] if row[3]][-6:]
    assert tail == [
        ("本年累计", 24000),
        ("结转下年", 24000),
        ("上年结转", 24000),
        ("结转下年", 24000),
        ("上年结转", 24000),
        ("期末余额", 24000),
    ]


def test_memos_and_names_typed_as_formulas_stay_text_in_every_statement(
    worked: Engine, tmp_path: Path
) -> None:
    with worked.begin() as connection:
        connection.execute(
            update(StudioRow).where(StudioRow.code == "HJ-S01").values(name="=1+1工作室")
        )
    memo = '=HYPERLINK("http://evil.example","凭证附件")'
    _post(worked, NewTransaction("x", date(2024, 5, 6), memo, (Posting(FUND, EXPENSE, 100),)))
    with UnitOfWork(worked, write=False) as uow:
        statements.export_ledger(uow, 2024, 2024, tmp_path / "l.xlsx", "审计员", "HJ-S01")
        statements.export_summary(uow, 2024, tmp_path / "s.xlsx", "审计员")
        statements.export_trial_balance(uow, date(2024, 12, 31), tmp_path / "t.xlsx", "审计员")
    for name in ("l", "s", "t"):
        cells = [
            cell
            for ws in load_workbook(tmp_path / f"{name}.xlsx")
            for row in ws.iter_rows()
            for cell in row
            if cell.value is not None
        ]
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], name
        assert not any(str(c.value).startswith("=") for c in cells), name
    memos = [row[3] for row in _rows(tmp_path / "l.xlsx", "HJ-S01-旗财政")]
    assert "'" + memo in memos
    summary = [row[3] for row in _rows(tmp_path / "s.xlsx", "2024收支汇总")]
    assert "'=1+1工作室" in summary


def test_the_summary_ties_to_the_ledger_and_states_the_verify_result(
    worked: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "summary.xlsx"
    with UnitOfWork(worked, write=False) as uow:
        lines = statements.export_summary(uow, 2024, path, "审计员")
        kept = uow.ledger.kept_balances()
        _, last_hash = uow.ledger.head_hash()
    finance = next(x for x in lines if x.source == "finance")
    assert (finance.opening, finance.received, finance.expenses, finance.closing) == (
        0,
        2_500_000,
        100_000,
        2_400_000,
    )
    assert finance.closing == kept[FUND]
    rows = _rows(path, "2024收支汇总")
    assert rows[2] == (
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
    assert rows[3] == (
        "271101",
        "专项资金—财政拨款",
        "HJ-S01",
        "语文名师工作室",
        1,
        0,
        25000,
        0,
        1000,
        0,
        24000,
    )
    # each source's studios, then its 小计; then 合计, which the subtotals add up to
    assert [(r[0], r[5], r[6], r[8], r[10]) for r in rows[3:10]] == [
        ("271101", 0, 25000, 1000, 24000),
        ("专项资金—财政拨款小计（1个工作室）", 0, 25000, 1000, 24000),
        ("271102", 0, 0, 0, 0),
        ("专项资金—教育基金拨款小计（1个工作室）", 0, 0, 0, 0),
        ("271103", 0, 0, 0, 0),
        ("专项资金—单位配套小计（1个工作室）", 0, 0, 0, 0),
        ("合计", 0, 25000, 1000, 24000),
    ]
    assert rows[11][0].startswith("账簿校验：通过（4笔凭证")
    assert rows[12][0] == f"账簿锚点 4:{last_hash}（截至第4笔交易；以 verify --anchor 核对）"
    assert [rows[13][c] for c in (0, 3, 6, 9)] == [
        "制表人（签字）：",
        "审核人（签字）：",
        "负责人（签字）：",
        "日期：　　年　　月　　日",
    ]


def test_the_trial_balance_shows_codes_names_and_normal_sides(
    worked: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "trial.xlsx"
    with UnitOfWork(worked, write=False) as uow:
        lines = statements.export_trial_balance(uow, date(2024, 3, 31), path, "审计员")
    by_account = {x.account: x for x in lines}
    assert (by_account[FUND].inflow, by_account[FUND].outflow, by_account[FUND].closing) == (
        2_500_000,
        150_000,
        2_350_000,
    )
    rows = _rows(path, "科目余额表")
    assert rows[0][0] == "科目余额表（截至2024-03-31）"
    assert rows[2] == (
        "科目编码",
        "科目名称",
        "期初借方",
        "期初贷方",
        "本期借方",
        "本期贷方",
        "期末借方",
        "期末贷方",
    )
    # every code once: 银行存款 one account with one 借 balance; studios, payees and
    # where the money came from or went are 辅助核算, on the next sheet
    assert rows[3:8] == [
        ("1002", "银行存款", 0, 0, 25000, 1500, 23500, 0),
        ("2711", "专项资金", 0, 0, 1500, 25000, 0, 23500),
        ("271101", "专项资金—财政拨款", 0, 0, 1500, 25000, 0, 23500),
        ("合计", None, 0, 0, 26500, 26500, 23500, 23500),
        (None, None, None, None, None, None, None, None),
    ]
    assert rows[8][0] == "期初、本期、期末均为零的科目和项目未列出（导出时选择“显示全部”可列出）。"
    aux = _rows(path, "辅助余额表")
    assert aux[2] == (
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
    assert aux[3:8] == [
        # 银行存款's 收支项目: what came in and went out; its balance on the 小计
        ("1002", "银行存款", "收支项目：旗财政拨入", None, None, 25000, 0, None, None),
        (
            "1002",
            "银行存款",
            "收支项目：已支付活动经费—培训费（HJ-S01）",
            None,
            None,
            0,
            1500,
            None,
            None,
        ),
        ("1002", "银行存款", "小计", "平", 0, 25000, 1500, "借", 23500),
        (
            "271101",
            "专项资金—财政拨款",
            "工作室：HJ-S01 语文名师工作室",
            "平",
            0,
            1500,
            25000,
            "贷",
            23500,
        ),
        ("271101", "专项资金—财政拨款", "小计", "平", 0, 1500, 25000, "贷", 23500),
    ]


def test_withheld_tax_and_unpaid_stipends_are_credit_balances(
    engine: Engine, tmp_path: Path
) -> None:
    """10,000 approved for 张三 in December, 5,000 of it paid (4,200 net + 800 tax)."""
    first17 = "15062719800101001"
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        codes, _ = uow.registry.save_people(
            [PersonInput(first17 + id_check_digit(first17), "张三", "第一中学")]
        )
        uow.commit()
    payable = f"studio:HJ-S01:payable:{codes[first17 + id_check_digit(first17)]}"
    _post(
        engine,
        NewTransaction(
            "a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
        ),
        NewTransaction("ap", date(2024, 12, 23), "审批", (Posting(FUND, payable, 1_000_000),)),
        NewTransaction(
            "pay",
            date(2024, 12, 25),
            "发放",
            (
                Posting(payable, "bank:disbursed", 420_000),
                Posting(payable, "tax:withheld", 80_000),
            ),
        ),
    )
    path = tmp_path / "trial.xlsx"
    with UnitOfWork(engine, write=False) as uow:
        statements.export_trial_balance(uow, date(2024, 12, 31), path, "审计员")
    rows = _rows(path, "科目余额表")
    assert rows[3:12] == [
        ("1002", "银行存款", 0, 0, 25000, 4200, 20800, 0),
        ("2221", "应交税费", 0, 0, 0, 800, 0, 800),
        ("222101", "应交税费—代扣个人所得税", 0, 0, 0, 800, 0, 800),
        ("2241", "其他应付款", 0, 0, 5000, 10000, 0, 5000),
        ("224101", "其他应付款—应付劳务补贴", 0, 0, 5000, 10000, 0, 5000),
        ("2711", "专项资金", 0, 0, 10000, 25000, 0, 15000),
        ("271101", "专项资金—财政拨款", 0, 0, 10000, 25000, 0, 15000),
        ("合计", None, 0, 0, 40000, 40000, 20800, 20800),
        (None, None, None, None, None, None, None, None),
    ]
    aux = [r[2:] for r in _rows(path, "辅助余额表")[3:10]]
    assert aux == [
        ("收支项目：旗财政拨入", None, None, 25000, 0, None, None),
        ("收支项目：已拨付劳务补贴", None, None, 0, 4200, None, None),
        ("小计", "平", 0, 25000, 4200, "借", 20800),
        ("人员：张三（P000001，HJ-S01）", "平", 0, 5000, 10000, "贷", 5000),
        ("小计", "平", 0, 5000, 10000, "贷", 5000),
        ("工作室：HJ-S01 语文名师工作室", "平", 0, 10000, 25000, "贷", 15000),
        ("小计", "平", 0, 10000, 25000, "贷", 15000),
    ]


@pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice is not installed (CI installs it)"
)
@pytest.mark.slow
def test_libreoffice_opens_every_statement(worked: Engine, tmp_path: Path) -> None:
    with UnitOfWork(worked, write=False) as uow:
        statements.export_ledger(uow, 2024, 2024, tmp_path / "ledger.xlsx", "审计员")
        statements.export_summary(uow, 2024, tmp_path / "summary.xlsx", "审计员")
        statements.export_trial_balance(uow, date(2024, 12, 31), tmp_path / "trial.xlsx", "审计员")
    for name in ("ledger", "summary", "trial"):
        result = subprocess.run(
            [
                str(shutil.which("soffice")),
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(tmp_path),
                str(tmp_path / f"{name}.xlsx"),
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000


def _peak_export_bytes(engine: Engine, path: Path, last_year: int) -> tuple[int, int]:
    """(entries written, peak bytes allocated while exporting them)."""
    tracemalloc.start()
    try:
        with UnitOfWork(engine, write=False) as uow:
            entries = statements.export_ledger(uow, 2024, last_year, path, "审计员", "HJ-S01")
        return entries, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_flat_in_the_number_of_rows(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger_store, "READ_CHUNK", 500)  # the export's rows, 500 at a time
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        uow.commit()
    _post(
        engine,
        NewTransaction(
            "fund", date(2024, 1, 1), "拨款", (Posting("source:finance", FUND, 10**12),)
        ),
    )
    # 2,500 rows in 2024 and 7,500 more in 2025, a voucher a month: the two exports
    # differ fourfold, and both are well past the rows the ledger is read at a time
    for year, count in ((2024, 2_499), (2025, 7_500)):
        _post(
            engine,
            *(
                NewTransaction(
                    f"{year}-{month}",
                    date(year, month, 28),
                    "资料费",
                    tuple(Posting(FUND, EXPENSE, 1 + i % 97) for i in range(month - 1, count, 12)),
                )
                for month in range(1, 13)
            ),
        )
    if engine.dialect.name == "postgresql":  # plan the reads on the tables as they are now,
        with engine.begin() as connection:  # not as autovacuum last saw them (committed:
            connection.execute(text("ANALYZE"))  # statistics roll back with a transaction)
    small_rows, small = _peak_export_bytes(engine, tmp_path / "small.xlsx", 2024)
    large_rows, large = _peak_export_bytes(engine, tmp_path / "large.xlsx", 2025)
    assert (small_rows, large_rows) == (2_500, 10_000)
    # a row held costs hundreds of bytes: 7,500 more held would be megabytes
    assert large - small < 512 * 1024, (small, large)


def test_rows_zero_in_every_column_are_left_out_unless_all_are_asked_for(
    engine: Engine, tmp_path: Path
) -> None:
    """The foundation's 2023 money came in and went back: in 2024 its accounts are zero
    at the start, do not move and are zero at the end, so the 科目余额表 and the
    辅助余额表 leave them out, saying so, unless every row is asked for."""
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [S1], [], [], by=CLERK)
        uow.commit()
    edu = "studio:HJ-S01:fund:edu_fund"
    _post(
        engine,
        NewTransaction("in", date(2023, 5, 1), "拨款", (Posting("source:edu_fund", edu, 100),)),
        NewTransaction("back", date(2023, 6, 1), "退回", (Posting(edu, "source:edu_fund", 100),)),
        NewTransaction(
            "a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
        ),
    )
    short, every = tmp_path / "short.xlsx", tmp_path / "every.xlsx"
    with UnitOfWork(engine, write=False) as uow:
        statements.export_trial_balance(uow, date(2024, 12, 31), short, "审计员")
        statements.export_trial_balance(uow, date(2024, 12, 31), every, "审计员", every=True)
    codes = [r[0] for r in _rows(short, "科目余额表")[3:] if r[0] and r[0][0].isdigit()]
    assert codes == ["1002", "2711", "271101"]
    assert [r[0] for r in _rows(every, "科目余额表")[3:] if r[0] and r[0][0].isdigit()] == [
        "1002",
        "2711",
        "271101",
        "271102",
    ]
    assert ("271102", "专项资金—教育基金拨款", 0, 0, 0, 0, 0, 0) in _rows(every, "科目余额表")
    items = [r[2] for r in _rows(short, "辅助余额表")[3:] if r[2]]
    assert items == ["收支项目：旗财政拨入", "小计", "工作室：HJ-S01 语文名师工作室", "小计"]
    items = [r[2] for r in _rows(every, "辅助余额表")[3:] if r[2]]
    assert items == [
        "收支项目：旗财政拨入",
        "收支项目：教育基金拨入",
        "小计",
        "工作室：HJ-S01 语文名师工作室",
        "小计",
        "工作室：HJ-S01 语文名师工作室",
        "小计",
    ]
    notes = [r[0] for r in _rows(short, "科目余额表") if r[0] and str(r[0]).startswith("期初")]
    assert notes == ["期初、本期、期末均为零的科目和项目未列出（导出时选择“显示全部”可列出）。"]
    notes = [r[0] for r in _rows(every, "科目余额表") if r[0] and str(r[0]).startswith("含")]
    assert notes == ["含期初、本期、期末均为零的科目和项目。"]
