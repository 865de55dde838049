"""The ``studio-ledger`` command line, run as an operator would."""

from __future__ import annotations

import getpass
import importlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from api.cli import COMMANDS, main
from demo import story as demo_module
from ledger import users
from ledger.batches import disbursement
from ledger.books import book
from ledger.books.postings import NewTransaction, Posting
from ledger.privacy import pseudonym, pseudonym_key
from ledger.registry import roster_services
from ledger.registry.roster import Studio, id_check_digit
from ledger.users import token_hash
from ledger.workbooks import imports
from schema.db import UnitOfWork, connect
from schema.keys import key_source
from schema.registry_store import SqlRegistryStore
from tests.conftest import FULL_CYCLE, Clock
from tests.fakes import approver_id_number

FUND = "studio:HJ01:fund:finance"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _fund(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        book.post(
            uow.ledger,
            [
                NewTransaction(
                    "a", date(2024, 1, 2), "拨款", (Posting("source:finance", FUND, 2_500_000),)
                ),
                NewTransaction(
                    "s",
                    date(2024, 3, 1),
                    "培训费",
                    (Posting(FUND, "expense:training:studio:HJ01", 12_345),),
                ),
            ],
        )
        uow.commit()


def test_demo_plays_the_first_cycle_of_the_notice(tmp_path: Path, clock: Clock) -> None:
    clock.set(FULL_CYCLE)
    code, out, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "2024: 22 studios, 216 people imported" in out
    assert "appropriated ¥1,100,000.00" in out
    # 22 hosts x 10,000 + 148 members x 5,000 = 960,000, then: HJ-S14 has no grade (-40,000
    # held), HJ-H05 is 不合格 (-50,000), HJ-S15 was cancelled on 30 Sept (host forfeits
    # -10,000, members paid 9/12: -10,000), one 不合格 member (-5,000), a June leaver (-2,500),
    # a 1 July joiner (+2,500), a 16 July joiner (+2,083.33).
    assert "165 payable lines, total ¥847,083.33; 7 lines held (HJ-S14: no grade recorded)" in out
    # batch 1 pays the 154 lines that are owed something; line 3 bounces and batch 2 pays it
    assert (
        "批次 #1 2024年 已关闭：154 人，应发 847,083.33 元，代扣税 135,256.67 元，"
        "实发 711,826.66 元；经办 张会计，审批 李科长、王局长（需 2 人审批）"
    ) in out
    assert (
        "批次 #2 2024年 已关闭：1 人，应发 5,000.00 元，代扣税 800.00 元，"
        "实发 4,200.00 元；经办 张会计，审批 王局长（需 1 人审批）"
    ) in out
    # 2024: 59 + one approval voucher + two payment vouchers (the reissue was payable
    # already) = 62; 2025: 19 appropriations, HJ-S15's close, the late studio's batch (2)
    # and budget, HJ-H05 restored, 23 receipts, 12 expenses, the batch (2); 2026: 21
    # appropriations, 21 receipts, the batch (2); January 2027: 21 closes, 4 renewals;
    # and the tax of each of the four payout months paid over
    assert "verify: ok: 196 transactions" in out
    for kind in ("roster", "grades", "receipts", "expenses"):
        assert (tmp_path / "demo" / "imports" / f"{kind}.xlsx").exists()
    for name in ("batch-1-发放表", "batch-1-批量代发", "batch-1-银行结果", "batch-2-发放表",
                 "batch-2-批量代发", "2024-12-扣缴个人所得税报告表"):  # fmt: skip
        assert (tmp_path / "demo" / "files" / f"{name}.xlsx").exists()

    assert "periods closed through 2024-12 (年结) by 李科长" in out
    summary = load_workbook(tmp_path / "demo" / "statements" / "2024-专项资金收支汇总表.xlsx")
    rows = list(summary.active.iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    # 1,100,000 appropriated + 43,500 matching; the year's stipends were paid in December;
    # 10,702.50 spent on activities
    assert total[5:11] == (0, 1_143_500, 847_083.33, 10_702.5, 0, 285_714.17)
    # the console table is the summary's closing column, studio by studio, as of 31 December
    assert "截至2024-12-31 各工作室专项资金余额（元）" in out
    first_table = out[out.index("截至2024-12-31") : out.index("└")]
    printed = {
        cells[0]: cells[1:]
        for line in first_table.splitlines()
        if line.startswith("│ HJ-")
        for cells in [[c.strip() for c in line.strip("│").split("│")]]
    }
    closing = {(r[2], r[1]): r[10] for r in rows[3:] if r[2]}
    assert len(printed) == 22
    for studio, figures in printed.items():
        titles = ("专项资金—财政拨款", "专项资金—教育基金拨款", "专项资金—单位配套")
        for figure, title in zip(figures, titles, strict=True):
            assert figure == f"{closing[(studio, title)]:,.2f}", (studio, title)
    assert (tmp_path / "demo" / "statements" / "2024-专项资金明细账.xlsx").exists()
    trial = load_workbook(tmp_path / "demo" / "statements" / "2024-12-31-科目余额表.xlsx")
    trial_rows = list(trial.active.iter_rows(values_only=True))
    assert ("2221", "应交税费", 0, 0, 0, 135_256.67, 0, 135_256.67) in trial_rows
    assert next(r for r in trial_rows if r[0] == "合计")[6:8] == (420_970.84, 420_970.84)

    # the rest of the cycle, funded by assessment (考核发放)
    assert "2025 appropriation on 2025-01-02: funded 19 studios, ¥950,000.00" in out
    assert "held HJ-H05: 2024年度考核不合格，按政策暂停拨付，待领导小组决定恢复" in out
    assert "held HJ-S14: 2024年度考核结果未录入，暂缓拨付" in out
    assert "2025 appropriation on 2025-02-26: funded 1 studio, ¥50,000.00" in out
    assert "HJ-H05: 2024年度考核不合格，经领导小组决定恢复拨付100%（系统管理员：" in out
    assert "2026 appropriation on 2026-01-02: funded 21 studios, ¥1,050,000.00" in out
    assert "批次 #3 2024年 已关闭：7 人，应发 40,000.00 元" in out  # the late-graded studio
    # 1,600,000 of 旗财政 went in over the cycle (22 + 21 + 21 studios × 25,000), stipends
    # took half of 2,667,083.33 (1,333,541.67 by the lines' splits): 266,458.33 went back;
    # the 教育基金 paid the mentor's travel (2,380) besides; the members' schools gave
    # 4,000, 1,600 of it spent on training
    assert (
        "cycles closed (终结): 22 studios, returned 旗财政 ¥266,458.33、立教教育基金 "
        "¥264,078.34、单位配套 ¥104,797.50、成员单位支持 ¥2,400.00"
    ) in out
    assert "HJ-S12 not renamed: 2026年度终结性考核不合格，不再命名和授牌" in out
    assert "renamed for 2027-2029 (继续命名): HJ-H01、HJ-H05、HJ-S04、HJ-S08" in out
    for name in ("2024-2026-专项资金明细账", "2026-专项资金收支汇总表", "2027-01-31-科目余额表"):
        assert (tmp_path / "demo" / "statements" / f"{name}.xlsx").exists()

    engine = connect(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    with UnitOfWork(engine, write=False) as uow:
        kept = uow.ledger.kept_balances()
        report = disbursement.compute_entitlements(uow, 2024)
        at_2024 = uow.ledger.balance("studio:HJ-S07:fund:matching", date(2024, 12, 31))
    engine.dispose()
    assert kept["source:finance"] == -(160_000_000 + 4 * 2_500_000 - 26_645_833)
    assert at_2024 == 150_000  # the unit that matched too little
    # every fund is empty after the close, but the renamed studios' 2027 budget
    renamed = {"HJ-H01", "HJ-H05", "HJ-S04", "HJ-S08"}
    funds = {a: b for a, b in kept.items() if ":fund:" in a}
    assert {a: b for a, b in funds.items() if b} == {
        f"studio:{code}:fund:{source}": 2_500_000
        for code in renamed
        for source in ("finance", "edu_fund")
    }
    # the support went back 3:1 to the two schools that gave 3,000 and 1,000
    assert sorted(b for a, b in kept.items() if a.startswith("source:support:")) == [
        -300_000 + 180_000,
        -100_000 + 60_000,
    ]
    assert kept["bank:disbursed"] == 71_182_666 + 3_360_000 + 76_860_000 + 72_660_000
    # every fen withheld was paid over, month by month: batch 1's tax less its returned
    # line's 800 (never paid, nobody's income), the reissue's 800, batches 3, 4 and 5
    assert kept["tax:withheld"] == 0
    assert kept["bank:tax_remitted"] == 13_525_667 + 640_000 + 14_640_000 + 13_840_000
    assert not any(b for a, b in kept.items() if ":payable:" in a)
    lines = {(x.studio, x.role, len(x.months)): x.gross for x in report.lines}
    assert lines[("HJ-S15", "host", 9)] == 0
    assert lines[("HJ-S15", "member", 9)] == 375_000
    assert lines[("HJ-S04", "member", 5)] == 208_333


def test_the_demo_plays_up_to_today_and_tells_what_is_still_to_come(
    tmp_path: Path, clock: Clock
) -> None:
    """On 7 December 2026 the demo writes nothing dated after today: December's payout
    and the cycle's close in January are told, each with its day and its command."""
    clock.set(date(2026, 12, 7))
    code, out, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    assert "今天是 2026-12-07（北京时间）：以下步骤的日期尚未到来，演示没有办理" in out
    told = out[out.index("今天是 2026-12-07") :]
    assert "  2026-12-20 经办人准备2026年度劳务补贴发放批次\n" in told
    assert "    $ studio-ledger batches create --year 2026 --as 张会计\n" in told
    assert "  2027-01-10 各工作室2024–2026工作周期终结" in told
    assert "    $ studio-ledger cycles renew CODE --as 系统管理员\n" in told
    # 196 less the last payout, its tax, the closes and the renewals
    assert "verify: ok: 168 transactions" in out
    assert (tmp_path / "demo" / "statements" / "2026-12-07-科目余额表.xlsx").exists()
    engine = connect(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    with UnitOfWork(engine, write=False) as uow:
        dated = [t.request.effective_date for t in uow.ledger.iter_transactions()]
        batches = uow.batches.batches()
    engine.dispose()
    assert max(dated) <= date(2026, 12, 7)
    assert [b.year for b in batches] == [2024, 2024, 2024, 2025]


def test_a_write_dated_after_today_is_refused_in_words_with_exit_2(
    engine: Engine, clock: Clock
) -> None:
    clock.set(date(2026, 12, 4))
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "张会计", "--role", "clerk")[0] == 0
    assert _run(*db, "users", "add", "管理员", "--role", "admin")[0] == 0
    assert _run(*db, "users", "add", "第二管理员", "--role", "admin")[0] == 0
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(
            uow,
            [Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)],
            [],
            [],
            by="张会计",
        )
        uow.commit()
    receipt = ("receipts", "add", "--studio", "HJ-S01", "--memo", "配套", "--amount", "2000")
    code, out, err = _run(*db, *receipt, "--on", "2026-12-05", "--as", "张会计")
    assert (code, out) == (2, "")
    assert err.strip() == ("拒绝：--on 日期：不能晚于今天（2026-12-04）：2026-12-05 尚未到来")
    code, _, err = _run(*db, "appropriate", "--year", "2027", "--as", "张会计")
    assert (code, "拒绝：年度：2027年尚未开始（今天是2026-12-04）" in err) == (2, True)
    expense = ("expenses", "add", "--studio", "HJ-S01", "--source", "matching")
    expense += ("--category", "materials", "--amount", "5", "--memo", "资料")
    for command in (
        (*expense, "--on", "2026-12-05", "--as", "张会计"),
        ("batches", "create", "--year", "2026", "--on", "2026-12-05", "--as", "张会计"),
        ("batches", "confirm", "1", "--on", "2026-12-05", "--as", "张会计"),
    ):
        code, _, err = _run(*db, *command)
        assert (code, err.strip()) == (
            2,
            "拒绝：--on 日期：不能晚于今天（2026-12-04）：2026-12-05 尚未到来",
        ), command
    code, _, err = _run(*db, "jobs", "run", "year-end-payout", "--year", "2026", "--as", "管理员")
    assert (code, "2026 于 2026-12-31 18:00（北京时间）到期" in err) == (2, True)
    assert "Traceback" not in err
    code, out, _ = _run(*db, *receipt, "--on", "2026-12-04", "--as", "张会计")
    assert (code, out.strip()) == (0, "receipt 记-2026-12-0001 2026-12-04 2,000.00 元: 配套")
    # recorded twice by mistake: the approver reverses it, naming it and why
    reverse = ("vouchers", "reverse", "记-2026-12-0001", "--reason", "重复录入")
    code, _, err = _run(*db, *reverse, "--as", "张会计")
    assert (code, "voucher.reverse：仅限审核人（approver）" in err) == (2, True)
    add = ("users", "add", "李科长", "--role", "approver", "--id-number", approver_id_number(7))
    assert _run(*db, *add, "--as", "管理员")[0] == 0
    with UnitOfWork(engine) as uow:
        users.confirm_user(uow, "李科长", by="第二管理员")
        uow.commit()
    code, _, err = _run(*db, *reverse, "--on", "2026-12-05", "--as", "李科长")
    assert (code, err.startswith("拒绝：--on 日期：不能晚于今天")) == (2, True)
    code, out, err = _run(*db, *reverse, "--as", "李科长")
    assert code == 0, err
    assert out.strip() == "记-2026-12-0002 2026-12-04 冲销 记-2026-12-0001：重复录入"


def test_the_demo_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.docx").write_text("mine")
    code, out, err = _run("demo", "--out", str(folder))
    assert code == 2
    assert f"拒绝：--out 输出文件夹：{folder} 不是空文件夹，也不是此前演示的输出" in err
    assert out == ""
    assert [p.name for p in folder.iterdir()] == ["chapter1.docx"]
    assert (folder / "chapter1.docx").read_text() == "mine"


def test_the_demo_replaces_only_what_it_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    demo_module.prepare_folder(folder, date(2026, 12, 7))  # a new folder: created and marked
    marker = folder / demo_module.MARKER
    assert "demo.db" in marker.read_text(encoding="utf-8").splitlines()
    (folder / "imports").mkdir()
    (folder / "imports" / "roster.xlsx").write_text("old demo output")
    (folder / "notes.txt").write_text("mine")
    (folder / "imports" / "my-roster.xlsx").write_text("mine")
    # a marker edited to reach outside the folder deletes nothing out there
    marker.write_text(marker.read_text(encoding="utf-8") + "../outside.txt\n", encoding="utf-8")
    demo_module.prepare_folder(folder, date(2026, 12, 7))
    assert not (folder / "imports" / "roster.xlsx").exists()
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "imports" / "my-roster.xlsx").read_text() == "mine"
    assert outside.read_text() == "keep"
    assert "../outside.txt" not in marker.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("db", "says"),
    [
        (
            "missing.db",
            "Error: there is no database at missing.db; create it with "
            "`studio-ledger db upgrade` or name another with --db URL",
        ),
        (
            "no-such-folder/ledger.db",
            "Error: the folder no-such-folder does not exist (database no-such-folder/ledger.db)",
        ),
        (
            "://ledger",
            "Error: not a database URL: '://ledger'; use a file path, "
            "sqlite:///PATH or postgresql://USER@HOST/DATABASE",
        ),
        (
            "mysql://clerk@db/ledger",
            "Error: unsupported database 'mysql' in "
            "mysql://clerk@db/ledger; use SQLite or PostgreSQL",
        ),
        (
            "postgresql://clerk:secret@127.0.0.1:1/ledger",
            "Error: cannot connect to the "
            "database at postgresql+psycopg://clerk:***@127.0.0.1:1/ledger: connection failed:",
        ),
    ],
)
def test_a_database_that_cannot_be_used_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in (["verify"], ["studios", "list", "--json"], ["periods", "list"]):
        code, out, err = _run("--db", db, *command)
        assert code == 1
        assert out == ""
        assert err.startswith(says)
        assert len(err.strip().splitlines()) == 1
        assert "secret" not in err
    assert list(tmp_path.iterdir()) == []  # no database file was left behind


