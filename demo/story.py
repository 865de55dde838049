"""``studio-ledger demo``: the program's first cycle on a fresh SQLite database.

It plays the year 2024 of the founding notice the way operators would: it
writes the roster, grades, matching receipts and expenses as workbooks from
the import templates, imports them, posts the appropriation, pays the year's
stipends in December, closes the year (年结) and writes the auditor's statements of
2024. Then it plays the rest of the cycle (SPEC §1): 2025 and 2026 funded by the
grade of the year before (考核发放) — a studio graded 不合格 is held until the 领导小组
restores it, a studio whose grade came in late is funded once it is recorded —
with members' units' support, a mentor's travel, the December payouts and the year
closes; in January 2027 every cycle closes (终结), returning each studio's unspent
funds to their sources, and the studios graded 优秀 in 2026 are renamed for a new
cycle (继续命名); the cycle's books (2024-2026) are written. It reports the
entitlements, the studios' balances, the cycle and the verify result. All data is
synthetic (ID numbers carry valid check digits but belong to nobody).

The output folder is marked (:data:`MARKER`, listing every file the demo writes).
A run into an existing folder deletes only the files a previous demo listed
there, and refuses a folder holding anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from openpyxl import load_workbook
from sqlalchemy import Engine

from ledger import clock, users
from ledger.batches import disbursement
from ledger.batches.batch import Batch
from ledger.books import attachments, book, closing, vouchers
from ledger.books.accounts import FUNDING_SOURCES, studio_fund
from ledger.books.periods import Period
from ledger.errors import ValidationError
from ledger.funds import fund_services
from ledger.funds.appropriation import FundingDecision
from ledger.funds.expenses import Receipt
from ledger.money import Fen
from ledger.registry import cycle_services, roster_services
from ledger.registry.policy import STUDIO_KINDS
from ledger.registry.roster import Grade, id_check_digit
from ledger.tax import remittance
from ledger.workbooks import bank_results, imports, payout_files, statements
from ledger.workbooks.vouchers import export_vouchers
from schema.db import SIDECARS, UnitOfWork, connect
from schema.migrate import prepare

T = TypeVar("T")

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
NOT_RENAMED = "HJ-S12"  # graded 不合格 in the cycle's last year
SUPPORTED = "HJ-S01"  # two members' schools support it in 2025


@dataclass(frozen=True)
class CycleDemo:
    """What the rest of the cycle did.

    Attributes:
      appropriations: the 2025 and 2026 runs, then the late ones (a grade recorded late,
        a 领导小组 decision), in order: each with the studios it held back and why.
      decision: the 领导小组's decision restoring the studio graded 不合格, once made.
      last_day: the cycle's last day (31 December 2026), or today while it runs.
      batches: the payouts after 2024's.
      balances: each studio's funds at the end of ``last_day``, before the close (结转).
      closes: every cycle's close (终结): the cancelled studio's in January 2025, the
        others' in January 2027, once that has come.
      renewed: the studios renamed for 2027-2029 (继续命名), once that has come.
    """

    appropriations: list[fund_services.AppropriationReport]
    decision: FundingDecision | None
    last_day: date
    batches: list[Batch]
    balances: list[tuple[str, dict[str, Fen]]]
    closes: list[cycle_services.CycleClosed]
    renewed: list[cycle_services.Renewed]


@dataclass(frozen=True)
class DemoResult:
    """What the demo did; ``balances`` are each studio's funds at the end of ``as_of``
    (31 December 2024); ``cycle`` is the rest of the cycle, played up to ``today``;
    ``later`` the steps whose days have not come yet."""

    database: Path
    folder: Path
    year: int
    as_of: date
    closed_by: str
    studios: int
    people: int
    appropriated: Fen
    entitlements: disbursement.EntitlementReport
    batches: list[Batch]
    files: list[Path]
    warnings: list[str]
    balances: list[tuple[str, dict[str, Fen]]]
    verify: book.VerifyReport
    cycle: CycleDemo
    today: date
    later: list[Later]


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
                "调离本旗" if cancelled else None,
                "主持人王某9月调往鄂尔多斯市任教" if cancelled else None,
                1,
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
LAST_YEAR = YEAR + 2
LAST_DAY = date(LAST_YEAR, 12, 31)
IMPORTS = ("roster", "grades", "receipts", "expenses")
LATER_IMPORTS = (f"receipts-{YEAR + 1}", f"expenses-{YEAR + 1}")
BATCHES = 5  # 2024's and its reissue, 2024's late-graded studio, 2025's, 2026's
TAX_MONTHS = (f"{YEAR}-12", f"{YEAR + 1}-02", f"{YEAR + 1}-12", f"{YEAR + 2}-12")
"""The months the batches are paid in, whose withheld tax is declared and paid over."""


def demo_files(today: date) -> list[str]:
    """Every file the demo may write when run on ``today``, relative to its folder."""
    return [
        DATABASE,
        *(f"{DATABASE}{suffix}" for suffix in (*SIDECARS, ".keys")),
        *(f"imports/{kind}.xlsx" for kind in (*IMPORTS, *LATER_IMPORTS)),
        *(
            f"files/batch-{n}-{name}.xlsx"
            for n in range(1, BATCHES + 1)
            for name in ("发放表", "批量代发", "银行结果")
        ),
        *(f"files/{month}-扣缴个人所得税报告表.xlsx" for month in TAX_MONTHS),
        *(f"statements/{name}.xlsx" for name in (*STATEMENTS, *cycle_statements(today))),
    ]


def _refuse(folder: Path, why: str) -> ValidationError:
    return ValidationError(
        "--out",
        f"{folder} {why}；演示只写入新的或空的文件夹，或此前演示留下 {MARKER} 标记的"
        "文件夹（请另选文件夹）",
    )


def prepare_folder(folder: Path, today: date) -> None:
    """Make ``folder`` ready for a run: create it, or delete only the files a previous
    demo listed in its marker. A folder holding anything else is refused untouched."""
    if folder.exists() and not folder.is_dir():
        raise _refuse(folder, "是文件，不是文件夹")
    if not folder.exists():
        folder.mkdir(parents=True)
    marker = folder / MARKER
    if not marker.is_file():
        if any(folder.iterdir()):
            raise _refuse(folder, "不是空文件夹，也不是此前演示的输出")
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
        "# runs into this folder again.\n" + "".join(f"{name}\n" for name in demo_files(today)),
        encoding="utf-8",
    )


@dataclass(frozen=True)
class Later:
    """A step of the story whose day has not come yet: when, what happens, and the
    command that does it on that day."""

    day: date
    what: str
    command: str


class Story:
    """The demo's days, in order. A step is played when its day has come (on or before
    today, :func:`ledger.clock.today`); from the first step whose day has not, that step
    and every one after it are told instead (:attr:`later`), so the books it writes never
    hold the future."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.later: list[Later] = []

    def reached(self, day: date, what: str, command: str) -> bool:
        """Whether the step of ``day`` is played now; if not, it is told as later."""
        if self.later or day > self.today:
            self.later.append(Later(day, what, command))
            return False
        return True


