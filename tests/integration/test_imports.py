"""Excel import: templates, every bad row reported with sheet/row/column, nothing
written on refusal, and re-importing the same file changes nothing."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from jobs.work import SCHEDULER_USER
from ledger.books import book
from ledger.funds import fund_services
from ledger.registry import roster_services
from ledger.registry.roster import id_check_digit
from ledger.workbooks import imports
from schema.db import UnitOfWork
from tests.conftest import Clock

CLERK = SCHEDULER_USER  # the clerk the migrations create


def id_number(n: int) -> str:
    first17 = f"15010219800101{n:03d}"
    return first17 + id_check_digit(first17)


STUDIO_ROW = ["HJ-S01", "语文名师工作室", "名教师工作室", "第一中学", 2024, "正常"]
HOST_ROW = [
    "HJ-S01",
    "王芳",
    id_number(1),
    "主持人",
    "第一中学",
    "2024-01-01",
    None,
    "中国农业银行",
    "6228480012345678901",
    "13800000001",
]
MEMBER_ROWS = [
    ["HJ-S01", f"成员{n}", id_number(n), "成员", f"外校{n}", "2024-01-01"] for n in range(2, 8)
]


def workbook(
    tmp_path: Path, kind: str, sheets: dict[str, list[list[Any]]], name: str = "file.xlsx"
) -> Path:
    return imports.fill_template(kind, tmp_path / name, sheets)


def import_file(engine: Engine, kind: str, path: Path) -> imports.ImportReport:
    with UnitOfWork(engine) as uow:
        report = imports.import_file(uow, kind, path, by=CLERK)
        uow.commit()
    return report


def refused(engine: Engine, kind: str, path: Path) -> list[str]:
    with pytest.raises(imports.ImportRefused) as caught:
        import_file(engine, kind, path)
    return [str(p) for p in caught.value.problems]


def roster_file(tmp_path: Path, members: list[list[Any]] | None = None) -> Path:
    return workbook(
        tmp_path, "roster", {"工作室": [STUDIO_ROW], "成员": [HOST_ROW, *(members or MEMBER_ROWS)]}
    )


def registry_is_empty(engine: Engine) -> bool:
    with UnitOfWork(engine, write=False) as uow:
        return not uow.registry.studios() and not uow.registry.people()


def test_a_template_has_headers_drop_downs_and_examples(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    imports.write_template("roster", path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["工作室", "成员", "说明"]  # the data first, as it opens
    assert [c.value for c in wb["成员"][1]] == [
        "工作室编号",
        "姓名",
        "身份证号",
        "角色",
        "所在单位",
        "加入日期",
        "退出日期",
        "开户银行",
        "银行账号",
        "手机号",
    ]
    validations = wb["成员"].data_validations.dataValidation
    lists = {str(dv.sqref): dv.formula1 for dv in validations if dv.type == "list"}
    assert lists == {"D2:D501": '"主持人,成员,学员"'}
    # Excel itself refuses text longer than the import accepts
    limits = {str(dv.sqref): dv.formula1 for dv in validations if dv.type == "textLength"}
    assert limits == {
        "B2:B501": "50",
        "E2:E501": "100",
        "H2:H501": "100",
        "I2:I501": "40",
        "J2:J501": "20",
    }
    assert wb["成员"]["C2"].number_format == "@"
    assert wb["成员"].freeze_panes == "A2"
    examples = [row for row in wb["说明"].iter_rows(values_only=True) if row[0] == "HJ-S01"]
    assert len(examples) == 2
    # every example shows whole: each column at least as wide as its longest example
    member = wb["说明"]
    assert member.column_dimensions["C"].width >= len("11010519491231002X") + 2
    assert member.column_dimensions["H"].width >= 2 * len("中国农业银行杭锦旗支行")
    assert wb["成员"].column_dimensions["I"].width >= len("6228480012345678901")
    assert wb["成员"]["A1"].font.name == "宋体"
    assert wb["成员"].page_setup.paperSize == 9


@pytest.mark.parametrize("kind", sorted(imports.KINDS))
def test_every_coded_column_has_a_drop_down_of_what_the_importer_accepts(
    kind: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{kind}.xlsx"
    imports.write_template(kind, path)
    wb = load_workbook(path)
    coded = 0
    for sheet in imports.KINDS[kind]:
        lists = {
            str(dv.sqref): dv.formula1
            for dv in wb[sheet.title].data_validations.dataValidation
            if dv.type == "list"
        }
        for index, column in enumerate(sheet.columns, start=1):
            if column.kind != "choice":
                continue
            coded += 1
            letter = chr(ord("A") + index - 1)
            labels = list(column.choices.values())
            assert lists[f"{letter}2:{letter}501"] == '"' + ",".join(labels) + '"'
            # each value offered is one the importer reads back to its code
            assert [imports.read_choice(column, label) for label in labels] == list(column.choices)
    # 类型 状态 撤销原因 角色 | 等次 | 类型 (配套/支持) | 资金来源 类别 类别
    expected = {"roster": 4, "grades": 1, "receipts": 1, "expenses": 3}
    assert coded == expected[kind]


def test_names_hiding_characters_are_refused_where_they_are_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    members = [list(row) for row in MEMBER_ROWS]
    members[0][1] = "成员\u200b2"  # a zero-width space
    members[1][4] = "\u202e校外"  # a right-to-left override in 所在单位
    problems = refused(engine, "roster", roster_file(tmp_path, members))
    assert [p.split(":")[0] for p in problems] == [
        "成员 第3行 姓名(B列)",
        "成员 第4行 所在单位(E列)",
    ]
    assert "U+200B" in problems[0]
    assert "U+202E" in problems[1]
    assert registry_is_empty(engine)


def _must_not_open(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the file was opened, not refused first")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = roster_file(tmp_path)
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(imports, "load_workbook", _must_not_open)
    [problem] = refused(engine, "roster", path)
    assert "超过0 MiB上限" in problem
    assert registry_is_empty(engine)


def test_a_zip_bomb_is_refused_from_its_directory_without_unpacking(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1 KiB file that would unpack to 2 GiB: refused in milliseconds, in no memory."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<x/>")
    # declare the part 2 GiB unpacked, as a crafted archive would
    data = bomb.read_bytes()
    small = (4).to_bytes(4, "little")
    huge = (2 * 2**30).to_bytes(4, "little")
    bomb.write_bytes(data.replace(small + b"\x18\x00", huge + b"\x18\x00"))
    monkeypatch.setattr(imports, "load_workbook", _must_not_open)
    [problem] = refused(engine, "roster", bomb)
    assert "解压后2,048 MiB，超过1024 MiB上限" in problem
    assert registry_is_empty(engine)


def test_a_sheet_with_too_many_rows_is_refused_and_nothing_is_written(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_IMPORT_ROWS", 5)
    problems = refused(engine, "roster", roster_file(tmp_path))  # 1 host + 6 members
    assert problems == ["成员: 超过5行，不予读取"]
    assert registry_is_empty(engine)


def test_a_good_roster_imports_and_importing_it_again_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = roster_file(tmp_path)
    first = import_file(engine, "roster", path)
    assert (first.rows, first.changed) == (8, 1 + 7 + 7)
    again = import_file(engine, "roster", path)
    assert again.changed == 0
    with UnitOfWork(engine, write=False) as uow:
        [person] = [p for p in uow.registry.people() if p.name == "王芳"]
    assert (person.id_number, person.bank_account) == (id_number(1), "6228480012345678901")


def test_every_bad_row_is_reported_with_sheet_row_and_column_and_nothing_is_written(
    engine: Engine, tmp_path: Path
) -> None:
    bad_check = id_number(8)[:-1] + ("0" if id_number(8)[-1] != "0" else "1")
    members = [
        *MEMBER_ROWS[:5],
        ["HJ-S01", "校验错", bad_check, "成员", "外校", "2024-01-01"],
        ["HJ-S99", "无此室", id_number(9), "成员", "外校", "2024-01-01"],
        ["HJ-S01", "日期错", id_number(10), "成员", "外校", "2024-02-30"],
    ]
    problems = refused(engine, "roster", roster_file(tmp_path, members))
    assert problems == [
        f"成员 第8行 身份证号(C列): 校验位错误（最后一位应为{id_number(8)[-1]}）：'{bad_check}'",
        "成员 第9行 工作室编号: 工作室 HJ-S99 不在名册中，也不在本文件的工作室表中",
        "成员 第10行 加入日期(F列): 日期无效，请写作 2024-01-01：'2024-02-30'",
    ]
    assert registry_is_empty(engine)


def test_an_unknown_studio_is_reported_on_its_row(engine: Engine, tmp_path: Path) -> None:
    members = [*MEMBER_ROWS, ["HJ-S99", "无此室", id_number(9), "成员", "外校", "2024-01-01"]]
    assert refused(engine, "roster", roster_file(tmp_path, members)) == [
        "成员 第9行 工作室编号: 工作室 HJ-S99 不在名册中，也不在本文件的工作室表中"
    ]
    assert registry_is_empty(engine)


def test_a_duplicate_host_is_refused_naming_the_studio_and_its_rows(
    engine: Engine, tmp_path: Path
) -> None:
    second_host = ["HJ-S01", "李强", id_number(9), "主持人", "第一中学", "2024-03-01"]
    [problem] = refused(engine, "roster", roster_file(tmp_path, [*MEMBER_ROWS, second_host]))
    assert problem.startswith("成员: HJ-S01（第2、3、4、5、6、7、8、9行）：同时有2名主持人")
    assert registry_is_empty(engine)


def test_a_cancellation_half_filled_in_or_in_the_future_is_refused_on_its_row(
    engine: Engine, tmp_path: Path, clock: Clock
) -> None:
    """One problem for each studio row whose cancellation is wrong, where it is: 撤销
    without a date or cause, a date with the studio still 正常, a day not yet come."""
    clock.set(date(2025, 3, 1))
    cause = "调离本旗"
    studios = [
        ["HJ-S01", "甲工作室", "名教师工作室", "第一中学", 2024, "撤销", None, None],
        ["HJ-S02", "乙工作室", "名教师工作室", "第二中学", 2024, "正常", "2025-01-10", cause],
        ["HJ-S03", "丙工作室", "名教师工作室", "第三中学", 2024, "撤销", "2025-03-02", cause],
    ]
    path = workbook(tmp_path, "roster", {"工作室": studios, "成员": [HOST_ROW]})
    problems = refused(engine, "roster", path)
    assert [p.split(":")[0] for p in problems] == [
        "工作室 第2行 撤销日期",
        "工作室 第3行 状态",
        "工作室 第4行 撤销日期",
    ]
    assert "2025-03-02" in problems[2]
    assert registry_is_empty(engine)


def test_a_roster_read_two_rows_at_a_time_is_checked_across_its_chunks(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large file is checked and written a chunk of rows at a time, and the checks
    across rows hold across chunks: a row repeated, one person's details differing
    between rows, a studio's second host (placed on every row of the studio's people)."""
    monkeypatch.setattr(imports, "ROWS_AT_A_TIME", 2)
    monkeypatch.setattr(roster_services, "STUDIOS_AT_A_TIME", 1)
    moved = [*HOST_ROW[:4], "第二中学", "2024-06-01", *HOST_ROW[6:]]
    members = [*MEMBER_ROWS, MEMBER_ROWS[0], moved]
    assert refused(engine, "roster", roster_file(tmp_path, members)) == [
        "成员 第9行: 与第3行完全相同",
        "成员 第10行 身份证号: 同一身份证号在文件中有不同的个人信息",
    ]
    second_host = ["HJ-S01", "李强", id_number(9), "主持人", "第一中学", "2024-03-01"]
    [problem] = refused(engine, "roster", roster_file(tmp_path, [*MEMBER_ROWS, second_host]))
    assert problem.startswith("成员: HJ-S01（第2、3、4、5、6、7、8、9行）：同时有2名主持人")
    assert registry_is_empty(engine)
    first = import_file(engine, "roster", roster_file(tmp_path))
    assert (first.rows, first.changed) == (8, 1 + 7 + 7)
    assert import_file(engine, "roster", roster_file(tmp_path)).changed == 0
    with UnitOfWork(engine, write=False) as uow:
        people = {p.id_number: p.code for p in uow.registry.people()}
        places = uow.registry.memberships_of(["HJ-S01"])
    assert sorted(people) == [id_number(n) for n in range(1, 8)]
    assert sorted(m.person for m in places) == sorted(people.values())