def test_only_db_upgrade_creates_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, _, err = _run("verify")
    assert code == 1
    assert "there is no database at studio-ledger.db" in err
    assert not (tmp_path / "studio-ledger.db").exists()
    code, out, _ = _run("db", "upgrade")
    assert code == 0
    assert out.splitlines() == [
        "database is up to date: sqlite:///./studio-ledger.db",
        "chain key: STUDIO_LEDGER_CHAIN_KEY",  # the tests' ring (tests/conftest.py)
    ]
    code, out, _ = _run("verify")
    assert (code, out.strip()) == (
        0,
        "ok: 0 transactions, hash chain intact, balances agree; last hash -",
    )


def test_the_chain_key_file_from_db_upgrade_to_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the manual's 账链密钥 page (docs/ops/chain-key.md) tells an operator: made by db
    upgrade beside the database, listed without the key, rotated, and missed when it is
    gone."""
    monkeypatch.delenv("STUDIO_LEDGER_CHAIN_KEY")
    database = tmp_path / "ledger.db"
    keys = tmp_path / "ledger.db.keys"
    code, out, _ = _run("--db", str(database), "db", "upgrade")
    assert code == 0
    assert out.splitlines()[1].startswith(f"chain key created: {keys} (seals from transaction 1)")
    assert keys.stat().st_mode & 0o777 == 0o600
    code, out, _ = _run("--db", str(database), "db", "upgrade")
    assert out.splitlines()[1] == f"chain key: {keys}"
    _fund(connect(f"sqlite:///{database}"))
    code, out, _ = _run("--db", str(database), "keys", "list", "--json")
    listed = json.loads(out)
    [first] = listed["keys"]
    assert (listed["source"], listed["chain_end"], first["from_seq"]) == (str(keys), 2, 1)
    assert first["key_id"] not in keys.read_text()  # an id, not the key
    code, out, _ = _run("--db", str(database), "keys", "rotate")
    assert code == 0
    rotated = re.fullmatch(
        r"new key ([0-9a-f]{12}) seals from transaction 3; back up the key file again\n", out
    )
    assert rotated is not None
    code, out, _ = _run("--db", str(database), "keys", "list")
    assert out.splitlines() == [
        f"key ring: {keys}; the chain ends at transaction 2",
        f"key {first['key_id']} seals from transaction 1",
        f"key {rotated[1]} seals from transaction 3 (current)",
    ]
    code, _, err = _run("--db", str(database), "audit", "list", "--action", "chain")
    assert (code, err.strip()) == (
        2,
        "拒绝：读取需要署名：audit.read 仅限审计（auditor）、管理员（admin），请用 --as 指明用户",
    )
    assert _run("--db", str(database), "users", "add", "管理员", "--role", "admin")[0] == 0
    code, out, _ = _run(
        "--db", str(database), "audit", "list", "--action", "chain", "--as", "管理员", "--json"
    )
    [entry] = json.loads(out)
    assert (entry["actor"], entry["action"]) == ("(installation)", "chain.key_rotated")
    code, out, _ = _run("--db", str(database), "verify")
    assert (code, out.split(";")[0]) == (
        0,
        "ok: 2 transactions, hash chain intact (keyed from transaction 1), balances agree",
    )
    keys.rename(tmp_path / "moved.keys")
    code, out, _ = _run("--db", str(database), "verify")
    assert code == 1
    assert out.splitlines()[0] == (
        f"KEY: 账链密钥文件不存在：{keys} (no chain key file; `studio-ledger db upgrade` creates "
        "one for a new ledger, or set STUDIO_LEDGER_KEY_FILE to where it is kept)"
    )
    # db upgrade does not answer a missing key with a new one: the sealed chain needs its own
    code, _, err = _run("--db", str(database), "db", "upgrade")
    assert code == 1
    assert f"账簿已由账链密钥 {first['key_id']} 加封（至第 2 笔），但找不到密钥：{keys}" in err
    assert not keys.exists()
    monkeypatch.setenv("STUDIO_LEDGER_KEY_FILE", str(tmp_path / "moved.keys"))
    code, out, _ = _run("--db", str(database), "verify")
    assert code == 0


def test_a_ring_kept_in_the_environment_is_rotated_by_printing_it(engine: Engine) -> None:
    _fund(engine)
    code, _, err = _run("--db", _url(engine), "keys", "rotate")
    assert code == 2
    assert (
        "the ring comes from STUDIO_LEDGER_CHAIN_KEY: use `studio-ledger keys rotate --print`"
        in err
    )
    code, out, _ = _run("--db", _url(engine), "keys", "rotate", "--print")
    assert code == 0
    assert re.fullmatch(f"1:{'5e' * 32},3:[0-9a-f]{{64}}\n", out)


def test_balance_now_and_as_of_a_date(engine: Engine) -> None:
    _fund(engine)
    code, out, _ = _run("--db", _url(engine), "balance", FUND, "--json")
    assert code == 0
    assert json.loads(out) == {
        "address": FUND,
        "code": "271101",
        "name": "专项资金—财政拨款—HJ01",
        "normal_side": "贷",
        "as_of": None,
        "balance_fen": 2_487_655,
        "direction": "贷",
        "amount_fen": 2_487_655,
        "balance": "¥24,876.55",
    }
    code, out, _ = _run("--db", _url(engine), "balance", FUND, "--as-of", "2024-02-29")
    assert code == 0
    assert out.strip() == "271101 专项资金—财政拨款—HJ01  贷 ¥25,000.00（截至 2024-02-29）"
    code, out, _ = _run("--db", _url(engine), "balance", "source:finance")
    assert out.strip() == "1002 银行存款—旗财政拨入  借 ¥25,000.00"


def test_bad_input_is_refused_naming_the_field(engine: Engine) -> None:
    code, _, err = _run("--db", _url(engine), "balance", FUND, "--as-of", "2024-02-30")
    assert code == 2
    assert "--as-of 截至日期：不是日期，应写作 YYYY-MM-DD：'2024-02-30'" in err
    code, _, err = _run("--db", _url(engine), "balance", "studio:HJ01:fund:typo")
    assert code == 2
    assert "未知的科目地址 'studio:HJ01:fund:typo'" in err


def test_verify_names_the_first_broken_link(engine: Engine) -> None:
    _fund(engine)
    code, out, _ = _run("--db", _url(engine), "verify")
    assert code == 0
    assert out.startswith("ok: 2 transactions")
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER transactions_no_update"))
        else:
            connection.execute(text("ALTER TABLE transactions DISABLE TRIGGER USER"))
        connection.execute(text("UPDATE transactions SET memo = '改过的摘要' WHERE seq = 2"))
    code, out, _ = _run("--db", _url(engine), "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["broken_link"] == {
        "seq": 2,
        "voucher": "记-2024-03-0001",
        "reason": "存储的内容与其哈希不符",
    }


def test_a_ledger_restored_from_an_older_copy_fails_the_anchor_printed_before(
    engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a file copy is SQLite's backup; the truncation test covers PostgreSQL")
    _fund(engine)
    database = Path(str(engine.url.database))
    engine.dispose()
    shutil.copyfile(database, tmp_path / "older.db")  # last night's copy
    with UnitOfWork(engine) as uow:
        spent = Posting(FUND, "expense:materials:studio:HJ01", 500)
        book.post(uow.ledger, [NewTransaction("t", date(2024, 4, 1), "资料费", (spent,))])
        uow.commit()
    code, out, _ = _run("--db", _url(engine), "verify")
    printed = out.splitlines()[1].split()[1].rstrip(":")  # anchor 3:<hash>: keep it, …
    assert (code, printed.split(":")[0]) == (0, "3")
    engine.dispose()
    shutil.copyfile(tmp_path / "older.db", database)  # the copy is put back
    code, out, _ = _run("--db", _url(engine), "verify")
    assert code == 0  # consistent in itself
    code, out, _ = _run("--db", _url(engine), "verify", "--anchor", printed)
    assert code == 1
    assert "ANCHOR: 锚点 3：账簿中已没有第3笔交易，账簿被截断或回滚到更早的副本" in out
    code, _, err = _run("--db", _url(engine), "verify", "--anchor", "3:nothex")
    assert code == 2
    assert "锚点：应写作 SEQ:HASH" in err


def test_a_database_not_yet_migrated_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "new.db").touch()  # an empty file is an empty SQLite database
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, _, err = _run("--db", url, "verify")
    assert code == 1
    assert "run `studio-ledger db upgrade` first" in err
    code, out, _ = _run("--db", url, "db", "upgrade")
    assert code == 0
    code, out, _ = _run("--db", url, "verify")
    assert code == 0
    assert out.startswith("ok: 0 transactions")


def test_the_registry_commands_from_templates_to_entitlements(
    engine: Engine, tmp_path: Path
) -> None:
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "张会计", "--role", "clerk")[0] == 0
    clerk = ("--as", "张会计")
    code, out, _ = _run(*db, "import", "template", "roster", str(tmp_path / "t.xlsx"))
    assert (code, out.strip()) == (0, f"template for roster written to {tmp_path / 't.xlsx'}")

    def person(n: int, role: str, unit: str, joined: str = "2024-01-01") -> list[object]:
        first17 = f"15062519850101{n:03d}"
        return ["HJ-S01", f"教师{n}", first17 + id_check_digit(first17), role, unit, joined]

    studio = ["HJ-S01", "语文名师工作室", "名教师工作室", "第一中学", 2024, "正常"]
    members = [
        person(1, "主持人", "第一中学"),
        *(person(n, "成员", f"外校{n}") for n in range(2, 6)),
    ]
    roster = imports.fill_template(
        "roster", tmp_path / "roster.xlsx", {"工作室": [studio], "成员": members}
    )
    code, out, _ = _run(*db, "import", "roster", str(roster), *clerk)
    assert code == 0
    assert out.splitlines() == [
        "imported 6 roster rows from roster.xlsx: 11 changed",
        "提醒：HJ-S01：外校成员最少时4人，少于5人",
    ]
    code, out, _ = _run(*db, "import", "roster", str(roster), *clerk)
    assert (
        out.splitlines()[0]
        == "imported 6 roster rows from roster.xlsx: 0 changed (already imported)"
    )

    bad = imports.fill_template(
        "grades", tmp_path / "bad.xlsx", {"考核结果": [[2024, "HJ-S01", None, "很好"]]}
    )
    code, _, err = _run(*db, "import", "grades", str(bad), *clerk)
    assert code == 2
    assert "考核结果 第2行 等次(D列): 应为 优秀/合格/不合格 之一：'很好'" in err
    assert "未导入任何内容（共1个问题）" in err

    code, out, _ = _run(*db, "studios", "list", "--json")
    assert json.loads(out) == [
        {
            "code": "HJ-S01",
            "name": "语文名师工作室",
            "kind": "subject",
            "kind_label": "名教师工作室",
            "host_unit": "第一中学",
            "round": 1,
            "round_label": "第1轮",
            "cycle_start_year": 2024,
            "cycle_end_year": 2026,
            "status": "active",
            "status_label": "正常",
            "cancelled_on": None,
            "cancellation_cause": None,
            "cancellation_cause_label": None,
            "cancellation_reason": None,
            "current_people": 5,
        }
    ]

    code, out, _ = _run(*db, "units", "list", "--json")
    units = json.loads(out)
    assert units[-1] == {
        "code": f"U{len(units):06d}",
        "name": "第一中学",
        "matching_account": f"source:unit:U{len(units):06d}",
        "support_account": f"source:support:U{len(units):06d}",
    }
    code, out, _ = _run(*db, "units", "list")
    assert "第一中学" in out
    assert f"source:unit:U{len(units):06d}" in out

    code, out, _ = _run(*db, "appropriate", "--year", "2024", *clerk)
    assert out.strip() == (
        "2024 appropriation under policy 杭政办发〔2024〕2号: 1 studios funded, ¥50,000.00"
    )
    code, out, _ = _run(*db, "vouchers", "list", "--month", "2024-01", "--json")
    [listed] = json.loads(out)
    assert (listed["number"], listed["total_fen"], listed["postings"]) == (
        "记-2024-01-0001",
        5_000_000,
        2,
    )
    code, out, _ = _run(*db, "vouchers", "show", "记-2024-01-0001")
    assert code == 0
    assert "1002 银行存款" in out
    assert "伍万元整" in out
    code, out, _ = _run(*db, "vouchers", "show", "2024-01-0001", "--json")
    assert [(x["item"], x["debit_fen"]) for x in json.loads(out)["lines"]][:2] == [
        ("收支项目：旗财政拨入", 2_500_000),
        ("收支项目：教育基金拨入", 2_500_000),
    ]
    code, _, err = _run(*db, "vouchers", "show", "记-2024-01-0009")
    assert code != 0
    assert "凭证记-2024-01-0009不存在" in err
    assert _run(*db, "users", "add", "审计员", "--role", "auditor")[0] == 0
    trial = tmp_path / "科目余额表.xlsx"
    auditor = ("--as", "审计员")
    code, out, _ = _run(*db, "statements", "trial-balance", "--date", "2024-12-31",
                        "--out", str(trial), *auditor)  # fmt: skip
    assert out.strip().endswith("4 ledger accounts, 0 that never moved left out")
    code, out, _ = _run(*db, "statements", "trial-balance", "--date", "2024-12-31", "--all",
                        "--out", str(trial), *auditor)  # fmt: skip
    assert out.strip().endswith("4 ledger accounts, every one listed")
    code, out, _ = _run(*db, "appropriate", "--year", "2024", *clerk)
    assert out.strip().endswith("0 studios funded, ¥0.00; already funded: HJ-S01")

    code, out, _ = _run(*db, "entitlements", "--year", "2024", "--json")
    report = json.loads(out)
    assert report["total_fen"] == 0
    assert {line["held"] for line in report["lines"]} == {"缺少2024年度考核等次，暂缓发放"}
    grades = imports.fill_template(
        "grades", tmp_path / "grades.xlsx", {"考核结果": [[2024, "HJ-S01", None, "合格"]]}
    )
    assert _run(*db, "import", "grades", str(grades), *clerk)[0] == 0
    code, out, _ = _run(*db, "entitlements", "--year", "2024", "--json")
    report = json.loads(out)
    assert report["total_fen"] == 1_000_000 + 4 * 500_000
    assert report["lines"][0]["explanation"] == (
        "主持人，2024年1-12月在册12个月，等次合格(100%)：10,000.00×12/12=10,000.00"
    )


def test_an_admin_adds_a_new_years_policy_and_cannot_change_an_old_one(
    engine: Engine, tmp_path: Path
) -> None:
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "admin1", "--role", "admin")[0] == 0
    code, out, _ = _run(*db, "policy", "show", "--year", "2025")
    [current] = json.loads(out)
    assert (current["version"], current["member_stipend"]) == ("杭政办发〔2024〕2号", 500_000)
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {**current, "version": "2026调整", "year": 2026, "member_stipend": 600_000},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    code, out, _ = _run(*db, "policy", "add", str(path), "--as", "admin1")
    assert (code, out.strip()) == (0, "policy 2026调整 added; it governs 2026 onward")
    code, out, _ = _run(*db, "policy", "show", "--year", "2026")
    assert json.loads(out)[0]["member_stipend"] == 600_000
    code, out, _ = _run(*db, "policy", "show", "--json")
    assert [(p["version"], p["year"]) for p in json.loads(out)] == [
        ("杭政办发〔2024〕2号", 2024),
        ("2026调整", 2026),
    ]
    code, _, err = _run(*db, "policy", "add", str(path), "--as", "admin1")
    assert code == 2
    assert "政策版本“2026调整”已存在" in err
    path.write_text(
        json.dumps({**current, "version": "坏", "year": 2027, "grade_ratios": {"excellent": 120}}),
        encoding="utf-8",
    )
    code, _, err = _run(*db, "policy", "add", str(path), "--as", "admin1")
    assert code == 2
    assert "等次发放比例：须为每个等次给出0至100的整数百分比" in err


def test_the_batch_commands(tmp_path: Path, clock: Clock) -> None:
    clock.set(FULL_CYCLE)
    code, _, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    db = ("--db", f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    # separation of duties: an approver added by one admin waits for the other
    code, out, _ = _run(
        *db,
        *("users", "add", "新审核", "--role", "approver", "--as", "系统管理员"),
        *("--id-number", approver_id_number(50)),
    )
    assert "新审核 can do nothing until a second admin confirms" in out
    code, _, err = _run(*db, "batches", "approve", "1", "--as", "新审核")
    assert (code, "没有名为 '新审核' 的在用用户" in err) == (2, True)
    code, _, err = _run(*db, "users", "confirm", "新审核", "--as", "系统管理员")
    assert (code, "新审核 由 系统管理员 添加，须由另一位管理员确认" in err) == (2, True)
    code, out, _ = _run(*db, "users", "confirm", "新审核", "--as", "信息科管理员")
    assert out.strip() == "user 新审核 (approver) is confirmed by 信息科管理员 and active"
    code, _, err = _run(*db, "users", "add", "新经办", "--role", "clerk")
    assert (code, err.strip()) == (
        2,
        "拒绝：办理人：本系统已有管理员：用户须由管理员添加（--as ADMIN）",
    )
    code, out, _ = _run(*db, "users", "add", "新经办", "--role", "clerk", "--as", "系统管理员")
    lines = out.splitlines()
    assert lines[0] == "user 新经办 added as clerk（经办人）"
    assert lines[1].startswith("API token (shown once, keep it safe): sl_")
    code, out, _ = _run(*db, "users", "list", "--json", "--as", "系统管理员")
    listed = {u["name"]: u for u in json.loads(out)}
    assert (listed["新经办"]["role_label"], listed["新经办"]["disabled"]) == ("经办人", False)

    code, out, _ = _run(*db, "batches", "list", "--json")
    assert [(b["id"], b["state"], b["gross_fen"]) for b in json.loads(out)] == [
        (1, "closed", 84_708_333),
        (2, "closed", 500_000),
        (3, "closed", 4_000_000),  # the studio graded late: its 2024 stipends in February
        (4, "closed", 91_500_000),
        (5, "closed", 86_500_000),
    ]
    code, out, _ = _run(*db, "batches", "show", "2", "--json")
    shown = json.loads(out)
    assert shown["lines"][0]["reissue_of"] is not None
    assert [e["action"] for e in shown["events"]] == ["create", "approve", "confirm", "close"]
    created_at = shown["events"][0]["at"]  # ISO 8601, as the HTTP service sends it
    assert datetime.fromisoformat(created_at).tzinfo is not None  # UTC, written
    assert "T" in created_at

    code, _, err = _run(*db, "batches", "create", "--year", "2024", "--as", "新经办")
    assert code == 2
    assert "2024年度没有可发放的劳务补贴" in err
    code, _, err = _run(*db, "batches", "approve", "1", "--as", "新经办")
    assert (code, err.strip()) == (
        2,
        "拒绝：新经办 是经办人（clerk），无权执行 batch.approve：仅限审核人（approver）",
    )
    code, out, _ = _run(*db, "batches", "approve", "1", "--as", "李科长")
    assert (code, out.splitlines()) == (  # the totals added up without holding the lines
        0,
        [
            "批次 #1 状态为已关闭，无需再审批",
            "批次 #1 2024年 已关闭：154 人，应发 847,083.33 元，代扣税 135,256.67 元，"
            "实发 711,826.66 元；经办 张会计，审批 李科长、王局长（需 2 人审批）",
        ],
    )
    code, _, err = _run(*db, "batches", "confirm", "1", "--failed", "three", "--as", "赵出纳")
    assert code == 2
    assert "--failed 退回行：应写作 行号:原因" in err
    code, _, err = _run(*db, "batches", "approve", "1", "--as", "nobody")
    assert code == 2
    assert "没有名为 'nobody' 的在用用户" in err
    code, out, _ = _run(
        *db, "batches", "export", "1", "--out", str(tmp_path / "x"), "--as", "审计员"
    )
    assert out.splitlines() == [
        f"wrote {tmp_path / 'x' / 'batch-1-发放表.xlsx'}",
        "未生成批量代发文件：文件含完整银行账号，仅出纳可以导出",
    ]


def test_command_line_writes_are_audit_logged(tmp_path: Path, clock: Clock) -> None:
    clock.set(FULL_CYCLE)
    code, _, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    db = ("--db", f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    _run(*db, "users", "add", "经办2", "--role", "clerk", "--as", "系统管理员")
    _run(*db, "batches", "create", "--year", "2024", "--as", "经办2")  # refused: nothing to pay
    _run(*db, "batches", "close", "1", "--as", "李科长")  # refused: already closed
    _run(*db, "appropriate", "--year", "2027", "--as", "李科长")  # refused: not a clerk
    _run(*db, "appropriate", "--year", "2027", "--as", "经办2")
    # a closed batch's bank file, again for reconciliation: each file taken is an entry
    code, out, _ = _run(
        *db, "batches", "export", "2", "--out", str(tmp_path / "x"), "--as", "赵出纳"
    )
    assert out.splitlines() == [
        f"wrote {tmp_path / 'x' / 'batch-2-发放表.xlsx'}",
        f"wrote {tmp_path / 'x' / 'batch-2-批量代发.xlsx'}",
    ]
    engine = connect(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    with UnitOfWork(engine, write=False) as uow:
        entries = uow.audit.entries(0, 100)
    engine.dispose()
    assert [(e.action, e.object) for e in entries] == [
        ("user.add", "user:经办2"),
        ("appropriation.post", "appropriation:2027"),
        ("batch.roster", "batch:2"),
        ("batch.bank_file", "batch:2"),
    ]
    assert all(e.request_id.startswith("cli:") for e in entries)
    assert (entries[0].actor, entries[1].actor) == ("系统管理员", "经办2")
    assert entries[1].detail == {
        "command": "main appropriate",
        "params": {"year": "2027", "as_user": "经办2"},
        "login": getpass.getuser(),
    }


def test_a_write_that_loses_a_race_asks_to_try_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two roster imports at once can pick the same new person code; the loser is told."""
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "张会计", "--role", "clerk")[0] == 0

    def roster(path: Path, *numbers: int) -> Path:
        studio = ["HJ-S01", "语文名师工作室", "名教师工作室", "第一中学", 2024, "正常"]
        rows = []
        for n in numbers:
            first17 = f"15062519850101{n:03d}"
            role, unit = ("主持人", "第一中学") if n == 1 else ("成员", f"外校{n}")
            rows.append(
                ["HJ-S01", f"教师{n}", first17 + id_check_digit(first17), role, unit, "2024-01-01"]
            )
        return imports.fill_template("roster", path, {"工作室": [studio], "成员": rows})

    assert (
        _run(*db, "import", "roster", str(roster(tmp_path / "a.xlsx", 1, 2)), "--as", "张会计")[0]
        == 0
    )
    # What a concurrent import sees before the first one commits: no people yet.
    monkeypatch.setattr(SqlRegistryStore, "_last_person_number", lambda _self: 0)
    code, out, err = _run(
        *db, "import", "roster", str(roster(tmp_path / "b.xlsx", 3)), "--as", "张会计"
    )
    assert (code, out) == (75, "")
    assert err.strip() == "冲突：另一处同时更改了同一数据，没有写入任何内容，请重试"
    with UnitOfWork(engine) as uow:
        assert [s.code for s in uow.registry.studios()] == ["HJ-S01"]
        assert sorted(p.name for p in uow.registry.people()) == ["教师1", "教师2"]


