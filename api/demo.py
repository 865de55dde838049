"""``studio-ledger demo``: the program's year on a fresh SQLite database.

It plays the year 2024 of the founding notice the way operators would: it
writes the roster, grades, matching receipts and expenses as workbooks from
the import templates, imports them, posts the appropriation, pays the year's
stipends in December, closes the year (年结), writes the auditor's statements and
reports the entitlements, the studios' balances at 31 December and the verify
result. All data is synthetic (ID numbers carry valid check digits but belong to
nobody).

The output folder is marked (:data:`MARKER`, listing every file the demo writes).
A run into an existing folder deletes only the files a previous demo listed
there, and refuses a folder holding anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger import book, closing, disbursement, imports, program, statements, users
from ledger.accounts import FUNDING_SOURCES, studio_fund
from ledger.errors import ValidationError
from ledger.money import Fen
from ledger.policy import STUDIO_KINDS
from ledger.registry import id_check_digit
from schema.db import UnitOfWork, connect
from schema.migrate import prepare

YEAR = 2024
REGION = "150625"  # synthetic people are registered in the county
KIND_PREFIX = {"principal": "P", "homeroom": "H", "subject": "S"}
SUBJECTS = (
    "语文",
    "数学",
    "英语",
    "物理",
    "化学",
    "生物",
    "历史",
    "地理",
    "道德与法治",
    "音乐",
    "体育",
    "美术",
    "信息技术",
    "学前教育",
    "心理健康",
)
UNITS = (
    "杭锦旗第一中学",
    "杭锦旗第二中学",
    "锡尼镇第一小学",
    "锡尼镇第二小学",
    "杭锦旗蒙古族学校",
    "独贵塔拉镇中心学校",
    "杭锦旗幼儿园",
    "巴拉贡镇学校",
    "吉日嘎朗图镇学校",
    "杭锦旗职业中学",
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "文",
    "华",
    "红",
    "玉兰",
    "建国",
    "海燕",
)

CANCELLED = "HJ-S15"
UNQUALIFIED = "HJ-H05"
UNGRADED = "HJ-S14"
SHORT_MATCHING = "HJ-S07"


@dataclass(frozen=True)
class DemoResult:
    """What the demo did; ``balances`` are each studio's funds at the end of ``as_of``."""

    database: Path
    folder: Path
    year: int
    as_of: date
    closed_by: str
    studios: int
    people: int
    appropriated: Fen
    entitlements: program.EntitlementReport
    batches: list[disbursement.Batch]
    files: list[Path]
    warnings: list[str]
    balances: list[tuple[str, dict[str, Fen]]]
    verify: book.VerifyReport


def _id_number(n: int) -> str:
    birth = date(1975 + n % 20, 1 + n % 12, 1 + n % 28)
    first17 = f"{REGION}{birth:%Y%m%d}{n % 1000:03d}"
    return first17 + id_check_digit(first17)


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)]


def studio_codes(quotas: dict[str, int]) -> list[tuple[str, str]]:
    """(code, kind) for a round by the policy's quotas: HJ-P01…, HJ-H01…, HJ-S01…."""
    return [
        (f"HJ-{KIND_PREFIX[kind]}{n:02d}", kind)
        for kind, quota in quotas.items()
        for n in range(1, quota + 1)
    ]


def _studio_name(kind: str, host: str, index: int) -> str:
    if kind == "subject":
        return f"{host}{SUBJECTS[index % len(SUBJECTS)]}名师工作室"
    return f"{host}{STUDIO_KINDS[kind]}"