def test_text_longer_than_its_column_holds_is_refused_on_its_row(
    engine: Engine, tmp_path: Path
) -> None:
    long_name = "长" * 51
    members = [
        *MEMBER_ROWS[:5],
        ["HJ-S01", long_name, id_number(9), "成员", "外校", "2024-01-01", None, "行" * 101],
        [
            "HJ-S01",
            "名" * 50,
            id_number(10),
            "成员",
            "单" * 100,
            "2024-01-01",
            None,
            None,
            "1" * 41,
        ],
    ]
    assert refused(engine, "roster", roster_file(tmp_path, members)) == [
        "成员 第8行 姓名(B列): 最多50个字符（现有51个字符）",
        "成员 第8行 开户银行(H列): 最多100个字符（现有101个字符）",
        "成员 第9行 银行账号(I列): 最多40个字符（现有41个字符）",
    ]
    assert registry_is_empty(engine)
    import_file(engine, "roster", roster_file(tmp_path))
    receipts = workbook(
        tmp_path,
        "receipts",
        {"配套资金": [["2024-03-01", "HJ-S01", "2,000.00", "配" * 201]]},
        "receipts.xlsx",
    )
    assert refused(engine, "receipts", receipts) == [
        "配套资金 第2行 摘要(D列): 最多200个字符（现有201个字符）"
    ]
    with UnitOfWork(engine, write=False) as uow:
        assert "studio:HJ-S01:fund:matching" not in uow.ledger.kept_balances()


