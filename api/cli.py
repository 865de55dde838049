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
    "appropriate": ("api.commands.registry:appropriate", "Post each studio's budget for a year."),
    "attachments": ("api.commands.attachments:attachments", "原始凭证: attach, list, get."),
    "audit": ("api.commands.audit:audit", "The audit log, filtered by who, what, object, date."),
    "backup": ("api.commands.backup:backup_command", "备份：整个账簿写入一个带校验和的归档。"),
    "balance": ("api.commands.books:balance", "An account's balance, now or as of a date."),
    "cycles": ("api.commands.cycles:cycles", "Studios' cycles: list, close (终结), renew."),
    "batches": ("api.commands.batches:batches", "Disbursement batches: create, approve, pay."),
    "db": ("api.commands.setup:db", "Database schema (Alembic migrations)."),
    "demo": ("api.commands.setup:demo", "Run the program's first cycle on a fresh database."),
    "entitlements": ("api.commands.registry:entitlements", "Every stipend owed for a year."),
    "expenses": ("api.commands.funds:expenses", "Record an activity expense."),
    "funding": ("api.commands.cycles:funding", "Decisions restoring a held studio's funding."),
    "import": ("api.commands.registry:import_group", "Excel import: roster, grades, money."),
    "keys": ("api.commands.books:keys", "The chain key: where it is, rotate it."),
    "jobs": ("api.commands.jobs:jobs_group", "Scheduled jobs: schedules, runs, run now."),
    "people": ("api.commands.registry:people", "The payees (masked)."),
    "periods": ("api.commands.books:periods", "Accounting periods: list, close (结账)."),
    "policy": ("api.commands.registry:policy_group", "Funding policy records by year."),
    "receipts": ("api.commands.funds:receipts", "Record a unit's matching or support."),
    "restore": ("api.commands.backup:restore_command", "恢复：备份读入一个空的数据库。"),
    "scheduler": ("api.commands.setup:scheduler", "Run the job scheduler until stopped."),
    "serve": ("api.commands.setup:serve", "Serve the HTTP API."),
    "statements": ("api.commands.statements:statements_group", "Auditor workbooks (xlsx)."),
    "studios": ("api.commands.registry:studios", "The registry of studios."),
    "tax": ("api.commands.tax:tax_group", "代扣个人所得税: pay a month's tax over (缴纳)."),
    "units": ("api.commands.registry:units", "Units (单位) by code, and their accounts."),
    "users": ("api.commands.users:users", "Users, roles and API tokens."),
    "verify": ("api.commands.books:verify", "Check the hash chain and the balances."),
    "vouchers": ("api.commands.books:vouchers", "记账凭证: list, show, print, reverse (红字冲销)."),
}


@click.group(
    cls=_Lazy,
    lazy=COMMANDS,
    help="Funding-and-subsidy ledger for the master teacher studio program (名师工作室).",
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
