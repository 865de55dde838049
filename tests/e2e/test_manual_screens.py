"""The manual's screenshots, taken in a real browser on the demo's data (issue 36).

The demo plays the program's cycle up to 10 December 2026; the office then walks the
rest of December in Chromium, day by day, as its people would: the clerk imports the
year's grades (15 December) and prepares the payout (20 December), two approvers approve
it (23 December, one of them on a phone), the cashier sends the bank its file and reads
its answer (25 December) and pays December's tax over (12 January 2027); the auditor and
the admin look round. Every run takes every page the manual shows, into the gitignored
``screenshots/manual/`` for a person to look at; one command takes them again into the
manual's own ``docs/screenshots/`` (not at every run: a page that shows a time of day
would change the committed pictures each time)::

    STUDIO_LEDGER_RETAKE_MANUAL=1 .venv/bin/pytest tests/e2e/test_manual_screens.py

A second test, without a browser, holds the manual to the screens this module takes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final

import pytest
from sqlalchemy import Engine

from demo import story as demo
from ledger import users
from ledger.registry import roster_services
from ledger.registry.policy import GRADE_LABELS
from ledger.workbooks.imports import fill_template
from schema.db import UnitOfWork, connect
from tests.conftest import Clock
from tests.e2e.console_helpers import PASSWORD
from tests.e2e.test_browser import Person, playwright_api, serving
from tests.e2e.test_browser import browser as browser  # noqa: PLC0414 (the fixture)

ROOT: Final = Path(__file__).resolve().parents[2]
DOCS: Final = ROOT / "docs"
MANUAL_SHOTS: Final = DOCS / "screenshots"
SHOTS: Final = (
    MANUAL_SHOTS
    if os.environ.get("STUDIO_LEDGER_RETAKE_MANUAL")
    else ROOT / "screenshots" / "manual"
)
"""Where a run writes the screens: the manual's folder only when asked to retake them."""
SCREENS: Final = (
    "login",
    "home-clerk",
    "imports",
    "receipts",
    "expenses",
    "batch-prepared",
    "home-approver",
    "batch-approve",
    "phone-home",
    "phone-batch",
    "batch-approved",
    "batch-cashier",
    "batch-results",
    "tax",
    "vouchers",
    "voucher",
    "statements",
    "audit",
    "users",
    "periods",
    "jobs",
    "studios",
)
"""Every screenshot the manual may show, ``docs/screenshots/NAME.png``, in the order taken."""

YEAR: Final = demo.LAST_YEAR  # 2026, the cycle's last year: its December is still to come
DEMO_DAY: Final = date(YEAR, 12, 10)
PEOPLE: Final = (
    demo.CLERK,
    demo.FIRST_APPROVER,
    demo.SECOND_APPROVER,
    demo.CASHIER,
    demo.AUDITOR,
    demo.ADMIN,
    demo.SECOND_ADMIN,
)
PHONE: Final = {"width": 390, "height": 844}


@pytest.fixture
def office(tmp_path: Path, clock: Clock) -> Iterator[tuple[str, Engine]]:
    """The demo played to 10 December 2026 on a fresh SQLite file, each of its people
    given a console password, and the app serving it on a real port."""
    clock.set(DEMO_DAY)
    result = demo.run(tmp_path / "demo")
    assert [(step.day, step.what) for step in result.later[:1]] == [
        (date(YEAR, 12, 15), f"录入{YEAR}年度考核结果（周期终结性考核）")
    ]
    engine = connect(f"sqlite:///{result.database}")
    with UnitOfWork(engine) as uow:
        for name in PEOPLE:
            users.set_password(uow, name, PASSWORD, by=name)
        uow.commit()
    with serving(f"sqlite:///{result.database}", engine) as base:
        yield base, engine
    engine.dispose()


MAX_HEIGHT: Final = 1600
"""The tallest screenshot the manual shows, in pixels."""


class Operator(Person):
    """A person of the office whose screens go to the manual (``docs/screenshots/``),
    each named in :data:`SCREENS` and taken once."""

    def __init__(self, browser: object, base: str, name: str, taken: list[str]) -> None:
        super().__init__(browser, base, name)
        self.taken = taken

    def shot(self, name: str, *, full: bool = False, ending: Any = None) -> None:
        """``name``: the viewport, or the ``full`` page up to :data:`MAX_HEIGHT` from its
        top — or, ``ending`` with an element, the part of the page that ends with it (a
        voucher of 300 lines is shown by its last lines, signatures and originals)."""
        assert name in SCREENS, f"{name} is not one of the manual's screens"
        assert name not in self.taken, f"{name} was taken twice"
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        if full:
            # the whole page, but no taller than a reader follows: a batch of 153 lines is
            # 14,000 pixels; its head (summary, buttons, funds) is what the manual explains
            height = int(self.page.evaluate("document.documentElement.scrollHeight"))
            width = int(self.page.evaluate("document.documentElement.scrollWidth"))
            top = 0
            if ending is not None:
                box = ending.bounding_box()
                scrolled = int(self.page.evaluate("window.scrollY"))
                top = max(0, int(box["y"] + scrolled + box["height"]) + 16 - MAX_HEIGHT)
            clip = {"x": 0, "y": top, "width": width, "height": min(height - top, MAX_HEIGHT)}
            self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=clip)
        else:
            self.page.screenshot(path=str(SHOTS / f"{name}.png"))
        self.taken.append(name)

    def heading(self, words: str) -> None:
        """The page is the one meant: its heading holds ``words``."""
        assert words in self.page.locator("h1").first.inner_text()

    def rows(self, table: str = "main table") -> int:
        """How many rows the first ``table`` on the page has; at least one."""
        count: int = self.page.locator(table).first.locator("tbody tr").count()
        assert count > 0, f"{self.page.url}: {table} has no rows"
        return count