def test_a_member_who_left_before_joining_is_refused_on_its_row(
    engine: Engine, tmp_path: Path
) -> None:
    members = [
        *MEMBER_ROWS,
        ["HJ-S01", "早退", id_number(9), "成员", "外校", "2024-03-01", "2024-02-01"],
    ]
    assert refused(engine, "roster", roster_file(tmp_path, members)) == [
        "成员 第9行 退出日期: 退出日期早于加入日期"
    ]
    assert registry_is_empty(engine)


def test_an_id_number_typed_as_a_number_is_refused(engine: Engine, tmp_path: Path) -> None:
    members = [["HJ-S01", "数字", 150102198001011234, "成员", "外校", "2024-01-01"]]
    [problem] = refused(engine, "roster", roster_file(tmp_path, members))
    assert problem.startswith("成员 第3行 身份证号(C列): 身份证号须按文本填写")


def grades_file(tmp_path: Path, rows: list[list[Any]]) -> Path:
    return workbook(tmp_path, "grades", {"考核结果": rows}, "grades.xlsx")


def test_grades_import_once_and_unknown_studios_are_placed_on_their_row(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, "roster", roster_file(tmp_path))
    good = grades_file(
        tmp_path, [[2024, "HJ-S01", None, "优秀"], [2024, "HJ-S01", id_number(2), "不合格"]]
    )
    assert import_file(engine, "grades", good).changed == 2
    assert import_file(engine, "grades", good).changed == 0
    bad = grades_file(
        tmp_path,
        [
            [2024, "HJ-S01", None, "合格"],
            [2024, "HJ-X1", None, "良好"],
            [2024, "HJ-X2", None, "合格"],
        ],
    )
    assert refused(engine, "grades", bad) == [
        "考核结果 第3行 等次(D列): 应为 优秀/合格/不合格 之一：'良好'"
    ]
    unknown = grades_file(tmp_path, [[2024, "HJ-S01", None, "合格"], [2024, "HJ-X2", None, "合格"]])
    assert refused(engine, "grades", unknown) == [
        "考核结果 第3行 工作室编号: 工作室 HJ-X2 不在名册中"
    ]
    with UnitOfWork(engine, write=False) as uow:
        assert uow.registry.studio_grades(2024) == {"HJ-S01": "excellent"}


