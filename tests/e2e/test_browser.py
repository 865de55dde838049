"""A year in the console, in a real browser (Playwright driving Debian's Chromium).

The people of the program walk the year's payout as they would: the clerk
prepares the batch and cannot approve it; two approvers approve it; the cashier
(出纳) records the bank's answer with one return; the clerk reissues that line and
it is approved and paid; an auditor downloads the statements. A wrong password, an
expired session and a form without its CSRF token are refused.

A screenshot of every page is saved under ``screenshots/console/`` (gitignored)
for a person to look at (the manual's own are ``test_manual_screens.py``'s).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import uvicorn
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update

from api.app import Settings, create_app
from api.console.auth import ConsoleSettings
from demo.story import bank_answer
from ledger.books.postings import utc_now
from schema.db import connect
from schema.tables import BatchLineRow, ConsoleSessionRow, PersonRow
from tests.conftest import Clock
from tests.e2e.console_helpers import PASSWORD, add_people, fund_a_year

pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENS = Path(__file__).resolve().parents[2] / "screenshots" / "console"
ARGS = [  # as root, in a sandbox with no network beyond this machine
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHINESE: Final = {"LANGUAGE": "zh_CN:zh"}
"""The browser's own words (date fields, file pickers) in Chinese, as the office sees
them: Debian's chromium-l10n, chosen by the environment (its --lang is not enough)."""