def _roster(codes: list[tuple[str, str]]) -> tuple[list[list[Any]], list[list[Any]]]:
    studios, members = [], []
    person = 0
    for index, (code, kind) in enumerate(codes):
        unit = UNITS[index % len(UNITS)]
        person += 1
        host = _name(person)
        cancelled = code == CANCELLED
        studios.append(
            [
                code,
                _studio_name(kind, host, index),
                STUDIO_KINDS[kind],
                unit,
                YEAR,
                "撤销" if cancelled else "正常",
                "2024-09-30" if cancelled else None,
                "主持人调离本旗" if cancelled else None,
            ]
        )
        members.append(_member(code, person, "主持人", unit, "2024-01-01"))
        for m in range(6 if index % 3 else 8):
            person += 1
            member_unit = unit if m >= 5 else UNITS[(index + m + 1) % len(UNITS)]
            members.append(_member(code, person, "成员", member_unit, "2024-01-01"))
        for _ in range(2):
            person += 1
            members.append(
                _member(code, person, "学员", UNITS[(index + 3) % len(UNITS)], "2024-01-01")
            )
    # mid-year changes: a join on 1 July, one on 16 July (misses July), a leave on 20 June
    person += 1
    members.append(_member("HJ-S02", person, "成员", UNITS[4], "2024-07-01"))
    person += 1
    members.append(_member("HJ-S04", person, "成员", UNITS[5], "2024-07-16"))
    leaver = next(i for i, row in enumerate(members) if row[0] == "HJ-S03" and row[3] == "成员")
    members[leaver][6] = "2024-06-20"
    return studios, members


def _member(studio: str, n: int, role: str, unit: str, joined: str) -> list[Any]:
    return [
        studio,
        _name(n),
        _id_number(n),
        role,
        unit,
        joined,
        None,
        "中国农业银行杭锦旗支行",
        f"62284800{n:011d}",
        f"1384770{n:04d}",
    ]


def _grades(codes: list[tuple[str, str]], members: list[list[Any]]) -> list[list[Any]]:
    grades: list[list[Any]] = []
    for index, (code, _) in enumerate(codes):
        if code == UNGRADED:
            continue  # its assessment is not in yet: its lines are held
        grade = "不合格" if code == UNQUALIFIED else ("优秀" if index % 4 == 0 else "合格")
        grades.append([YEAR, code, None, grade])
    unqualified_member = next(row for row in members if row[0] == "HJ-S05" and row[3] == "成员")
    grades.append([YEAR, "HJ-S05", unqualified_member[2], "不合格"])
    return grades


def _receipts(codes: list[tuple[str, str]]) -> list[list[Any]]:
    return [
        [
            "2024-03-15",
            code,
            "1,500.00" if code == SHORT_MATCHING else "2,000.00",
            f"{YEAR}年挂牌单位专项配套经费",
        ]
        for code, _ in codes
    ]


def _expenses(codes: list[tuple[str, str]]) -> tuple[list[list[Any]], list[list[Any]]]:
    plans, spent = [], []
    for index, (code, _) in enumerate(codes[:10]):
        plans.append([YEAR, code, "资料费", "1,500.00"])
        plans.append([YEAR, code, "培训费", "500.00"])
        spent.append(
            [f"2024-{4 + index % 6:02d}-10", code, "单位配套", "资料费", "860.00", "购买教研资料"]
        )
        if index % 2 == 0:
            spent.append(["2024-10-20", code, "单位配套", "培训费", "420.50", "送教下乡培训"])
    return spent, plans


MARKER = ".studio-ledger-demo"
"""The file that marks a folder as the demo's output and lists what it wrote."""

DATABASE = "demo.db"
YEAR_END = date(YEAR, 12, 31)
IMPORTS = ("roster", "grades", "receipts", "expenses")


def demo_files() -> list[str]:
    """Every file the demo may write, relative to its folder."""
    return [
        DATABASE,
        *(f"{DATABASE}{suffix}" for suffix in ("-wal", "-shm", "-journal", ".keys")),
        *(f"imports/{kind}.xlsx" for kind in IMPORTS),
        *(f"files/batch-{n}-{name}.xlsx" for n in (1, 2) for name in ("发放表", "批量代发")),
        *(f"statements/{name}.xlsx" for name in STATEMENTS),
    ]