def test_receipts_with_a_negative_amount_are_refused_and_good_ones_post_once(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, "roster", roster_file(tmp_path))
    bad = workbook(
        tmp_path,
        "receipts",
        {
            "配套资金": [
                ["2024-03-01", "HJ-S01", "-2000", "配套"],
                ["2024-03-01", "HJ-S01", "1,000.005", "配套"],
                ["2024-03-01", "HJ-S01", 1500.5, "配套"],
            ]
        },
    )
    assert refused(engine, "receipts", bad) == [
        "配套资金 第2行 金额(C列): 金额不能为负数：'-2000'",
        "配套资金 第3行 金额(C列): 不是有效的金额：'1,000.005'；"
        "请写作 10000 或 10,000.00 这样的金额",
    ]
    good = workbook(
        tmp_path,
        "receipts",
        {
            "配套资金": [
                ["2024-03-01", "HJ-S01", 1500.5, "第一中学配套"],
                ["2024-09-01", "HJ-S01", "500", "第一中学配套二"],
            ]
        },
        "good.xlsx",
    )
    assert import_file(engine, "receipts", good).changed == 2
    assert import_file(engine, "receipts", good).changed == 0
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, "studio:HJ-S01:fund:matching") == 200_050


def test_identical_rows_in_one_file_are_refused_not_merged(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, "roster", roster_file(tmp_path))
    twice = workbook(
        tmp_path,
        "receipts",
        {
            "配套资金": [
                ["2024-03-01", "HJ-S01", "500", "配套"],
                ["2024-03-01", "HJ-S01", "500", "配套"],
            ]
        },
    )
    assert refused(engine, "receipts", twice) == ["配套资金 第3行: 与第2行完全相同"]


