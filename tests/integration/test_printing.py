"""Every workbook the product writes, printed as the office prints it: the demo's
year (发放表, 批量代发, 明细账, 汇总表, 科目余额表 and the import files) and an empty
import template of each kind, rendered to PDF by LibreOffice headless and read
back with poppler's ``pdfinfo``, ``pdftotext`` and ``pdffonts``.

A PNG of each first (and last) page is kept under ``screenshots/print/``
(gitignored) for a person to look at. CI installs LibreOffice, poppler-utils and
fonts-noto-cjk and fails here if they are missing; elsewhere the test is skipped
without them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo import story as demo
from ledger.workbooks import imports
from tests.conftest import FULL_CYCLE, today_is

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RENDERS = ROOT / "screenshots" / "print"
SONGTI = ROOT / "docs" / "fonts" / "65-studio-ledger-songti.conf"
TOOLS = ("soffice", "pdfinfo", "pdftotext", "pdffonts", "pdftoppm")

A4_LANDSCAPE = re.compile(r"size: +841\.89 x 595\.30\d* pts \(A4\)")
A5_LANDSCAPE = re.compile(r"size: +595\.30\d* x 419\.55\d* pts")
ADDRESS = re.compile(r"\b(?:studio|source|expense|bank|tax):[\w:-]+")


@dataclass(frozen=True)
class Printed:
    """A workbook as printed: its pages' text (one string per page) and fonts."""

    name: str
    sizes: list[str]
    pages: list[str]
    fonts: set[str]


def _tools_or_skip() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must print the workbooks but these are missing: {missing}")
        pytest.skip(f"not installed: {missing} (CI installs them)")


def render(workbooks: list[Path], folder: Path) -> Iterator[Printed]:
    """Convert with LibreOffice (its own profile, 宋体 mapped as docs/fonts says) and read
    each PDF back; the first page of each is kept as a PNG under screenshots/print/."""
    fonts = folder / "fonts.conf"
    fonts.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        '<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<include>{SONGTI}</include></fontconfig>"
    )
    for parent in {w.parent for w in workbooks}:  # one folder of PDFs per folder of workbooks
        subprocess.run(
            [
                str(shutil.which("soffice")),
                f"-env:UserInstallation=file://{folder / 'profile'}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(folder / "pdf" / parent.name),
                *(str(w) for w in workbooks if w.parent == parent),
            ],
            env={**os.environ, "FONTCONFIG_FILE": str(fonts)},
            capture_output=True,
            check=True,
            timeout=600,
        )
    RENDERS.mkdir(parents=True, exist_ok=True)
    for workbook in workbooks:
        pdf = folder / "pdf" / workbook.parent.name / f"{workbook.stem}.pdf"
        info = _run("pdfinfo", "-f", "1", "-l", "100000", str(pdf))
        text = _run("pdftotext", "-layout", str(pdf), "-")
        fonts_used = _run("pdffonts", str(pdf)).splitlines()[2:]
        name = f"{workbook.parent.name}-{workbook.stem}"
        pages = text.count("\f")
        for page, suffix in ((1, ""), (pages, "-last")) if pages > 1 else ((1, ""),):
            _run("pdftoppm", "-png", "-r", "72", "-singlefile", "-f", str(page), "-l", str(page),
                 str(pdf), str(RENDERS / f"{name}{suffix}"))  # fmt: skip
        yield Printed(
            name,
            [line for line in info.splitlines() if re.match(r"Page +\d+ size:", line)],
            text.split("\f")[:-1],
            {line.split()[0].split("+")[-1] for line in fonts_used},
        )


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout


# the first and last column headings of each kind of sheet: both on every page means
# the sheet prints one page wide, its header rows repeated
EDGES = {
    "发放表": ("姓名", "领款人签字"),
    "批量代发": ("收款账号开户行", "备注"),
    "明细账": ("摘要", "余额"),
    "收支汇总表": ("科目编码", "期末余额"),
    "科目余额表": ("科目编码", "期末"),  # 期末贷方, and 期末余额 on the 辅助余额表
    "记账凭证": ("摘要", "贷方金额"),
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Printed]:
    _tools_or_skip()
    folder = tmp_path_factory.mktemp("print")
    with today_is(FULL_CYCLE):
        result = demo.run(folder / "demo")
    templates = folder / "templates"
    templates.mkdir()
    for kind in imports.KINDS:
        imports.write_template(kind, templates / f"{kind}.xlsx")
    # every workbook the ledger writes (the 银行结果 files are the demo's bank's, not ours)
    workbooks = [p for p in result.files if p.suffix == ".xlsx" and "银行结果" not in p.name]
    workbooks += sorted((folder / "demo" / "imports").glob("*.xlsx"))
    workbooks += sorted(templates.glob("*.xlsx"))
    return {p.name: p for p in render(workbooks, folder)}


