"""The console's 凭证 pages in a real browser (issue 32): a clerk finds a voucher by month,
摘要 and number, attaches the 拨款通知 (a program renamed .pdf is refused beside its
field), downloads it back byte for byte and prints the voucher; an auditor reads the same
page and may download, not attach. Screenshots at desktop and phone widths land in
``screenshots/console/``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.test_browser import Person, _workbook
from tests.e2e.test_browser import browser as browser  # noqa: PLC0414 (the fixture)
from tests.e2e.test_browser import server as server  # noqa: PLC0414 (the fixture)

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_voucher_is_found_its_original_attached_downloaded_and_printed(
    server: tuple[str, Engine], browser: object, tmp_path: Path
) -> None:
    base, _ = server
    clerk = Person(browser, base, "张会计")
    clerk.sign_in()
    page = clerk.page
    page.get_by_role("link", name="凭证", exact=True).click()
    assert page.url.endswith("/console/vouchers")
    page.get_by_label("月份").fill("2025-01")
    page.get_by_label("搜索").fill("拨款")
    clerk.press("搜索")
    rows = page.locator("tbody tr")
    assert rows.count() == 2  # one appropriation voucher per studio
    assert "记-2025-01-0001" in rows.first.inner_text()
    clerk.shot("vouchers-list")
    page.get_by_label("搜索").fill("记-2025-01-0999")
    clerk.press("搜索")
    assert "凭证记-2025-01-0999不存在" in page.locator(".flash.error").inner_text()
    page.get_by_label("搜索").fill("记-2025-01-0001")
    clerk.press("搜索")
    assert page.url.endswith("/console/vouchers/%E8%AE%B0-2025-01-0001")
    assert "合计：人民币伍万元整" in page.content()
    assert "附单据 0 张" in page.content()

    program = tmp_path / "发票.pdf"
    program.write_bytes(b"MZ\x90\x00" + bytes(60))
    page.set_input_files("#attach-file", str(program))
    clerk.press("附加")
    assert "发票.pdf 的内容是Windows 可执行文件" in page.locator(".field-error").inner_text()
    scan = tmp_path / "扫描件.pdf"  # over the limit: refused by its size, in words
    scan.write_bytes(PDF + bytes(20 * 1024 * 1024 + 512 * 1024))
    page.set_input_files("#attach-file", str(scan))
    clerk.press("附加")
    assert "超过原始凭证上限 20 MB" in page.locator(".field-error").inner_text()
    scan.write_bytes(PDF + bytes(22 * 1024 * 1024))  # past what the service reads at all
    page.set_input_files("#attach-file", str(scan))
    clerk.press("附加")
    assert "文件过大" in page.locator("h1").inner_text()
    page.go_back()
    notice = tmp_path / "拨款通知.pdf"
    notice.write_bytes(PDF)
    page.set_input_files("#attach-file", str(notice))
    page.get_by_label("说明").fill("杭财教〔2025〕1号")
    clerk.press("附加")
    assert "已附加原始凭证：附件#1 拨款通知.pdf（PDF）" in clerk.flash()
    assert "附单据 1 张" in page.content()
    clerk.shot("voucher", full=True)
    with page.expect_download() as taken:
        clerk.press("下载")
    assert Path(taken.value.path()).read_bytes() == PDF
    assert taken.value.suggested_filename == "拨款通知.pdf"
    with page.expect_download() as printed:
        clerk.press("打印凭证（A5）")
    sheet = _workbook(printed.value).active
    assert sheet["A1"].value == "记 账 凭 证"
    assert sheet.page_setup.paperSize == 11
    page.set_viewport_size({"width": 390, "height": 844})
    clerk.shot("voucher-390", full=True)
    box = page.locator(".scroll").first
    assert box.evaluate("e => getComputedStyle(e).overflowX") == "auto"  # the table scrolls
    clerk.sign_out()

    auditor = Person(browser, base, "审计员")
    auditor.sign_in()
    auditor.go("/console/vouchers/记-2025-01-0001")
    assert "拨款通知.pdf" in auditor.page.content()
    assert auditor.page.locator("#attach-form").count() == 0
    with auditor.page.expect_download() as taken:
        auditor.press("下载")
    assert Path(taken.value.path()).read_bytes() == PDF
    auditor.sign_out()