def run(out_dir: Path) -> DemoResult:
    """Run the demo into ``out_dir`` (see :func:`prepare_folder`) up to today and return
    what it did and what is still to come."""
    today = clock.today()
    prepare_folder(out_dir, today)
    (out_dir / "imports").mkdir()
    database = out_dir / DATABASE
    engine = connect(f"sqlite:///{database}")
    try:
        prepare(engine)
        with UnitOfWork(engine, write=False) as uow:
            quotas = dict(roster_services.policy(uow, YEAR).quotas)
        codes = studio_codes(quotas)
        _add_users(engine)
        play = _Play(engine, out_dir, codes)
        story = Story(today)
        for day, what, command, act in play.steps():
            if story.reached(day, what, command):
                act()
        play.files += _cycle_statements(engine, out_dir / "statements", today)
        with UnitOfWork(engine, write=False) as uow:
            report = play.entitlements or disbursement.compute_entitlements(uow, YEAR)
            people = len(roster_services.people(uow))
            balances = _balances(uow, codes, YEAR_END)
            carried_on = min(LAST_DAY, today)
            carried = _balances(uow, codes, carried_on)
            first = [disbursement.show(uow, i)[0] for i in play.first_batches]
            stored = [disbursement.show(uow, i)[0] for i in play.batches]
            verified = attachments.verified(uow)
    finally:
        engine.dispose()
    unlisted = {p.relative_to(out_dir).as_posix() for p in play.files} - set(demo_files(today))
    if unlisted:
        raise AssertionError(f"the demo wrote files its marker does not list: {unlisted}")
    cycle = CycleDemo(
        play.appropriations,
        play.decision,
        carried_on,
        [b for b in stored if b is not None],
        carried,
        play.closes,
        play.renewed,
    )
    return DemoResult(
        database,
        out_dir,
        YEAR,
        YEAR_END,
        FIRST_APPROVER,
        len(codes),
        people,
        play.appropriated,
        report,
        [b for b in first if b is not None],
        play.files,
        play.warnings,
        balances,
        verified,
        cycle,
        today,
        story.later,
    )