def _kind(name: str) -> str | None:
    return next((kind for kind in EDGES if kind in name), None)


def test_every_page_is_a4_landscape_numbered_and_in_beijing_time(
    printed: dict[str, Printed],
) -> None:
    # the five batches' files, four months' 扣缴申报, 2024's statements (and December's
    # 记账凭证) and the cycle's, the imports, the templates
    assert len(printed) == 10 + 4 + 7 + 6 + 4
    for p in printed.values():
        assert p.sizes, p.name
        paper = A5_LANDSCAPE if "记账凭证" in p.name else A4_LANDSCAPE
        assert all(paper.search(size) for size in p.sizes), (p.name, p.sizes[:2])
        assert len(p.pages) == len(p.sizes)
        for number, page in enumerate(p.pages, start=1):
            assert f"第{number}页共{len(p.pages)}页" in re.sub(r"\s", "", page), (p.name, number)
        whole = "".join(p.pages)
        assert "UTC" not in whole, p.name
        if _kind(p.name) not in (None, "记账凭证"):  # a voucher is the books, not an export
            assert re.search(r"生成时间 \d{4}-\d\d-\d\d \d\d:\d\d（北京时间）", whole), p.name


def test_every_sheet_prints_one_page_wide(printed: dict[str, Printed]) -> None:
    kinds = set()
    for p in printed.values():
        kind = _kind(p.name)
        if kind is None:
            continue
        kinds.add(kind)
        first, last = EDGES[kind]
        for number, page in enumerate(p.pages, start=1):
            # the 发放表's names and signatures, the 明细账's 摘要 and 余额: on the same page
            assert first in page, (p.name, number)
            assert last in page, (p.name, number)
    assert kinds == set(EDGES)
    # one page per account: 22 studios × 3 sources (each of the demo's 2024 accounts is
    # short), then the withheld tax's book: a line per payee withheld from, seven pages
    assert len(printed["statements-2024-专项资金明细账"].pages) == 66 + 7
    # 154 payees at a row height that leaves room to sign, 18 to a page
    assert len(printed["files-batch-1-发放表"].pages) == 9


def test_the_cycles_books_carry_each_year_over_and_print_the_anchor_whole(
    printed: dict[str, Printed],
) -> None:
    cycle = printed["statements-2024-2026-专项资金明细账"]
    whole = re.sub(r"\s", "", "".join(cycle.pages))
    # each account: 上年结转 in 2024, 2025 and 2026, 结转下年 between, one 期末余额
    assert whole.count("上年结转") == 3 * whole.count("期末余额")
    assert whole.count("结转下年") == 2 * whole.count("期末余额")
    assert "271104专项资金—成员单位支持工作室：HJ-S01" in whole  # two schools supported it
    assert "第1轮周期2024-2026" in whole
    for p in printed.values():
        if p.name.startswith("statements-") and "记账凭证" not in p.name:  # never cut
            assert re.search(r"账簿锚点\d+:[0-9a-f]{64}（截至第\d+笔交易；以verify--anchor核对）",
                             re.sub(r"\s", "", "".join(p.pages))), p.name  # fmt: skip
    trial = re.sub(r" +", " ", "".join(printed["statements-2027-01-31-科目余额表"].pages))
    assert "收支项目：成员单位支持拨入—" in trial


def test_one_font_for_every_cell_bold_included(printed: dict[str, Printed]) -> None:
    for p in printed.values():
        # 宋体 resolves to one CJK serif face in its regular and bold weights
        assert {re.sub(r"(jp|sc|SC)?-(Regular|Bold).*", "", f) for f in p.fonts} == {
            "NotoSerifCJK"
        }, (p.name, p.fonts)
    bold = {f for f in printed["files-batch-1-发放表"].fonts if "Bold" in f}
    assert bold, "the 发放表's title and 合计 are bold"


def test_the_trial_balance_shows_codes_and_chinese_names_never_addresses(
    printed: dict[str, Printed],
) -> None:
    trial = "".join(printed["statements-2024-12-31-科目余额表"].pages)
    assert not ADDRESS.search(trial)
    assert "收支项目：已拨付劳务补贴" in trial
    for p in printed.values():
        assert not ADDRESS.search("".join(p.pages)), p.name
        assert not re.search(r"\b(?:approved|closed|draft|clerk|approver|auditor)\b",
                             "".join(p.pages)), p.name  # fmt: skip