def _refuse(folder: Path, why: str) -> ValidationError:
    return ValidationError(
        "--out",
        f"{folder} {why}; the demo writes only into a new or empty folder, or one a "
        f"previous demo marked with {MARKER} (choose another folder)",
    )


def prepare_folder(folder: Path) -> None:
    """Make ``folder`` ready for a run: create it, or delete only the files a previous
    demo listed in its marker. A folder holding anything else is refused untouched."""
    if folder.exists() and not folder.is_dir():
        raise _refuse(folder, "is a file, not a folder")
    if not folder.exists():
        folder.mkdir(parents=True)
    marker = folder / MARKER
    if not marker.is_file():
        if any(folder.iterdir()):
            raise _refuse(folder, "is not empty and is not a previous demo's output")
    else:
        root = folder.resolve()
        for line in marker.read_text(encoding="utf-8").splitlines():
            target = (folder / line).resolve()
            if line and not line.startswith("#") and target.is_relative_to(root):
                target.unlink(missing_ok=True)
        for sub in ("imports", "files", "statements"):
            if (folder / sub).is_dir() and not any((folder / sub).iterdir()):
                (folder / sub).rmdir()
    marker.write_text(
        "# studio-ledger demo: it wrote the files below and deletes only these when it\n"
        "# runs into this folder again.\n" + "".join(f"{name}\n" for name in demo_files()),
        encoding="utf-8",
    )


def run(out_dir: Path) -> DemoResult:
    """Run the demo into ``out_dir`` (see :func:`prepare_folder`) and return what it did."""
    prepare_folder(out_dir)
    files = out_dir / "imports"
    files.mkdir()
    database = out_dir / DATABASE
    engine = connect(f"sqlite:///{database}")
    try:
        prepare(engine)
        with UnitOfWork(engine, write=False) as uow:
            quotas = dict(program.policy(uow, YEAR).quotas)
        codes = studio_codes(quotas)
        _add_users(engine)
        studio_rows, member_rows = _roster(codes)
        spent, plans = _expenses(codes)
        workbooks = [
            ("roster", {"工作室": studio_rows, "成员": member_rows}),
            ("grades", {"考核结果": _grades(codes, member_rows)}),
            ("receipts", {"配套资金": _receipts(codes)}),
            ("expenses", {"支出": spent, "支出计划": plans}),
        ]
        warnings: list[str] = []
        appropriated = 0
        for kind, sheets in workbooks:
            path = imports.fill_template(kind, files / f"{kind}.xlsx", sheets)
            with UnitOfWork(engine) as uow:
                warnings += imports.import_file(uow, kind, path, by=CLERK).warnings
                uow.commit()
            if kind == "roster":  # the budget arrives on 2 January, before any spending
                with UnitOfWork(engine) as uow:
                    appropriated = program.appropriate(
                        uow, YEAR, on=date(YEAR, 1, 2), by=CLERK
                    ).total
                    uow.commit()
        batches, written = _pay_the_year(engine, out_dir / "files")
        written += _statements(engine, out_dir / "statements")
        with UnitOfWork(engine, write=False) as uow:
            report = program.compute_entitlements(uow, YEAR)
            people = len(uow.registry.people())
            balances = [
                (
                    code,
                    {
                        source: uow.ledger.balance(studio_fund(code, source), YEAR_END) or 0
                        for source in FUNDING_SOURCES
                    },
                )
                for code, _ in codes
            ]
            verified = book.verify(uow.ledger)
    finally:
        engine.dispose()
    unlisted = {p.relative_to(out_dir).as_posix() for p in written} - set(demo_files())
    if unlisted:
        raise AssertionError(f"the demo wrote files its marker does not list: {unlisted}")
    return DemoResult(
        database,
        out_dir,
        YEAR,
        YEAR_END,
        FIRST_APPROVER,
        len(codes),
        people,
        appropriated,
        report,
        batches,
        written,
        warnings,
        balances,
        verified,
    )


