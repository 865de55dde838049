"""The 经办人's day in a real browser (issue 33): the workbooks imported from 导入 (a bad
roster refused whole, its row named, nothing stored), a receipt at 收款 and an expense at
支出, each landing on its voucher; the menu by the day's work; a phone's width without
the page scrolling sideways. Screenshots land in ``screenshots/console/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ledger.books import book
from ledger.workbooks import imports
from schema.db import UnitOfWork
from schema.tables import StudioRow
from tests.e2e.test_browser import Person
from tests.e2e.test_browser import browser as browser  # noqa: PLC0414 (the fixture)
from tests.e2e.test_browser import server as server  # noqa: PLC0414 (the fixture)
from tests.integration.test_imports import id_number

pytestmark = pytest.mark.slow

STUDIO = ["HJ-S09", "英语名师工作室", "名教师工作室", "第九中学", 2025, "正常"]
HOST = ["HJ-S09", "赵云", id_number(91), "主持人", "第九中学", "2025-01-01", None,
        "中国农业银行", "6228480012345678991", "13800000091"]  # fmt: skip
MEMBERS = [
    ["HJ-S09", f"成员{n}", id_number(n), "成员", f"外校{n}", "2025-01-01"] for n in range(92, 96)
]


def _workbook(tmp_path: Path, kind: str, sheets: dict[str, list[list[Any]]], name: str) -> Path:
    return imports.fill_template(kind, tmp_path / name, sheets)


def _import(person: Person, label: str) -> None:
    """Press an import's button and wait for the page the server answers with: the upload
    goes by script (its progress shown), which replaces the page when it is done."""
    person.page.get_by_role("button", name=label, exact=True).click()
    person.page.locator("form[data-sent]").wait_for(state="detached")


def _studios(engine: Engine) -> int:
    with UnitOfWork(engine, write=False) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(StudioRow)) or 0)


def test_the_clerk_imports_records_a_receipt_and_an_expense_and_sees_each_voucher(
    server: tuple[str, Engine], browser: object, tmp_path: Path
) -> None:
    base, engine = server
    clerk = Person(browser, base, "张会计")
    clerk.sign_in()
    page = clerk.page
    menu = page.locator("nav[aria-label=主菜单] a").all_inner_texts()
    assert menu == ["首页", "导入", "收款", "支出", "批次", "人员", "工作室", "凭证", "期间"]
    page.get_by_role("link", name="导入", exact=True).click()
    with page.expect_download() as template:
        page.get_by_role("link", name="下载名册（工作室与成员）模板").click()
    assert template.value.suggested_filename == "名册（工作室与成员）模板.xlsx"

    studios = _studios(engine)
    bad = _workbook(
        tmp_path,
        "roster",
        {"工作室": [STUDIO], "成员": [HOST, [*MEMBERS[0][:2], "15010219800101", *MEMBERS[0][3:]]]},
        "名册-有误.xlsx",
    )
    page.set_input_files("#file-roster", str(bad))
    _import(clerk, "导入名册（工作室与成员）")
    refused = page.locator("#refused-title").inner_text()
    assert "名册（工作室与成员）未导入：名册-有误.xlsx 有 1 处问题，没有写入任何内容" in refused
    row = page.locator("tbody tr").first.all_inner_texts()[0]
    assert row.startswith("成员\t3\t身份证号")
    assert _studios(engine) == studios  # nothing stored
    clerk.shot("imports-refused", full=True)

    good = _workbook(
        tmp_path, "roster", {"工作室": [STUDIO], "成员": [HOST, *MEMBERS]}, "名册.xlsx"
    )
    page.set_input_files("#file-roster", str(good))
    _import(clerk, "导入名册（工作室与成员）")
    assert "已导入名册（工作室与成员）：名册.xlsx 共 6 行" in clerk.flash()
    assert _studios(engine) == studios + 1
    grades = _workbook(
        tmp_path, "grades", {"考核结果": [[2025, "HJ-S09", None, "优秀"]]}, "等次.xlsx"
    )
    page.set_input_files("#file-grades", str(grades))
    _import(clerk, "导入考核结果")
    assert "已导入考核结果：等次.xlsx 共 1 行，1 项有更改" in clerk.flash()
    plans = _workbook(
        tmp_path,
        "expenses",
        {"支出计划": [[2025, "HJ-S01", "资料费", "3,000.00"]]},
        "支出计划.xlsx",
    )
    page.set_input_files("#file-expenses", str(plans))
    _import(clerk, "导入活动支出与支出计划")
    assert "已导入活动支出与支出计划：支出计划.xlsx 共 1 行" in clerk.flash()
    clerk.shot("imports", full=True)

    page.get_by_role("link", name="收款", exact=True).click()
    page.get_by_label("工作室").select_option("HJ-S01")
    page.get_by_label("金额（元）").fill("2,000.00")
    page.get_by_label("摘要").fill("第一中学2025年配套资金")
    clerk.press("记账")
    assert "已记账：记-2025-12-" in clerk.flash()
    assert "/console/vouchers/" in page.url
    assert "第一中学2025年配套资金" in page.content()
    first = page.url
    page.get_by_role("link", name="收款", exact=True).click()  # the same receipt again
    page.get_by_label("工作室").select_option("HJ-S01")
    page.get_by_label("金额（元）").fill("2000")
    page.get_by_label("摘要").fill("第一中学2025年配套资金")
    clerk.press("记账")
    assert "没有重复记账：与已记账的 记-2025-12-" in clerk.flash()
    assert page.url == first
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, "studio:HJ-S01:fund:matching") == 200_000

    page.get_by_role("link", name="支出", exact=True).click()
    page.get_by_label("工作室").select_option("HJ-S01")
    page.get_by_label("类别").select_option("materials")
    page.get_by_label("金额（元）").fill("3,000.01")
    page.get_by_label("摘要").fill("教研资料")
    clerk.press("记账")
    assert "超出支出计划" in clerk.flash()  # over its plan: refused, nothing written
    page.get_by_label("工作室").select_option("HJ-S01")
    page.get_by_label("类别").select_option("materials")
    page.get_by_label("金额（元）").fill("1,200.00")
    page.get_by_label("摘要").fill("教研资料")
    clerk.press("记账")
    assert "已记账：记-2025-12-" in clerk.flash()
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, "expense:materials:studio:HJ-S01") == 120_000

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console", "/console/imports", "/console/receipts", "/console/vouchers"):
        clerk.go(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
    clerk.shot("imports-390", full=True)
    clerk.sign_out()