def test_the_roster_totals_in_figures_and_words_with_places_to_sign(
    printed: dict[str, Printed],
) -> None:
    roster = printed["files-batch-2-发放表"].pages
    assert len(roster) == 1
    page = re.sub(r" +", " ", roster[0])
    assert "状态：已审批" in page
    assert "合计 5,000.00 800.00 4,200.00 肆仟贰佰元整" in page
    for role in ("经办人（签字）：", "审核人（签字）：", "负责人（签字）："):
        assert role in page
    bank = re.sub(r" +", " ", printed["files-batch-1-批量代发"].pages[0])
    assert "总笔数 154 总金额 711826.66" in bank


AMOUNTS = r"([\d,]+\.\d\d) ([\d,]+\.\d\d) ([\d,]+\.\d\d)"


def _fen(found: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(int(x.replace(",", "").replace(".", "")) for x in found)


def test_every_roster_page_but_the_last_ends_with_its_subtotal_the_last_with_the_total(
    printed: dict[str, Printed],
) -> None:
    """The 发放表 as 会计基础工作规范 prints a list that runs over pages: each page's last
    line is its 本页小计 (应发, 代扣, 实发), the last page's is 合计 too, and the page
    subtotals add up to it to the fen. The signing sheet masks every number."""
    rosters = [p for name, p in printed.items() if "发放表" in name]
    assert len(rosters) == 5
    for roster in rosters:
        pages = [re.sub(r"[ \t]+", " ", page) for page in roster.pages]
        subtotals = []
        for number, page in enumerate(pages, start=1):
            body = [line.strip() for line in page.splitlines() if line.strip()]
            if number < len(pages):
                assert body[-2].startswith("本页小计"), (roster.name, number, body[-3:])
                subtotals.append(_fen(re.findall(AMOUNTS, body[-2])[0]))
        total = re.search(rf"合计 {AMOUNTS}", pages[-1])
        assert total is not None, roster.name
        if len(pages) > 1:
            last = re.findall(rf"本页小计 {AMOUNTS}", pages[-1])
            assert len(last) == 1, roster.name
            subtotals.append(_fen(last[0]))
            assert tuple(map(sum, zip(*subtotals, strict=True))) == _fen(total.groups())
        whole = "".join(pages)
        assert not re.search(r"\d{17}[\dX]", whole), roster.name  # no 身份证号 whole
        assert not re.search(r"\d{8,}", whole), roster.name  # nor a bank account
    assert len(next(r for r in rosters if r.name == "files-batch-1-发放表").pages) == 9


def test_an_account_that_runs_over_a_page_carries_its_figures_forward(
    printed: dict[str, Printed],
) -> None:
    """The 明细账 of the withheld tax runs over seven pages: each but the last ends with
    过次页, the next begins with 承前页 under the headings, both with the same month's
    figures and balance; an account that fits its page has neither."""
    pages = [
        re.sub(r"[ \t]+", " ", page) for page in printed["statements-2024-专项资金明细账"].pages
    ]
    short, tax = pages[:66], pages[66:]
    assert not any("过次页" in page or "承前页" in page for page in short)
    forwards = []
    for number, page in enumerate(tax, start=1):
        body = [line.strip() for line in page.splitlines() if line.strip()]
        if number > 1:
            brought = next(line for line in body if line.startswith(("承前页", "上年结转")))
            assert brought.startswith("承前页"), (number, brought)
            assert brought == forwards[-1].replace("过次页", "承前页"), number
        if number < len(tax):
            assert body[-2].startswith("过次页"), (number, body[-3:])
            forwards.append(body[-2])
        else:
            assert "过次页" not in page
            assert "期末余额" in page
    assert forwards[0] == "过次页 22,400.00 贷 22,400.00"  # December's tax to the page's end


def test_the_summary_subtotals_each_source_and_has_lines_to_sign(
    printed: dict[str, Printed],
) -> None:
    """The 汇总表 of 2024: a 小计 after each funding source's 22 studios, the subtotals
    adding up to 合计 in every column, then 制表 / 审核 / 负责人 to sign."""
    whole = re.sub(r"[ \t]+", " ", "".join(printed["statements-2024-专项资金收支汇总表"].pages))
    amounts = r"((?: [\d,]+\.\d\d){6})"
    subtotals = re.findall(rf"专项资金—(\S+)小计（(\d+)个工作室）{amounts}", whole)
    assert [(name, count) for name, count, _ in subtotals] == [
        ("财政拨款", "22"),
        ("教育基金拨款", "22"),
        ("单位配套", "22"),  # no member's unit supported a studio in 2024
    ]
    total = re.search(rf"合计{amounts}", whole)
    assert total is not None
    columns = [_fen(tuple(found.split())) for _, _, found in subtotals]
    assert tuple(map(sum, zip(*columns, strict=True))) == _fen(tuple(total.group(1).split()))
    for signer in ("制表人（签字）：", "审核人（签字）：", "负责人（签字）："):
        assert signer in whole


def test_the_trial_balance_keeps_each_code_once_and_the_bank_on_its_debit_side(
    printed: dict[str, Printed],
) -> None:
    """科目余额表: every code once, each 二级 code extending its 一级 one, 银行存款 one line
    with a 借 balance and no zero rows; the 辅助余额表 after it carries the studios,
    payees and where the bank's money came from and went."""
    pages = printed["statements-2024-12-31-科目余额表"].pages
    main = [p for p in pages if "科目余额表（截至" in p]
    aux = [p for p in pages if "辅助余额表（截至" in p]
    assert main
    assert aux
    rows = [
        re.sub(r" +", " ", line.strip())
        for page in main
        for line in page.splitlines()
        if re.match(r"\s*\d{4,6} ", line)
    ]
    codes = [row.split()[0] for row in rows]
    assert codes == ["1002", "2221", "222101", "2241", "224101", "2711", "271101", "271102",
                     "271103"]  # fmt: skip
    bank = rows[0].split()
    assert bank[:2] == ["1002", "银行存款"]
    assert bank[-2] != "0.00"  # 期末借方: the money in the bank
    assert bank[-1] == "0.00"  # 期末贷方: none
    assert not any(re.fullmatch(r"\S+ \S+( 0\.00)+", row) for row in rows)
    whole = "".join(aux)
    for item in ("收支项目：旗财政拨入", "收支项目：已拨付劳务补贴", "工作室：HJ-S01", "人员："):
        assert item in whole, item


def test_the_import_templates_show_their_examples_whole(printed: dict[str, Printed]) -> None:
    roster = printed["templates-roster"].pages
    assert len(roster) == 3  # 工作室, 成员, then 说明
    assert "填写说明" in roster[2]
    for example in ("王芳语文名师工作室", "11010519491231002X", "中国农业银行杭锦旗支行",
                    "6228480012345678901"):  # fmt: skip
        assert example in roster[2]


def test_a_months_vouchers_print_on_a5_carried_from_page_to_page_with_their_originals(
    printed: dict[str, Printed],
) -> None:
    """December 2024's 记账凭证: the approval of 154 payees runs over pages, each but the
    first beginning with 承前页 and each but the last ending with 过次页 with the totals
    so far; the last ends with 合计 in figures and 大写; 附单据 counts the files the ledger
    attached; the names are those who made, approved and paid it."""
    pages = [re.sub(r"\s", "", page) for page in printed["statements-2024-12-记账凭证"].pages]
    by_voucher: dict[str, list[str]] = {}
    for page in pages:
        assert "记账凭证核算单位：杭锦旗名师工作室领导小组办公室" in page
        number = re.search(r"凭证号：(记-\d{4}-\d\d-\d{4})", page)
        assert number, page[:80]
        by_voucher.setdefault(number[1], []).append(page)
    assert list(by_voucher) == ["记-2024-12-0001", "记-2024-12-0002", "记-2024-12-0003"]
    approval = by_voucher["记-2024-12-0001"]
    assert len(approval) > 30
    for n, page in enumerate(approval, start=1):
        assert f"本凭证第{n}页，共{len(approval)}页" in page
        assert ("承前页" in page) == (n > 1)
        assert ("过次页" in page) == (n < len(approval))
        assert ("合计：人民币" in page) == (n == len(approval))
        assert "附单据2张" in page
        assert "制单：张会计审核：李科长、王局长记账：出纳：" in page
    carried = [re.search(r"过次页([\d,]+\.\d\d)([\d,]+\.\d\d)", p) for p in approval[:-1]]
    brought = [re.search(r"承前页([\d,]+\.\d\d)([\d,]+\.\d\d)", p) for p in approval[1:]]
    assert all(carried)
    assert all(brought)
    assert [m.groups() for m in carried if m] == [m.groups() for m in brought if m]
    assert "合计：人民币捌拾肆万柒仟零捌拾叁元叁角叁分847,083.33847,083.33" in approval[-1]
    [payment, *rest] = by_voucher["记-2024-12-0002"]
    assert "制单：张会计审核：李科长、王局长记账：出纳：赵出纳" in payment
    assert all("附单据2张" in p for p in [payment, *rest])