def _grades(engine: Engine, path: Path) -> Path:
    """The 2026 grades workbook as the clerk fills it in: every studio still running
    graded as the demo grades it (every fourth 优秀, one 不合格 at the cycle's end)."""
    with UnitOfWork(engine, write=False) as uow:
        codes = [s.code for s in roster_services.studios(uow) if s.cancelled_on is None]
    assert len(codes) == 21  # the demo's 22 studios, but the one cancelled in 2024

    def grade(index: int, code: str) -> str:
        if code == demo.NOT_RENAMED:
            return GRADE_LABELS["unqualified"]
        return GRADE_LABELS["excellent" if index % 4 == 0 else "qualified"]

    rows = [[YEAR, code, None, grade(i, code)] for i, code in enumerate(codes)]
    return fill_template("grades", path, {"考核结果": rows})


@pytest.mark.slow
def test_the_manual_screens_from_the_demo(
    office: tuple[str, Engine], browser: object, clock: Clock, tmp_path: Path
) -> None:
    base, engine = office
    taken: list[str] = []
    expect = playwright_api.expect

    # 15 December: the clerk's pages, and the year's grades imported through 导入
    clock.set(date(YEAR, 12, 15))
    clerk = Operator(browser, base, demo.CLERK, taken)
    clerk.go("/")
    assert clerk.page.get_by_role("button", name="登录").count() == 1
    clerk.shot("login")
    clerk.sign_in()
    assert clerk.page.url == base + "/console"
    clerk.heading(f"{YEAR} 年度概况")
    clerk.rows("table")
    clerk.shot("home-clerk", full=True)
    clerk.go("/console/imports")
    clerk.heading("导入")
    assert clerk.page.locator("form[id^=import-]").count() == 4
    clerk.shot("imports", full=True)
    clerk.page.set_input_files("#file-grades", _grades(engine, tmp_path / "考核结果.xlsx"))
    clerk.page.get_by_role("button", name="导入考核结果").click()
    expect(clerk.page.locator(".flash.success")).to_contain_text(
        "已导入考核结果：考核结果.xlsx 共 21 行"
    )
    for path, words in (("/console/receipts", "收款"), ("/console/expenses", "支出")):
        clerk.go(path)
        clerk.heading(words)
        assert clerk.page.locator("main form").count() > 0
        clerk.shot(path.rsplit("/", 1)[1], full=True)
    clerk.sign_out()

    # 20 December: the clerk prepares the year's payout
    clock.set(date(YEAR, 12, 20))
    clerk = Operator(browser, base, demo.CLERK, taken)
    clerk.sign_in()
    clerk.go("/console/batches")
    clerk.page.get_by_label("年度").first.fill(str(YEAR))
    clerk.page.get_by_label("准备日期").fill(f"{YEAR}-12-20")
    clerk.press("准备发放批次")
    assert "已准备批次 #" in clerk.flash()
    batch = clerk.page.url.removeprefix(base)
    assert re.fullmatch(r"/console/batches/\d+", batch), batch
    clerk.heading(f"{YEAR} 年度劳务补贴发放批次 #")
    lines = clerk.rows("table.lines")
    assert lines > 100
    clerk.shot("batch-prepared", full=True)
    clerk.sign_out()

    # 23 December: two approvers approve it, the second first looking at it on a phone
    clock.set(date(YEAR, 12, 23))
    approver = Operator(browser, base, demo.FIRST_APPROVER, taken)
    approver.sign_in()
    waiting = approver.page.locator("section", has_text="等待我办理的批次")
    assert waiting.locator("tbody tr").count() == 1
    approver.shot("home-approver", full=True)
    waiting.locator("tbody a").first.click()
    approver.page.wait_for_load_state()
    assert approver.page.url == base + batch
    assert approver.page.locator(".progress").inner_text().startswith("0 / 2")
    assert approver.page.get_by_role("button", name="审批通过").count() == 1
    approver.shot("batch-approve", full=True)
    approver.press("审批通过")
    assert approver.page.locator(".progress").inner_text().startswith("1 / 2")
    approver.sign_out()

    phone = Operator(browser, base, demo.SECOND_APPROVER, taken)
    phone.page.set_viewport_size(PHONE)
    phone.sign_in()
    phone.heading(f"{YEAR} 年度概况")
    assert phone.page.locator("section", has_text="等待我办理的批次").locator("tbody tr").count()
    phone.shot("phone-home")
    phone.go(batch)
    phone.heading(f"{YEAR} 年度劳务补贴发放批次 #")
    assert phone.page.get_by_role("button", name="审批通过").count() == 1
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.shot("phone-batch")
    phone.sign_out()

    approver = Operator(browser, base, demo.SECOND_APPROVER, taken)
    approver.sign_in()
    approver.go(batch)
    approver.press("审批通过")
    assert approver.page.locator(".progress").inner_text().startswith("2 / 2")
    assert "已审批" in approver.page.locator(".state.big").inner_text()
    approver.shot("batch-approved", full=True)
    approver.sign_out()

    # 25 December: the cashier sends the bank its file and reads the bank's answer
    clock.set(date(YEAR, 12, 25))
    cashier = Operator(browser, base, demo.CASHIER, taken)
    cashier.sign_in()
    cashier.go(batch)
    page = cashier.page
    assert page.get_by_role("button", name="下载批量代发文件", exact=True).count() == 1
    cashier.shot("batch-cashier", full=True)
    with page.expect_download() as bank:
        page.get_by_role("button", name="下载批量代发文件", exact=True).click()
    sent = tmp_path / "批量代发.xlsx"
    bank.value.save_as(sent)
    answer = demo.bank_answer(sent, tmp_path / "银行结果.xlsx", {})
    page.set_input_files("#results-file", answer)
    page.get_by_label("银行付款日期").fill(f"{YEAR}-12-25")
    cashier.press("读入银行结果")
    assert f"已读入银行结果：成功 {lines} 笔" in cashier.flash()
    assert "已全部对平" in page.locator("table.reconciliation").inner_text()
    cashier.shot("batch-results", full=True)
    cashier.sign_out()

    # 12 January 2027: December's withheld tax is paid over
    clock.set(date(YEAR + 1, 1, 12))
    cashier = Operator(browser, base, demo.CASHIER, taken)
    cashier.sign_in()
    cashier.go("/console/tax")
    cashier.heading("个人所得税")
    cashier.page.locator("#wh-month").fill(f"{YEAR}-12")
    cashier.page.locator("#remit-month").fill(f"{YEAR}-12")
    cashier.shot("tax", full=True)
    cashier.press("缴纳")
    assert f"已缴纳{YEAR}年12月代扣个人所得税" in cashier.flash()
    cashier.sign_out()

    # the auditor reads the books
    auditor = Operator(browser, base, demo.AUDITOR, taken)
    auditor.sign_in()
    auditor.go(f"/console/vouchers?month={YEAR}-12")
    auditor.heading("凭证")
    rows = auditor.page.locator("main table tbody tr")
    count = auditor.rows()
    auditor.shot("vouchers", full=True)
    attached = [
        i for i in range(count) if rows.nth(i).locator("td").nth(4).inner_text().strip() != "0"
    ]
    assert attached, "the payout's vouchers carry the bank's files"
    rows.nth(attached[0]).locator("a").first.click()
    auditor.page.wait_for_load_state()
    auditor.heading("记账凭证")
    originals = auditor.page.locator(
        "section", has=auditor.page.get_by_role("heading", name="原始凭证")
    )
    assert originals.locator("tbody tr").count() > 0, "the voucher's originals are listed"
    auditor.shot("voucher", full=True, ending=originals)
    auditor.go("/console/statements")
    auditor.heading("报表")
    auditor.page.locator("#ledger-year").fill(str(YEAR))
    auditor.page.locator("#summary-year").fill(str(YEAR))
    assert auditor.page.locator("main form").count() >= 3
    auditor.shot("statements", full=True)
    auditor.go("/console/audit")
    auditor.heading("审计日志")
    auditor.rows()
    auditor.shot("audit", full=True)
    auditor.sign_out()

    # the admin's pages
    admin = Operator(browser, base, demo.ADMIN, taken)
    admin.sign_in()
    for path, words in (
        ("/console/users", "用户"),
        ("/console/periods", "期间"),
        ("/console/jobs", "作业"),
        ("/console/studios", "工作室"),
    ):
        admin.go(path)
        admin.heading(words)
        admin.rows()
        admin.shot(path.rsplit("/", 1)[1], full=True)
    admin.sign_out()

    assert taken == list(SCREENS)


SHOWN = re.compile(r"screenshots/([^/\s)\"'#?]+)\.png")


def test_the_manual_shows_only_screens_the_tests_take() -> None:
    shown = {
        (md.relative_to(DOCS).as_posix(), name)
        for md in sorted(DOCS.rglob("*.md"))
        for name in SHOWN.findall(md.read_text(encoding="utf-8"))
    }
    assert [(md, n) for md, n in sorted(shown) if n not in SCREENS] == [], (
        "the manual shows screens no test takes"
    )
    assert [(md, n) for md, n in sorted(shown) if not (MANUAL_SHOTS / f"{n}.png").exists()] == [], (
        "take them: STUDIO_LEDGER_RETAKE_MANUAL=1 pytest tests/e2e/test_manual_screens.py"
    )