def test_an_over_plan_expense_is_refused_on_its_row_and_nothing_is_posted(
    engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, "roster", roster_file(tmp_path))
    with UnitOfWork(engine) as uow:
        fund_services.appropriate(uow, 2024, by=CLERK)
        uow.commit()
    over = workbook(
        tmp_path,
        "expenses",
        {
            "支出": [
                ["2024-05-10", "HJ-S01", "旗财政", "资料费", "800.00", "资料一"],
                ["2024-06-10", "HJ-S01", "旗财政", "资料费", "800.00", "资料二"],
            ],
            "支出计划": [[2024, "HJ-S01", "资料费", "1,500.00"]],
        },
    )
    [problem] = refused(engine, "expenses", over)
    assert problem.startswith(
        "支出 第3行 金额: 超出支出计划：HJ-S01 2024年度资料费计划"
        "1,500.00元，已支出800.00元，本笔800.00元"
    )
    with UnitOfWork(engine, write=False) as uow:
        assert uow.registry.expense_plans(2024) == {}
        assert book.balance(uow.ledger, "studio:HJ-S01:fund:finance") == 2_500_000
    within = workbook(
        tmp_path,
        "expenses",
        {
            "支出": [["2024-05-10", "HJ-S01", "旗财政", "资料费", "800.00", "资料一"]],
            "支出计划": [[2024, "HJ-S01", "资料费", "1,500.00"]],
        },
        "within.xlsx",
    )
    assert import_file(engine, "expenses", within).changed == 2
    assert import_file(engine, "expenses", within).changed == 0
    with UnitOfWork(engine, write=False) as uow:
        assert book.balance(uow.ledger, "expense:materials:studio:HJ-S01") == 80_000


def test_a_file_that_is_not_a_workbook_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")
    [problem] = refused(engine, "roster", path)
    assert problem.startswith("notes.xlsx: 不是可读取的 xlsx 文件")


def test_an_import_tells_how_many_rows_it_has_read(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command line's progress bar shows: rows read of the rows in the file."""
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 3)
    told: list[tuple[int, int]] = []
    with UnitOfWork(engine) as uow:
        imports.import_file(
            uow, "roster", roster_file(tmp_path), by=CLERK, on_rows=lambda *n: told.append(n)
        )
    # the template's sheets span 501 rows each (their drop-downs and formats reach row
    # 501), and reading walks them all: every third row is told, then each sheet's end
    assert told[:2] == [(3, 1002), (6, 1002)]
    assert (501, 1002) in told
    assert told[-1] == (1002, 1002)
    assert [done for done, _ in told] == sorted(done for done, _ in told)