Step = tuple[date, str, str, Callable[[], Any]]
"""A step of the story: its day, what happens, the command that does it, the doing."""


class _Play:
    """The steps of the first cycle (:meth:`steps`), each done through the services in
    its own unit of work as an operator's command would, and what they left."""

    def __init__(self, engine: Engine, out_dir: Path, codes: list[tuple[str, str]]) -> None:
        self.engine = engine
        self.out_dir = out_dir
        self.codes = codes
        self.live = [code for code, _ in codes if code != CANCELLED]
        self.studio_rows, self.member_rows = _roster(codes)
        self.appropriated: Fen = 0
        self.warnings: list[str] = []
        self.files: list[Path] = []
        self.appropriations: list[fund_services.AppropriationReport] = []
        self.decision: FundingDecision | None = None
        self.first_batches: list[int] = []  # 2024's payout and its reissue
        self.batches: list[int] = []  # the payouts after them
        self.closes: list[cycle_services.CycleClosed] = []
        self.renewed: list[cycle_services.Renewed] = []
        self.entitlements: disbursement.EntitlementReport | None = None

    def step(self, action: Callable[[UnitOfWork], T]) -> T:
        with UnitOfWork(self.engine) as uow:
            result = action(uow)
            uow.commit()
        return result

    def steps(self) -> list[Step]:
        """The cycle from the first roster to the renewals, in the order of its days."""
        y1, y2, y3 = YEAR, YEAR + 1, LAST_YEAR
        return [
            (
                date(y1, 10, 20),
                f"导入{y1}年度名册、考核结果、配套资金和支出（均为此前发生的），"
                f"拨付{y1}年度经费（1月2日）",
                f"studio-ledger import roster|grades|receipts|expenses FILE --as {CLERK}; "
                f"studio-ledger appropriate --year {y1} --on {y1}-01-02 --as {CLERK}",
                self.first_year,
            ),
            *self.payout(y1, date(y1, 12, 20), approvers=2, bank_return=True),
            (
                date(y2, 1, 2),
                f"按{y1}年度考核拨付{y2}年度经费（不合格和未考核的工作室暂缓；"
                "作业 appropriation 当天自动运行）",
                f"studio-ledger appropriate --year {y2} --as {CLERK}",
                lambda: self.appropriate(y2),
            ),
            (
                date(y2, 1, 5),
                f"{y1}年度年结，审计导出{y1}年度报表",
                f"studio-ledger periods close {y1}-12 --as {FIRST_APPROVER}",
                lambda: self.year_end(y1, statements=True),
            ),
            self.tax(Period(y1, 12), date(y2, 1, 8)),
            (
                date(y2, 1, 10),
                f"已撤销的{CANCELLED}工作周期终结",
                f"studio-ledger cycles close {CANCELLED} --as {FIRST_APPROVER}",
                lambda: self.closes.append(
                    self.step(partial(_close, code=CANCELLED, on=date(y2, 1, 10)))
                ),
            ),
            (
                date(y2, 2, 20),
                f"补录{UNGRADED}的{y1}年度考核结果",
                f"studio-ledger import grades FILE --as {CLERK}",
                lambda: self.step(
                    partial(
                        roster_services.save_grades,
                        grades=[Grade(y1, UNGRADED, "", "qualified")],
                        by=CLERK,
                    )
                ),
            ),
            *self.payout(y1, date(y2, 2, 20), approvers=1),
            (
                date(y2, 2, 26),
                f"补拨{UNGRADED}的{y2}年度经费",
                f"studio-ledger appropriate --year {y2} --on {y2}-02-26 --as {CLERK}",
                lambda: self.appropriate(y2, date(y2, 2, 26)),
            ),
            self.tax(Period(y2, 2), date(y2, 3, 10)),
            (
                date(y2, 3, 15),
                f"领导小组决定恢复{UNQUALIFIED}的{y2}年度经费",
                f"studio-ledger funding restore {UNQUALIFIED} --year {y2} --percent 100 "
                f"--reason 理由 --as {ADMIN}",
                self.restore,
            ),
            (
                date(y2, 9, 18),
                f"导入{y2}年度配套资金、成员单位支持和支出",
                f"studio-ledger import receipts|expenses FILE --as {CLERK}",
                self.second_year_money,
            ),
            (
                date(y2, 12, 15),
                f"录入{y2}年度考核结果",
                f"studio-ledger import grades FILE --as {CLERK}",
                lambda: self.grades(y2),
            ),
            *self.payout(y2, date(y2, 12, 20), approvers=2),
            (
                date(y3, 1, 2),
                f"按{y2}年度考核拨付{y3}年度经费（作业 appropriation 当天自动运行）",
                f"studio-ledger appropriate --year {y3} --as {CLERK}",
                lambda: self.appropriate(y3),
            ),
            (
                date(y3, 1, 5),
                f"{y2}年度年结",
                f"studio-ledger periods close {y2}-12 --as {FIRST_APPROVER}",
                lambda: self.year_end(y2),
            ),
            self.tax(Period(y2, 12), date(y3, 1, 8)),
            (
                date(y3, 3, 15),
                f"挂牌单位{y3}年度配套资金到账",
                f"studio-ledger import receipts FILE --as {CLERK}",
                self.third_year_matching,
            ),
            (
                date(y3, 12, 15),
                f"录入{y3}年度考核结果（周期终结性考核）",
                f"studio-ledger import grades FILE --as {CLERK}",
                lambda: self.grades(y3),
            ),
            *self.payout(y3, date(y3, 12, 20), approvers=2),
            (
                date(y3 + 1, 1, 10),
                f"各工作室{y1}–{y3}工作周期终结，结余资金退回来源"
                "（否则作业 cycle-close 于1月20日自动办理）",
                f"studio-ledger cycles close CODE --as {FIRST_APPROVER}",
                lambda: self.closes.extend(
                    self.step(partial(_close, code=code, on=date(y3 + 1, 1, 10)))
                    for code in self.live
                ),
            ),
            self.tax(Period(y3, 12), date(y3 + 1, 1, 12)),
            (
                date(y3 + 1, 1, 15),
                f"{y3}年度考核优秀的工作室继续命名{y3 + 1}–{y3 + 3}",
                f"studio-ledger cycles renew CODE --as {ADMIN}",
                self.renew,
            ),
        ]

    def first_year(self) -> None:
        files = self.out_dir / "imports"
        spent, plans = _expenses(self.codes)
        workbooks = [
            ("roster", {"工作室": self.studio_rows, "成员": self.member_rows}),
            ("grades", {"考核结果": _grades(self.codes, self.member_rows)}),
            ("receipts", {"配套资金": _receipts(self.codes)}),
            ("expenses", {"支出": spent, "支出计划": plans}),
        ]
        for kind, sheets in workbooks:
            path = imports.fill_template(kind, files / f"{kind}.xlsx", sheets)
            self.files.append(path)
            report = self.step(partial(imports.import_file, kind=kind, path=path, by=CLERK))
            self.warnings += report.warnings
            if kind == "roster":  # the budget arrives on 2 January, before any spending
                self.appropriated = self.step(
                    partial(fund_services.appropriate, year=YEAR, on=date(YEAR, 1, 2), by=CLERK)
                ).total

    def payout(
        self, year: int, prepared: date, *, approvers: int, bank_return: bool = False
    ) -> list[Step]:
        """A year's payout: prepared by the clerk, approved (by one or two) three days
        later, paid two days after that and closed; with ``bank_return``, the bank
        returns one line, which is reissued, approved and paid before the year ends."""
        batch: list[int] = []  # the batch this payout prepares, once it is
        approved, paid = prepared + timedelta(days=3), prepared + timedelta(days=5)
        failed = {3: BANK_RETURN} if bank_return else {}
        steps: list[Step] = [
            (
                prepared,
                f"经办人准备{year}年度劳务补贴发放批次",
                f"studio-ledger batches create --year {year} --as {CLERK}",
                lambda: batch.append(self.create(year, prepared)),
            ),
            (
                approved,
                f"{'两位审批人' if approvers == 2 else '审批人'}审批该批次",
                f"studio-ledger batches approve ID --as {FIRST_APPROVER}"
                + (f"（及 {SECOND_APPROVER}）" if approvers == 2 else ""),
                lambda: self.approve(batch[0], approved, approvers),
            ),
            (
                paid,
                "出纳导出发放表和批量代发文件，银行代发后读入银行结果文件"
                + ("（一笔被退回）" if failed else ""),
                f"studio-ledger batches export ID --out DIR --as {CASHIER}; "
                f"studio-ledger batches results ID 银行结果.xlsx --as {CASHIER}",
                lambda: self.pay(batch[0], paid, failed),
            ),
        ]
        if bank_return:
            steps.append(
                (
                    paid + timedelta(days=5),
                    "重新发放被退回的一笔：准备、审批、支付",
                    f"studio-ledger batches reissue --year {year} --as {CLERK}",
                    lambda: self.reissue(year, paid + timedelta(days=1), batch[0]),
                )
            )
        return steps

    def create(self, year: int, on: date) -> int:
        created = self.step(partial(disbursement.create, year=year, by=CLERK, on=on))
        (self.first_batches if on.year == YEAR else self.batches).append(created.batch.id)
        return created.batch.id

    def approve(self, batch_id: int, on: date, approvers: int) -> None:
        for approver in (FIRST_APPROVER, SECOND_APPROVER)[:approvers]:
            self.step(partial(disbursement.approve, batch_id=batch_id, by=approver, on=on))

    def pay(self, batch_id: int, on: date, failed: dict[int, str]) -> None:
        files = _export(self.engine, batch_id, self.out_dir / "files")
        answer = bank_answer(
            files[1], files[1].with_name(f"batch-{batch_id}-银行结果.xlsx"), failed
        )
        self.files += [*files, answer]
        self.step(partial(bank_results.answer, batch_id=batch_id, path=answer, by=CASHIER, on=on))
        if not failed:
            self.step(partial(disbursement.close, batch_id=batch_id, by=FIRST_APPROVER))

    def reissue(self, year: int, on: date, first: int) -> None:
        again = self.step(partial(disbursement.reissue, year=year, by=CLERK, on=on))
        self.first_batches.append(again.id)
        self.step(
            partial(
                disbursement.approve,
                batch_id=again.id,
                by=SECOND_APPROVER,
                on=on + timedelta(days=1),
            )
        )
        self.files += _export(self.engine, again.id, self.out_dir / "files")
        self.step(
            partial(
                disbursement.confirm,
                batch_id=again.id,
                by=CASHIER,
                on=on + timedelta(days=4),
            )
        )
        for batch_id in (first, again.id):
            self.step(partial(disbursement.close, batch_id=batch_id, by=FIRST_APPROVER))

    def tax(self, month: Period, on: date) -> tuple[date, str, str, Callable[[], None]]:
        """The step declaring ``month``'s withheld tax and paying it over on ``on``."""

        def declare_and_remit() -> None:
            folder = self.out_dir / "files"
            path = folder / f"{month}-扣缴个人所得税报告表.xlsx"
            with UnitOfWork(self.engine, write=False) as uow:
                statements.export_withholding(uow, month, path, CASHIER)
            self.files.append(path)
            self.step(partial(remittance.remit, month=month, by=CASHIER, on=on))

        return (
            on,
            f"出纳申报{month.year}年{month.month}月代扣个人所得税并缴纳",
            f"studio-ledger statements withholding --month {month} --out FILE --as {CASHIER}; "
            f"studio-ledger tax remit --month {month} --as {CASHIER}",
            declare_and_remit,
        )

    def appropriate(self, year: int, on: date | None = None) -> None:
        self.appropriations.append(
            self.step(partial(fund_services.appropriate, year=year, on=on, by=CLERK))
        )

    def year_end(self, year: int, *, statements: bool = False) -> None:
        self.step(partial(closing.close, period=f"{year}-12", by=FIRST_APPROVER))
        if statements:  # the first year as it stood at its close
            self.files += _statements(self.engine, self.out_dir / "statements")
            with UnitOfWork(self.engine, write=False) as uow:
                self.entitlements = disbursement.compute_entitlements(uow, year)

    def restore(self) -> None:
        decision, funded = self.step(
            partial(
                fund_services.restore_funding,
                studio_code=UNQUALIFIED,
                year=YEAR + 1,
                percent=100,
                reason="领导小组2025年第1次会议：已按考核意见整改，恢复2025年度经费",
                by=ADMIN,
                on=date(YEAR + 1, 3, 15),
            )
        )
        self.decision = decision
        if funded is not None:
            self.appropriations.append(funded)

    def second_year_money(self) -> None:
        """2025: matching, two members' schools' support, activities (a mentor's travel)."""
        self.files += _import(
            self.step, self.out_dir, "receipts", _receipts_2025(self.codes, self.member_rows)
        )
        self.files += _import(self.step, self.out_dir, "expenses", _expenses_2025(self.codes))

    def third_year_matching(self) -> None:
        matching = [
            Receipt(date(LAST_YEAR, 3, 15), code, 200_000, f"{LAST_YEAR}年挂牌单位专项配套经费")
            for code in self.live
        ]
        self.step(partial(fund_services.receive_matching, receipts=matching, by=CLERK))

    def grades(self, year: int) -> None:
        grades = [
            Grade(year, code, "", _grade_of(code, year, index))
            for index, (code, _) in enumerate(self.codes)
            if code != CANCELLED
        ]
        self.step(partial(roster_services.save_grades, grades=grades, by=CLERK))

    def close_cycles(self, codes: list[str], on: date) -> None:
        self.closes += [self.step(partial(_close, code=code, on=on)) for code in codes]

    def renew(self) -> None:
        self.renewed += [
            self.step(
                partial(
                    cycle_services.renew_cycle,
                    studio_code=code,
                    on=date(LAST_YEAR + 1, 1, 15),
                    by=ADMIN,
                )
            )
            for index, (code, _) in enumerate(self.codes)
            if code in self.live and _grade_of(code, LAST_YEAR, index) == "excellent"
        ]