@pytest.fixture
def server(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[tuple[str, Engine]]:
    """The app on a real port over a fresh SQLite file, with a funded year, on 28 December
    2025 (the payout's days are never after today)."""
    clock.set(date(2025, 12, 28))
    path = tmp_path / "ledger.db"
    shutil.copyfile(sqlite_template, path)
    engine = connect(f"sqlite:///{path}")
    tokens = add_people(engine)
    with serving(f"sqlite:///{path}", engine) as base:
        with httpx.Client(base_url=base) as client:
            fund_a_year(client, tokens)
        yield base, engine
    engine.dispose()


@contextmanager
def serving(url: str, engine: Engine) -> Iterator[str]:
    """The app over ``url`` (through ``engine``) under uvicorn in a thread, on a free port
    of this machine; its address."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(url, ConsoleSettings()), engine)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser tests but Chromium is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=ARGS, env={**os.environ, **CHINESE}
        )
        yield launched
        launched.close()


def _workbook(download: object) -> Any:
    """A downloaded workbook, opened (Playwright names the saved file without .xlsx)."""
    return load_workbook(BytesIO(Path(download.path()).read_bytes()))  # type: ignore[attr-defined]


class Person:
    """One person at their own browser (a context of their own: cookies apart)."""

    def __init__(self, browser: object, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
        )
        self.page = self.context.new_page()
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.outside: list[str] = []
        self.page.on(
            "request",
            lambda r: None if r.url.startswith(base) else self.outside.append(r.url),
        )

    def sign_in(self, password: str = PASSWORD) -> None:
        page = self.page
        page.goto(self.base + "/")
        page.get_by_label("用户名").fill(self.name)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def press(self, label: str) -> None:
        self.page.get_by_role("button", name=label, exact=True).click()
        self.page.wait_for_load_state()

    def flash(self) -> str:
        return " ".join(self.page.locator(".flash").all_inner_texts())

    def shot(self, name: str, *, full: bool = False) -> None:
        SCREENS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=full)

    def sign_out(self) -> None:
        self.press("退出")
        assert "您已安全退出" in self.page.content()
        assert self.outside == [], f"pages loaded {self.outside}"
        self.context.close()


def test_a_year_in_the_console(
    server: tuple[str, Engine], browser: object, clock: Clock, tmp_path: Path
) -> None:
    base, engine = server

    # the clerk prepares the batch, and is offered no approval of it
    clerk = Person(browser, base, "张会计")
    clerk.go("/")
    clerk.shot("01-login")
    clerk.sign_in("wrong password")
    assert "用户名或密码错误" in clerk.flash()
    clerk.sign_in()
    assert clerk.page.url == base + "/console"
    clerk.go("/console/batches")
    clerk.page.get_by_label("年度").first.fill("2025")
    clerk.page.get_by_label("准备日期").fill("2025-12-20")
    clerk.press("准备发放批次")
    assert "已准备批次 #1：12 人" in clerk.flash()
    assert clerk.page.url == base + "/console/batches/1"
    clerk.shot("02-batch-prepared", full=True)
    assert clerk.page.get_by_role("button", name="审批通过").count() == 0
    # …and the server refuses it anyway, should the form be forged
    with clerk.page.expect_navigation():
        clerk.page.evaluate(
            """() => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/console/batches/1/approve";
            form.append(document.querySelector("input[name=_csrf_token]").cloneNode());
            document.body.append(form);
            form.submit();
        }"""
        )
    assert "无权办理" in clerk.page.content()
    clerk.shot("03-clerk-refused")
    clerk.go("/console/batches")
    clerk.shot("04-batches")
    clerk.sign_out()

    # two approvers approve it
    for n, name in enumerate(("李科长", "王局长"), start=1):
        approver = Person(browser, base, name)
        approver.sign_in()
        assert "#1" in approver.page.locator("section", has_text="等待我办理的批次").inner_text()
        if n == 1:
            approver.shot("05-home-approver", full=True)
        approver.page.get_by_role("link", name="#1").first.click()
        assert f"{n - 1} / 2" in approver.page.locator(".progress").inner_text()
        # whom the batch pays, whole, and what it leaves in each studio's fund
        first = approver.page.locator("table.lines tbody tr").first.inner_text().split("\t")
        assert first[1:5] == ["教师0", "150625199001010002", "中国农业银行", "6228480000000000000"]
        assert first[12:14] == ["50,000.00", "40,000.00"]
        subtotals = approver.page.locator("table.funds tr.subtotal").all_inner_texts()
        assert subtotals == ["小计\t50,000.00\t35,000.00\t15,000.00"] * 2
        if n == 1:  # a form whose CSRF token was taken out is refused and changes nothing
            approver.page.evaluate(
                "document.querySelectorAll('input[name=_csrf_token]').forEach(e => e.remove())"
            )
            approver.press("审批通过")
            assert "表单已失效" in approver.page.content()
            approver.shot("05b-csrf-refused")
            approver.go("/console/batches/1")
            assert "0 / 2" in approver.page.locator(".progress").inner_text()
        approver.press("审批通过")
        assert f"{n} / 2" in approver.page.locator(".progress").inner_text()
        approver.shot(f"06-approved-by-{n}", full=True)
        if n == 1:
            assert approver.page.get_by_role("button", name="审批通过").count() == 0
            approver.sign_out()
    assert "已审批" in approver.page.locator(".state.big").inner_text()

    # the roster gives line 3's payee a new account after the approval: the line warns,
    # and the bank file still pays the account approved
    with engine.begin() as connection:
        code, approved_account = connection.execute(
            select(PersonRow.code, PersonRow.bank_account)
            .join(BatchLineRow, BatchLineRow.person_code == PersonRow.code)
            .where(BatchLineRow.batch_id == 1, BatchLineRow.number == 3)
        ).one()
        connection.execute(
            update(PersonRow).where(PersonRow.code == code).values(bank_account="6217000000000099")
        )
    approver.go("/console/batches/1")
    third = approver.page.locator("table.lines tbody tr").nth(2).inner_text()
    assert "花名册已变更：银行账号" in third
    assert "本行仍按审批时的信息发放" in third
    approver.shot("06b-roster-changed-after-approval", full=True)
    assert approver.page.get_by_role("button", name="下载批量代发文件", exact=True).count() == 0
    assert approver.page.get_by_role("button", name="确认支付").count() == 0
    approver.sign_out()

    # the 出纳 sends the bank its file; the bank returned line 3
    cashier = Person(browser, base, "孙出纳")
    cashier.sign_in()
    cashier.go("/console/batches/1")
    page = cashier.page
    assert "花名册已变更：银行账号" in page.locator("table.lines tbody tr").nth(2).inner_text()
    with page.expect_download() as bank:
        page.get_by_role("button", name="下载批量代发文件", exact=True).click()
    assert bank.value.suggested_filename == "batch-1-批量代发.xlsx"
    rows = list(_workbook(bank.value).active.iter_rows(values_only=True))
    assert any("教师" in str(cell) for row in rows for cell in row)
    accounts = [row[1] for row in rows[4:-2]]
    assert approved_account in accounts
    assert "6217000000000099" not in accounts
    # the bank's result file: every row paid but line 3's; one forged amount first
    sent = tmp_path / "批量代发.xlsx"
    bank.value.save_as(sent)
    forged = load_workbook(bank_answer(sent, tmp_path / "假.xlsx", {}))
    forged.active["D5"] = 1.0
    forged.save(tmp_path / "假.xlsx")
    page.set_input_files("#results-file", tmp_path / "假.xlsx")
    page.get_by_label("银行付款日期").fill("2025-12-28")
    cashier.press("读入银行结果")
    assert "第5行 金额：1.00 元与发出的" in cashier.flash()
    assert "已审批" in page.locator(".state.big").inner_text()  # nothing was read
    result = bank_answer(sent, tmp_path / "银行结果.xlsx", {3: "账户已销户"})
    page.set_input_files("#results-file", result)
    page.get_by_label("银行付款日期").fill("2025-12-28")
    cashier.shot("07-bank-results", full=True)
    cashier.press("读入银行结果")
    assert "已读入银行结果：成功 11 笔 54,600.00 元，银行退回 1 笔 4,200.00 元" in cashier.flash()
    assert "部分发放" in page.locator(".state.big").inner_text()
    assert "退回：账户已销户" in page.locator("table.lines tbody tr").nth(2).inner_text()
    tally = page.locator("table.reconciliation").inner_text()
    assert "尚未对平" in tally
    assert "11 笔\n¥54,600.00" in tally  # succeeded: all but line 3's 4,200.00
    cashier.sign_out()

    # the clerk reissues the returned line; an approver approves and pays it
    clerk = Person(browser, base, "张会计")
    clerk.sign_in()
    clerk.go("/console/batches/1")
    clerk.press("重新发放")
    assert "已准备重新发放批次 #2：1 人" in clerk.flash()
    clerk.sign_out()
    approver = Person(browser, base, "李科长")
    approver.sign_in()
    approver.go("/console/batches/2")
    approver.press("审批通过")
    assert "已审批" in approver.page.locator(".state.big").inner_text()
    approver.sign_out()
    cashier = Person(browser, base, "孙出纳")
    cashier.sign_in()
    cashier.go("/console/batches/2")
    assert cashier.page.get_by_label("支付日期").input_value() == "2025-12-28"  # today, shown
    cashier.press("确认支付")
    assert "已发放" in cashier.page.locator(".state.big").inner_text()
    cashier.shot("08-reissue-paid", full=True)
    cashier.sign_out()
    approver = Person(browser, base, "李科长")
    approver.sign_in()
    approver.go("/console/batches/1")
    approver.press("关闭")
    assert "已关闭" in approver.page.locator(".state.big").inner_text()
    approver.sign_out()
    # closed: the bank file stays available to the cashier to reconcile, as a copy
    cashier = Person(browser, base, "孙出纳")
    cashier.sign_in()
    cashier.go("/console/batches/1")
    assert cashier.page.get_by_role("button", name="下载批量代发文件（对账副本）").count() == 1
    # December is declared and, once it is over, its tax paid over
    cashier.go("/console/tax")
    cashier.page.locator("#wh-month").fill("2025-12")
    cashier.page.locator("#remit-month").fill("2025-12")
    cashier.shot("09a-tax")
    with cashier.page.expect_download() as declared:
        cashier.page.get_by_role("button", name="下载扣缴申报表").click()
    assert declared.value.suggested_filename == "2025-12-扣缴个人所得税报告表.xlsx"
    rows = list(_workbook(declared.value).active.iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    cashier.press("缴纳")
    assert "2025年12月尚未结束" in cashier.flash()
    cashier.sign_out()
    clock.set(date(2026, 1, 8))
    cashier = Person(browser, base, "孙出纳")
    cashier.sign_in()
    cashier.go("/console/tax")
    cashier.page.locator("#remit-month").fill("2025-12")
    cashier.press("缴纳")
    assert f"已缴纳2025年12月代扣个人所得税 ¥{total[11]:,.2f}" in cashier.flash()
    # after 退出, the back button shows nothing personal: no page was kept (no-store)
    cashier.go("/console/batches/1")
    whole = re.search(r"150625\d{11}[\dX]", cashier.page.content())
    assert whole is not None  # the cashier reads whole 身份证号
    cashier.press("退出")
    cashier.page.go_back()
    cashier.page.wait_for_load_state()
    assert whole.group(0) not in cashier.page.content()
    assert cashier.page.get_by_role("button", name="登录").count() == 1
    cashier.context.close()

    # the auditor downloads the statements and reads the audit log
    auditor = Person(browser, base, "审计员")
    auditor.sign_in()
    auditor.go("/console/statements")
    auditor.page.locator("#summary-year").fill("2025")
    auditor.page.locator("#ledger-year").fill("2025")
    auditor.shot("09-statements")
    with auditor.page.expect_download() as summary:
        auditor.page.get_by_role("button", name="下载汇总表").click()
    assert summary.value.suggested_filename == "2025-专项资金收支汇总表.xlsx"
    sheet = _workbook(summary.value).active
    assert any("审计员" in str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    with auditor.page.expect_download() as ledger:
        auditor.page.get_by_role("button", name="下载明细账").click()
    assert ledger.value.suggested_filename == "2025-专项资金明细账.xlsx"
    auditor.page.get_by_label("显示全部（含零余额）").check()
    with auditor.page.expect_download() as trial:
        auditor.page.get_by_role("button", name="下载科目余额表").click()
    workbook = _workbook(trial.value)
    assert workbook.sheetnames == ["科目余额表", "辅助余额表"]
    notes = [r[0] for r in workbook["科目余额表"].iter_rows(values_only=True) if r[0]]
    assert "含期初、本期、期末均为零的科目和项目。" in notes
    auditor.go("/console/audit?action=batch")
    done = auditor.page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert done == [  # newest first, each action in words beside its code
        "关闭批次 batch.close",
        "确认支付 batch.confirm",
        "审批通过 batch.approve",
        "重新发放 batch.reissue",
        "读入银行结果 batch.results",  # the bank's answer (the forged file was refused)
        "下载批量代发文件 batch.bank_file",  # the cashier took the bank file
        "审批通过 batch.approve",
        "审批通过 batch.approve",
        "准备批次 batch.create",
    ]
    with auditor.page.expect_download() as exported:
        auditor.page.get_by_role("button", name="导出 Excel").click()
    rows = list(_workbook(exported.value).active.iter_rows(values_only=True))
    assert rows[2][3:5] == ("事项", "代码")
    assert [r[4] for r in rows[3:]] == [d.split()[1] for d in done]
    with auditor.page.expect_download() as exported:
        auditor.page.get_by_role("button", name="导出 CSV").click()
    lines = Path(exported.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("编号,时间（北京时间）,办理人,事项,代码")
    assert len(lines) == 1 + len(done)
    auditor.go("/console/audit?action=audit")
    assert auditor.page.locator("tbody tr td:nth-child(4)").all_inner_texts() == [
        "导出审计日志 audit.export",
        "导出审计日志 audit.export",
    ]
    auditor.shot("10-audit", full=True)
    # the auditor finds a person by the last four of their 身份证号, and their studio
    auditor.go("/console/people")
    auditor.page.get_by_label("搜索").fill("0002")
    auditor.press("搜索")
    auditor.page.get_by_role("link", name="教师0").click()
    assert auditor.page.locator("table.months tbody").inner_text().split("\t") == [
        "2025-12", "1", "10,000.00", "1,600.00", "0.00", "8,400.00"
    ]  # fmt: skip
    auditor.shot("12b-person", full=True)
    auditor.page.get_by_role("link", name="HJ-S01").first.click()
    assert "教师0" in auditor.page.locator("table.members").inner_text()
    auditor.shot("12c-studio", full=True)
    # …and a voucher by a payee's name, straight to its page
    auditor.go("/console/vouchers?month=2025-12")
    auditor.page.get_by_label("搜索").fill("教师2")
    auditor.press("搜索")
    memos = auditor.page.locator("tbody td.text").all_inner_texts()
    assert memos, "the payee's lines are found"
    assert all("批次#" in m for m in memos), memos
    auditor.page.locator("tbody a").first.click()
    assert "教师2" in auditor.page.locator("main").inner_text()
    auditor.shot("12d-voucher-found", full=True)
    for path, name in (
        ("/console/studios", "11-studios"),
        ("/console/people", "12-people"),
        ("/console/jobs", "13-jobs"),
    ):
        auditor.go(path)
        auditor.shot(name)
    auditor.go("/console/batches/1")
    auditor.page.emulate_media(media="print")
    auditor.shot("14-batch-printed", full=True)
    auditor.page.emulate_media(media="screen")
    # the auditor changes their own password from the header (at a phone's width too)
    auditor.page.get_by_role("link", name="修改密码").click()
    auditor.page.set_viewport_size({"width": 390, "height": 844})
    auditor.shot("14b-password-390", full=True)
    auditor.page.set_viewport_size({"width": 1366, "height": 768})
    auditor.page.get_by_label("当前密码").fill(PASSWORD)
    auditor.page.get_by_label("新密码", exact=True).fill("a quiet river at dawn")
    auditor.page.get_by_label("再次输入新密码").fill("a quiet river at dawn")
    auditor.press("修改密码")
    assert "密码已修改" in auditor.flash()
    auditor.shot("14c-password-changed")
    auditor.sign_out()

    # an admin's pages
    admin = Person(browser, base, "系统管理员")
    admin.sign_in()
    admin.go("/console/users")
    admin.shot("15-users")
    admin.go("/console")
    admin.shot("16-home-admin", full=True)

    # a session idle past its timeout is over
    with engine.begin() as connection:
        connection.execute(
            update(ConsoleSessionRow).values(expires_at=utc_now() - timedelta(seconds=1))
        )
    admin.go("/console/users")
    assert "会话已过期，请重新登录" in admin.page.content()
    assert admin.page.get_by_role("button", name="登录").count() == 1
    admin.shot("17-expired")
    admin.context.close()