ADMIN, CLERK, FIRST_APPROVER, SECOND_APPROVER, AUDITOR = (
    "系统管理员",
    "张会计",
    "李科长",
    "王局长",
    "审计员",
)
SECOND_ADMIN = "信息科管理员"
BANK_RETURN = "账户已销户"


def _add_users(engine: Engine) -> None:
    """The installation's two admins (set up by the operator): one adds the others, the
    other confirms the approvers (separation of duties)."""
    with UnitOfWork(engine) as uow:
        users.add_user(uow, ADMIN, "admin", by=None)
        users.add_user(uow, SECOND_ADMIN, "admin", by=None)
        for name, role, person in (
            (CLERK, "clerk", None),
            (FIRST_APPROVER, "approver", _id_number(901)),  # not payees: they may approve
            (SECOND_APPROVER, "approver", _id_number(902)),
            (AUDITOR, "auditor", None),
        ):
            users.add_user(uow, name, role, by=ADMIN, id_number=person)
            if role in users.DUTY_ROLES:
                users.confirm_user(uow, name, by=SECOND_ADMIN)
        uow.commit()


def _pay_the_year(engine: Engine, files: Path) -> tuple[list[disbursement.Batch], list[Path]]:
    """The year-end payout: a batch prepared by a clerk, approved by two approvers, paid
    but for one bank return, which is reissued in a second batch and paid."""

    def step(action: Callable[[UnitOfWork], Any]) -> Any:
        with UnitOfWork(engine) as uow:
            result = action(uow)
            uow.commit()
        return result

    # December: prepared on the 20th, approved by two, paid on the 25th but for one bank
    # return, reissued and paid before the year ends; then the year is closed (年结)
    first = step(lambda uow: disbursement.create(uow, YEAR, CLERK, date(YEAR, 12, 20))).batch
    for approver in (FIRST_APPROVER, SECOND_APPROVER):
        step(partial(disbursement.approve, batch_id=first.id, by=approver, on=date(YEAR, 12, 23)))
    written = _export(engine, first.id, files)
    step(
        lambda uow: disbursement.confirm(
            uow, first.id, FIRST_APPROVER, date(YEAR, 12, 25), {3: BANK_RETURN}
        )
    )
    second = step(lambda uow: disbursement.reissue(uow, YEAR, CLERK, date(YEAR, 12, 26)))
    step(lambda uow: disbursement.approve(uow, second.id, SECOND_APPROVER, date(YEAR, 12, 27)))
    written += _export(engine, second.id, files)
    step(lambda uow: disbursement.confirm(uow, second.id, SECOND_APPROVER, date(YEAR, 12, 30)))
    for batch_id in (first.id, second.id):
        step(partial(disbursement.close, batch_id=batch_id, by=FIRST_APPROVER))
    step(lambda uow: closing.close(uow, f"{YEAR}-12", FIRST_APPROVER, date(YEAR + 1, 1, 5)))
    with UnitOfWork(engine, write=False) as uow:
        return uow.batches.batches(YEAR), written


STATEMENTS = (
    f"{YEAR}-专项资金明细账",
    f"{YEAR}-专项资金收支汇总表",
    f"{YEAR_END.isoformat()}-科目余额表",
)


def _statements(engine: Engine, folder: Path) -> list[Path]:
    """The auditor's three statements of the closed year: its ledger, its summary and
    the trial balance at 31 December."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.xlsx" for name in STATEMENTS]
    with UnitOfWork(engine, write=False) as uow:
        statements.export_ledger(uow, YEAR, YEAR, paths[0], AUDITOR)
        statements.export_summary(uow, YEAR, paths[1], AUDITOR)
        statements.export_trial_balance(uow, YEAR_END, paths[2], AUDITOR)
    return paths


def _export(engine: Engine, batch_id: int, files: Path) -> list[Path]:
    with UnitOfWork(engine, write=False) as uow:
        return disbursement.export(uow, batch_id, FIRST_APPROVER, files).files