def test_closing_periods_from_the_command_line(engine: Engine) -> None:
    _fund(engine)
    db = ("--db", _url(engine))
    id_number = approver_id_number(51)
    assert (
        _run(*db, "users", "add", "李科长", "--role", "approver", "--id-number", id_number)[0] == 0
    )
    assert _run(*db, "users", "add", "张会计", "--role", "clerk")[0] == 0
    code, _, err = _run(*db, "periods", "close", "2024-03", "--as", "张会计")
    assert (code, err.strip()) == (
        2,
        "拒绝：张会计 是经办人（clerk），无权执行 "
        "period.close：仅限审核人（approver）、管理员（admin）",
    )
    code, out, err = _run(*db, "periods", "close", "2024-03", "--as", "李科长")
    assert code == 0, err
    assert out.startswith("已结账 2024-01..2024-03，结账人 李科长；锚点 2:")
    code, out, _ = _run(*db, "periods", "list", "--json")
    listed = {x["period"]: x for x in json.loads(out)}
    assert listed["2024-03"] | {"closed_at": None} == {
        "period": "2024-03",
        "state": "closed",
        "label": "已结账",
        "year_end": False,
        "last_voucher": 1,
        "closed_by": "李科长",
        "closed_at": None,
    }
    assert listed["2024-03"]["closed_at"].endswith("+08:00")  # Beijing time
    assert listed["2024-04"]["state"] == "open"
    # a write dated in the closed months is refused, naming the period, and writes nothing
    code, _, err = _run(*db, "appropriate", "--year", "2024", "--as", "张会计")
    assert code == 2
    assert "拒绝：日期：2024年1月已结账" in err
    code, out, _ = _run(
        *db, "appropriate", "--year", "2024", "--on", "2024-04-01", "--as", "张会计"
    )
    assert (code, out.startswith("2024 appropriation under policy")) == (0, True)
    with UnitOfWork(engine, write=False) as uow:
        assert [e.action for e in uow.audit.entries(0, 10)] == [
            "user.add",
            "user.add",
            "period.close",
            "appropriation.post",
        ]