def _balances(
    uow: UnitOfWork, codes: list[tuple[str, str]], on: date
) -> list[tuple[str, dict[str, Fen]]]:
    """Each studio's funds at the end of ``on``."""
    return [
        (
            code,
            {
                source: book.balance_or_zero(uow.ledger, studio_fund(code, source), on)
                for source in FUNDING_SOURCES
            },
        )
        for code, _ in codes
    ]


ADMIN, CLERK, FIRST_APPROVER, SECOND_APPROVER, CASHIER, AUDITOR = (
    "系统管理员",
    "张会计",
    "李科长",
    "王局长",
    "赵出纳",
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
            (CASHIER, "cashier", _id_number(903)),  # 出纳: sends the bank file, records its answer
            (AUDITOR, "auditor", None),
        ):
            users.add_user(uow, name, role, by=ADMIN, id_number=person)
            if role in users.DUTY_ROLES:
                users.confirm_user(uow, name, by=SECOND_ADMIN)
        uow.commit()


STATEMENTS = (
    f"{YEAR}-专项资金明细账",
    f"{YEAR}-专项资金收支汇总表",
    f"{YEAR_END.isoformat()}-科目余额表",
    f"{YEAR}-12-记账凭证",
)


def _statements(engine: Engine, folder: Path) -> list[Path]:
    """The auditor's statements of the closed year: its ledger, its summary, the trial
    balance at 31 December and December's 记账凭证 (the payout's, with the 发放表, the bank
    file and the bank's answer attached)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.xlsx" for name in STATEMENTS]
    with UnitOfWork(engine, write=False) as uow:
        statements.export_ledger(uow, YEAR, YEAR, paths[0], AUDITOR)
        statements.export_summary(uow, YEAR, paths[1], AUDITOR)
        statements.export_trial_balance(uow, YEAR_END, paths[2], AUDITOR)
        export_vouchers(vouchers.month_views(uow, Period(YEAR, 12)), paths[3])
    return paths


def bank_answer(bank_file: Path, out: Path, failed: Mapping[int, str]) -> Path:
    """The demo's bank: the result file it returns for a bank file, every row 成功 but
    the ``failed`` lines (line → 失败原因), in the bank file's columns."""
    workbook = load_workbook(bank_file)
    sheet = workbook.worksheets[0]
    header = next(r for r in range(1, 10) if sheet.cell(r, 2).value == "收款账号")
    sheet.cell(header, 7, "处理结果")
    sheet.cell(header, 8, "失败原因")
    for row in range(header + 1, sheet.max_row + 1):
        remark = sheet.cell(row, 6).value
        if isinstance(remark, str) and remark.startswith("批次#"):
            number = int(remark.split("-")[1].split()[0])
            sheet.cell(row, 7, "失败" if number in failed else "成功")
            sheet.cell(row, 8, failed.get(number, ""))
    workbook.save(out)
    return out


