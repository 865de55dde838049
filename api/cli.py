"""``studio-ledger``: the operators' command line (SPEC §7).

The commands live in :mod:`api.commands`, one module per feature, and are loaded
only when run, so ``--help`` starts fast: :data:`COMMANDS` holds where each one
lives and its one-line help. Each command translates: it parses its arguments,
calls one service in one unit of work (as ``--as USER``, whose role the service
checks against :mod:`ledger.permissions`), commits if it wrote, and prints the
answer (``--json`` on every command that reads, in the HTTP service's shapes).
Domain refusals are printed as one line naming what was refused and end the
command with exit status 2; nothing is written.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

import click


class _Lazy(click.Group):
    """A group that imports a command's module only when the command runs."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        where, _ = self.lazy[cmd_name]
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command

    def format_commands(self, _ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`' one-line help, importing nothing."""
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError  # noqa: PLC0415 (kept off --help's path)

        from schema.db import failure_line, shown  # noqa: PLC0415

        try:
            return super().invoke(ctx)
        except OperationalError as failed:
            raise click.ClickException(
                f"the database at {shown(ctx.obj['db_url'])} failed: {failure_line(failed)}; "
                "the transaction in progress was rolled back"
            ) from None


COMMANDS: Final = {
    "appropriate": (
        "api.commands.registry:appropriate",
        "拨款：按上年考核结果拨付各工作室年度预算 (post the budgets).",
    ),
    "attachments": (
        "api.commands.attachments:attachments",
        "原始凭证：附加、列出、下载 (originals: attach, list, get).",
    ),
    "audit": ("api.commands.audit:audit", "审计日志：按人、操作、对象、日期查询 (the audit log)."),
    "backup": (
        "api.commands.backup:backup_command",
        "备份：整个账簿写入一个带校验和的归档 (back up the ledger).",
    ),
    "balance": (
        "api.commands.books:balance",
        "账户余额：当前或某日的余额与借贷方向 (an account's balance).",
    ),
    "cycles": ("api.commands.cycles:cycles", "工作周期：列出、终结、继续命名 (studios' cycles)."),
    "batches": (
        "api.commands.batches:batches",
        "发放批次：生成、审批、银行结果、导出 (disbursement batches).",
    ),
    "db": ("api.commands.setup:db", "数据库结构：建立或升级 (database schema, Alembic)."),
    "demo": ("api.commands.setup:demo", "演示：在新数据库上运行第一个工作周期 (run the demo)."),
    "entitlements": (
        "api.commands.registry:entitlements",
        "应发劳务补贴：某年度每人应发及暂缓原因 (stipends owed).",
    ),
    "expenses": (
        "api.commands.funds:expenses",
        "活动经费支出：在计划和余额内登记 (activity expenses).",
    ),
    "funding": (
        "api.commands.cycles:funding",
        "考核发放：领导小组恢复拨付的决定 (decisions restoring funding).",
    ),
    "import": (
        "api.commands.registry:import_group",
        "导入 Excel 工作簿：名册、考核结果、到账、支出 (Excel import).",
    ),
    "keys": ("api.commands.books:keys", "账链密钥：存放位置、更换 (the chain key: list, rotate)."),
    "jobs": (
        "api.commands.jobs:jobs_group",
        "作业：运行计划、运行记录、立即运行 (scheduled jobs).",
    ),
    "people": (
        "api.commands.registry:people",
        "人员：收款人，身份证号和银行账号脱敏 (the payees, masked).",
    ),
    "periods": (
        "api.commands.books:periods",
        "会计期间：列出、结账 (accounting periods: list, close).",
    ),
    "policy": (
        "api.commands.registry:policy_group",
        "资金政策：按年度分版本，存后不改 (funding policy by year).",
    ),
    "receipts": (
        "api.commands.funds:receipts",
        "配套/支持资金到账：登记单位拨入的资金 (receipts).",
    ),
    "restore": (
        "api.commands.backup:restore_command",
        "恢复：备份读入一个空的数据库 (restore a backup).",
    ),
    "scheduler": (
        "api.commands.setup:scheduler",
        "运行作业调度程序直至停止 (run the job scheduler).",
    ),
    "serve": ("api.commands.setup:serve", "启动管理控制台和 HTTP API (serve the console and API)."),
    "statements": (
        "api.commands.statements:statements_group",
        "审计报表：导出明细账、汇总表、科目余额表 (auditor workbooks).",
    ),
    "studios": (
        "api.commands.registry:studios",
        "工作室名录：列出、查看 (the registry of studios).",
    ),
    "tax": (
        "api.commands.tax:tax_group",
        "代扣个人所得税：缴纳某月税款 (withheld tax: pay it over).",
    ),
    "units": (
        "api.commands.registry:units",
        "单位：按编码列出单位及其账户 (units and their accounts).",
    ),
    "users": ("api.commands.users:users", "用户：角色与 API 令牌 (users, roles and API tokens)."),
    "verify": (
        "api.commands.books:verify",
        "账簿完整性校验：哈希链、余额、锚点 (check chain and balances).",
    ),
    "vouchers": ("api.commands.books:vouchers", "记账凭证：列出、查看、打印、红字冲销 (vouchers)."),
}


@click.group(
    cls=_Lazy,
    lazy=COMMANDS,
    help=(
        "名师工作室专项资金台账：拨款、到账、支出、发放、记账凭证与报表。\n\n"
        "Funding-and-subsidy ledger for the master teacher studio program (名师工作室)."
    ),
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="Database URL; else $DATABASE_URL; else ./studio-ledger.db (SQLite).",
)
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    from schema.db import database_url  # noqa: PLC0415 (kept off --help's path)

    ctx.ensure_object(dict)
    ctx.obj["db_url"] = database_url(db_url)