def test_money_users_jobs_and_the_audit_log_from_the_command_line(engine: Engine) -> None:
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "管理员", "--role", "admin")[0] == 0
    code, out, _ = _run(*db, "users", "add", "张会计", "--role", "clerk", "--as", "管理员")
    token = out.splitlines()[1].rsplit(" ", 1)[1]
    studio = Studio("HJ-S01", "语文名师工作室", "subject", "第一中学", 2024)
    with UnitOfWork(engine) as uow:
        roster_services.save_roster(uow, [studio], [], [], by="张会计")
        uow.commit()

    receipt = ("--on", "2024-03-01", "--studio", "HJ-S01", "--memo", "第一中学配套")
    code, out, err = _run(*db, "receipts", "add", *receipt, "--amount", "2,000", "--as", "张会计")
    assert (code, out.strip()) == (
        0,
        "receipt 记-2024-03-0001 2024-03-01 2,000.00 元: 第一中学配套",
    )
    code, out, _ = _run(*db, "receipts", "add", *receipt, "--amount", "2000", "--as", "张会计")
    assert out.splitlines()[-1] == "already recorded: nothing was posted again"
    code, _, err = _run(*db, "receipts", "add", *receipt, "--amount", "20.001", "--as", "张会计")
    assert (code, "--amount" in err) == (2, True)
    code, _, err = _run(
        *db, "expenses", "add", "--on", "2024-03-02", "--studio", "HJ-S01", "--source",
        "matching", "--category", "materials", "--amount", "500", "--memo", "资料",
        "--as", "管理员",
    )  # fmt: skip
    assert (code, "expense.record：仅限经办人（clerk）" in err) == (2, True)

    code, out, _ = _run(*db, "users", "token", "张会计", "--as", "管理员")
    assert out.startswith("new API token for 张会计 (shown once; the old one no longer works): sl_")
    with UnitOfWork(engine, write=False) as uow:
        assert uow.users.token_holder(token_hash(token)) is None
    code, out, _ = _run(*db, "users", "disable", "张会计", "--as", "管理员")
    assert out.strip() == "user 张会计 is disabled; their token no longer works"
    code, _, err = _run(*db, "receipts", "add", *receipt, "--amount", "1", "--as", "张会计")
    assert (code, "没有名为 '张会计' 的在用用户" in err) == (2, True)
    code, out, _ = _run(*db, "users", "list", "--as", "管理员", "--json")
    assert {u["name"]: u["disabled"] for u in json.loads(out)}["张会计"] is True

    code, _, err = _run(*db, "jobs", "list", "--as", "张会计")
    assert (code, "没有名为 '张会计' 的在用用户" in err) == (2, True)  # disabled: reads nothing
    code, out, _ = _run(*db, "jobs", "list", "--as", "管理员", "--json")
    schedules = {j["job"]: j["schedule"] for j in json.loads(out)}
    assert schedules["appropriation"] == "每年1月2日 09:00"
    assert (
        _run(*db, "jobs", "run", "integrity-check", "--date", "2024-12-31", "--as", "管理员")[0]
        == 0
    )
    code, out, _ = _run(*db, "jobs", "history", "--as", "管理员")
    ran = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d-\d\d:\d\d:\d\d（北京时间）"
    assert re.search(f"#1 integrity-check 2024-12-31 manual succeeded {ran}", out), out
    code, out, _ = _run(*db, "audit", "list", "--actor", "管理员", "--as", "管理员", "--json")
    assert [(e["action"], e["object"]) for e in json.loads(out)] == [
        ("user.add", "user:张会计"),
        ("user.token", "user:张会计"),
        ("user.disable", "user:张会计"),
        ("job.run", "job:integrity-check:2024-12-31"),
    ]
    code, out, _ = _run(*db, "audit", "list", "--action", "receipt", "--as", "管理员")
    assert "receipt.record" in out
    code, out, _ = _run(*db, "audit", "list", "--from", "2099-01-01", "--as", "管理员")
    assert out.strip() == "no audit entries match"