def _export(engine: Engine, batch_id: int, files: Path) -> list[Path]:
    """The batch's files as its 出纳 takes them: kept as the approval voucher's originals
    the first time (``studio-ledger batches export`` does the same)."""
    with UnitOfWork(engine) as uow:
        exported = payout_files.export(uow, batch_id, CASHIER, files).files
        uow.commit()
    return exported


CYCLE_END = date(LAST_YEAR + 1, 1, 31)
"""The trial balance of the cycle is taken at the end of its closing month, or today
while that has not come."""


def cycle_statements(today: date) -> tuple[str, ...]:
    """The names of the cycle's books written on ``today``."""
    return (
        f"{YEAR}-{LAST_YEAR}-专项资金明细账",
        f"{LAST_YEAR}-专项资金收支汇总表",
        f"{min(CYCLE_END, today).isoformat()}-科目余额表",
    )


MENTOR_ID = "110105197001010046"  # an invited mentor (导师), in no roster


def _close(uow: UnitOfWork, code: str, on: date) -> cycle_services.CycleClosed:
    return cycle_services.close_cycle(uow, code, on, by=FIRST_APPROVER)


def _grade_of(code: str, year: int, index: int) -> str:
    """2025 and 2026: every studio 合格, every fourth 优秀; one 不合格 at the cycle's end."""
    if year == LAST_YEAR and code == NOT_RENAMED:
        return "unqualified"
    return "excellent" if (index + year) % 4 == 0 else "qualified"