def test_tables_keep_every_amount_whole_at_80_columns(tmp_path: Path, clock: Clock) -> None:
    clock.set(FULL_CYCLE)
    code, _, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    db = ("--db", f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    result = CliRunner().invoke(main, [*db, "batches", "show", "1"], terminal_width=80)
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines if line.startswith(("│", "┃"))) <= 80
    assert any("│ 10,000.00 │ 1,600.00 │ 8,400.00 │" in line for line in lines)
    assert "…" not in result.stdout
    assert "李科长 approve: 草稿 → 草稿" in result.stdout  # states in Chinese
    assert "王局长 approve: 草稿 → 已审批" in result.stdout


def test_help_loads_no_command_module() -> None:
    script = (
        "import sys; from api.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('api.commands', 'ledger', "
        "'sqlalchemy', 'openpyxl', 'litestar'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert "batches" in done.stdout


def test_the_command_list_says_what_each_command_says_of_itself() -> None:
    """``--help`` lists each command without loading it: its line in ``COMMANDS`` is the
    command's own first line, Chinese first (issue 36)."""
    for name, (where, line) in COMMANDS.items():
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert (command.help or "").split("\n\n")[0].strip() == line, name
        assert "\u4e00" <= line[0] <= "\u9fff", name


def test_a_password_is_set_from_a_pipe_and_never_printed(engine: Engine) -> None:
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "管理员", "--role", "admin")[0] == 0
    assert _run(*db, "users", "add", "张会计", "--role", "clerk", "--as", "管理员")[0] == 0
    result = CliRunner().invoke(
        main,
        [*db, "users", "password", "张会计", "--as", "管理员"],
        input="correct horse battery\n",
    )
    assert (result.exit_code, result.stdout.strip()) == (0, "password set for 张会计")
    assert "correct horse" not in result.stdout + result.stderr
    with UnitOfWork(engine) as uow:
        assert users.check_password(uow, "张会计", "correct horse battery") is not None
        assert uow.users.password_hash("张会计").startswith("$argon2id$")  # type: ignore[union-attr]
    short = CliRunner().invoke(
        main, [*db, "users", "password", "张会计", "--as", "张会计"], input="short\n"
    )
    assert short.exit_code == 2
    assert "密码：至少12个字符" in short.stderr
    with UnitOfWork(engine, write=False) as uow:
        entries = uow.audit.entries(0, 10, action="user.password")
    assert [(e.actor, e.object) for e in entries] == [("管理员", "user:张会计")]