def _import(
    step: Callable[[Callable[[UnitOfWork], Any]], Any],
    out_dir: Path,
    kind: str,
    sheets: dict[str, list[list[Any]]],
) -> list[Path]:
    """Fill the template for 2025 and import it as the clerk; the workbook written."""
    path = out_dir / "imports" / f"{kind}-{YEAR + 1}.xlsx"
    imports.fill_template(kind, path, sheets)
    step(partial(imports.import_file, kind=kind, path=path, by=CLERK))
    return [path]


def _receipts_2025(
    codes: list[tuple[str, str]], members: list[list[Any]]
) -> dict[str, list[list[Any]]]:
    """Every host unit's 2025 matching, and two of HJ-S01's members' schools' support."""
    rows: list[list[Any]] = [
        [
            f"{YEAR + 1}-03-15",
            code,
            "2,000.00",
            f"{YEAR + 1}年挂牌单位专项配套经费",
            "挂牌单位配套",
            None,
        ]
        for code, _ in codes
        if code != CANCELLED
    ]
    host_unit = next(r[4] for r in members if r[0] == SUPPORTED and r[3] == "主持人")
    schools = sorted({r[4] for r in members if r[0] == SUPPORTED and r[3] == "成员"} - {host_unit})
    for school, amount in zip(schools[:2], ("3,000.00", "1,000.00"), strict=True):
        rows.append(
            [
                f"{YEAR + 1}-04-20",
                SUPPORTED,
                amount,
                f"{school}支持工作室经费",
                "成员单位支持",
                school,
            ]
        )
    return {"配套资金": rows}


def _expenses_2025(codes: list[tuple[str, str]]) -> dict[str, list[list[Any]]]:
    """Plans and spending of 2025: materials from the matching fund, a mentor's travel
    from the education foundation's, training from the members' schools' support."""
    plans, spent = [], []
    for code, _ in codes[:10]:
        plans.append([YEAR + 1, code, "资料费", "1,500.00"])
        spent.append(
            [
                f"{YEAR + 1}-05-10",
                code,
                "单位配套",
                "资料费",
                "1,200.00",
                "购买教研资料",
                None,
                None,
            ]
        )
    plans.append([YEAR + 1, SUPPORTED, "差旅费", "3,000.00"])
    plans.append([YEAR + 1, SUPPORTED, "培训费", "2,000.00"])
    spent.append(
        [
            f"{YEAR + 1}-06-12",
            SUPPORTED,
            "立教教育基金",
            "差旅费",
            "2,380.00",
            "特聘导师来旗指导往返交通",
            "赵敏",
            MENTOR_ID,
        ]
    )
    spent.append(
        [
            f"{YEAR + 1}-09-18",
            SUPPORTED,
            "成员单位支持",
            "培训费",
            "1,600.00",
            "成员校联合教研培训",
            None,
            None,
        ]
    )
    return {"支出": spent, "支出计划": plans}


def _cycle_statements(engine: Engine, folder: Path, today: date) -> list[Path]:
    """The cycle's books as they stand: its 明细账 2024-2026 (上年结转 year to year), the
    summary of its last year, and the trial balance after the close (January 2027) or,
    while that has not come, today."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.xlsx" for name in cycle_statements(today)]
    with UnitOfWork(engine, write=False) as uow:
        statements.export_ledger(uow, YEAR, LAST_YEAR, paths[0], AUDITOR)
        statements.export_summary(uow, LAST_YEAR, paths[1], AUDITOR)
        statements.export_trial_balance(uow, min(CYCLE_END, today), paths[2], AUDITOR)
    return paths