def test_serve_starts_workers_that_answer_from_the_database_given(engine: Engine) -> None:
    """``serve --workers 2``: the workers are separate processes, each building the app
    from the database given with ``--db``; a token issued before answers on both."""
    _fund(engine)
    with UnitOfWork(engine) as uow:
        token = users.add_user(uow, "auditor", "auditor", by=None)
        uow.commit()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [str(Path(sys.executable).parent / "studio-ledger"), "--db", _url(engine)]
    command += ["serve", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    balance = f"/api/v1/accounts/{FUND}/balance"
    try:
        for _ in range(100):
            try:
                replies = [_get(port, f"{balance}?as_of=2024-02-01", token)]
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not answer in 20 seconds")
        replies += [_get(port, balance, token) for _ in range(20)]
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert replies[0]["balance_fen"] == 2_500_000  # as of 1 Feb: before the March spend
    assert {r["balance_fen"] for r in replies[1:]} == {2_500_000 - 12_345}
    assert len(re.findall(r"Started server process \[\d+\]", log)) == 2, log


def test_forwarded_headers_are_believed_only_from_the_proxies_named(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--forwarded-allow-ips`` the client address is the connection's, whatever
    ``X-Forwarded-For`` says (uvicorn believes it from 127.0.0.1 by default)."""
    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **options: started.append(options))
    monkeypatch.delenv("DATABASE_URL", raising=False)  # serve sets it for its workers
    assert _run("--db", _url(engine), "serve")[0] == 0
    assert _run("--db", _url(engine), "serve", "--forwarded-allow-ips", "10.0.0.2")[0] == 0
    chosen = [(o["proxy_headers"], o["forwarded_allow_ips"]) for o in started]
    assert chosen == [(False, None), (True, "10.0.0.2")]


def _get(port: int, path: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
        found: dict[str, object] = json.loads(reply.read())
        return found


def test_the_cycle_commands_on_the_demos_cycle(tmp_path: Path, clock: Clock) -> None:
    clock.set(FULL_CYCLE)
    code, _, err = _run("demo", "--out", str(tmp_path / "demo"))
    assert code == 0, err
    db = ("--db", f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    code, out, _ = _run(*db, "cycles", "list", "--json")
    cycles = {(c["studio"], c["number"]): c for c in json.loads(out)}
    assert len(cycles) == 22 + 4  # every studio's first cycle, and the four renewed
    assert (cycles[("HJ-S15", 1)]["closed_on"], cycles[("HJ-S15", 1)]["outcome"]) == (
        "2025-01-10",
        "cancelled",
    )
    assert cycles[("HJ-S12", 1)]["outcome_label"] == "不再命名"
    assert cycles[("HJ-S12", 1)]["final_grade_label"] == "不合格"
    assert [cycles[("HJ-H01", n)]["state"] for n in (1, 2)] == ["closed", "open"]
    assert cycles[("HJ-H01", 1)]["outcome"] == "renewed"
    first = cycles[("HJ-S01", 1)]
    assert (first["state"], first["outcome"], first["voucher"]) == (
        "closed",
        "may_renew",
        first["voucher"],
    )
    assert first["returned_fen"]["support"] == 240_000
    code, out, _ = _run(*db, "cycles", "list", "--studio", "HJ-S01")
    assert "HJ-S01 │ 1 2024-2026 │ 已结算 │ 合格 │ 33,960.00 │ 可继续命名" in out
    assert "可继续命名" in out

    code, _, err = _run(*db, "cycles", "close", "HJ-S01", "--on", "2027-02-01", "--as", "李科长")
    assert (code, "HJ-S01 没有未结算的周期（各周期均已结算）" in err) == (2, True)
    code, _, err = _run(
        *db, "cycles", "renew", "HJ-S12", "--on", "2027-01-20", "--as", "系统管理员"
    )
    assert (code, "HJ-S12 已于2027-01-10撤销，不能继续命名" in err) == (2, True)
    code, _, err = _run(*db, "cycles", "renew", "HJ-S01", "--on", "2027-01-20", "--as", "张会计")
    assert (code, "cycle.renew：仅限管理员（admin）" in err) == (2, True)
    code, out, _ = _run(
        *db, "cycles", "renew", "HJ-S01", "--on", "2027-01-20", "--as", "系统管理员"
    )
    assert out.splitlines() == [
        "HJ-S01 renamed: 第2周期（2027-2029）",
        "  2027 appropriation posted: ¥50,000.00",
    ]
    # no budget for a year that has not begun; in 2028, the renamed studios' budget
    # waits for their 2027 grades
    code, _, err = _run(*db, "appropriate", "--year", "2028", "--as", "张会计")
    assert (code, "拒绝：年度：2028年尚未开始（今天是2027-02-01）" in err) == (2, True)
    clock.set(date(2028, 1, 2))
    code, out, _ = _run(*db, "appropriate", "--year", "2028", "--as", "张会计")
    assert out.splitlines()[0].startswith("2028 appropriation under policy 杭政办发〔2024〕2号: 0")
    held = [line for line in out.splitlines() if line.startswith("held: ")]
    assert held == [
        f"held: {code}: 2027年度考核结果未录入，暂缓拨付"
        for code in ("HJ-H01", "HJ-H05", "HJ-S01", "HJ-S04", "HJ-S08")
    ]
    code, out, _ = _run(*db, "funding", "list", "--year", "2025", "--json")
    [decision] = json.loads(out)
    assert (decision["studio"], decision["percent"], decision["decided_by"]) == (
        "HJ-H05",
        100,
        "系统管理员",
    )
    code, out, _ = _run(*db, "studios", "list", "--json")
    listed = {s["code"]: s for s in json.loads(out)}
    assert (listed["HJ-S12"]["cancellation_cause_label"], listed["HJ-S12"]["cancelled_on"]) == (
        "考核不合格不再命名",
        "2027-01-10",
    )
    assert (listed["HJ-S15"]["cancellation_cause_label"], listed["HJ-S01"]["cycle_end_year"]) == (
        "调离本旗",
        2029,
    )
    engine = connect(f"sqlite:///{tmp_path / 'demo' / 'demo.db'}")
    with UnitOfWork(engine, write=False) as uow:
        entries = uow.audit.entries(0, 100)
    engine.dispose()
    assert [(e.action, e.object) for e in entries][-2:] == [
        ("cycle.renew", "cycle:HJ-S01:2"),
        ("appropriation.post", "appropriation:2028"),
    ]


def test_the_audit_log_keeps_an_id_number_masked(engine: Engine) -> None:
    """`users add … --id-number` is audit-logged with its parameters: the number masked."""
    db = ("--db", _url(engine))
    assert _run(*db, "users", "add", "管理员", "--role", "admin")[0] == 0
    whole = approver_id_number(40)
    code, _, err = _run(
        *db, "users", "add", "钱科长", "--role", "approver", "--id-number", whole, "--as", "管理员"
    )
    assert code == 0, err
    code, out, _ = _run(*db, "audit", "list", "--action", "user", "--as", "管理员", "--json")
    [added] = [e for e in json.loads(out) if e["object"] == "user:钱科长"]
    # masked, and followed by its pseudonym: a keyed hash that matches entries on one person
    known = pseudonym(whole, pseudonym_key(key_source(engine.url).load()))
    assert added["detail"]["params"]["id_number"] == f"{whole[:6]}********{whole[-4:]}#{known}"
    assert whole not in out
