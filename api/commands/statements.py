"""``studio-ledger statements``: the auditors' workbooks (明细账, 收支汇总表, 科目余额表)."""

from __future__ import annotations

from pathlib import Path

import click

from api.commands.base import AS_USER, parse_date, progress, reading, refusals_exit, writing
from ledger import program
from ledger.books.periods import Period
from ledger.money import format_amount, format_plain
from ledger.registry import roster_services
from ledger.workbooks import statements

OUT_FILE = click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True
)


@click.group("statements")
def statements_group() -> None:
    """审计报表：导出明细账、汇总表、科目余额表 (auditor workbooks).

    Auditor statements as xlsx (auditor or admin; the exporter is printed on them)."""


@statements_group.command("ledger")
@click.option("--year", type=int, required=True)
@click.option("--cycle", is_flag=True, help="The whole 3-year cycle that starts in --year.")
@click.option("--studio", help="One studio's code (default: every studio).")
@OUT_FILE
@AS_USER
@click.pass_context
@refusals_exit
def statements_ledger(
    ctx: click.Context, year: int, cycle: bool, studio: str | None, out: Path, as_user: str
) -> None:
    """导出专项资金明细账 (the fund ledger, xlsx).

    专项资金明细账: one sheet per studio and funding source."""

    def export(uow: program.Stores) -> int:
        last = year + roster_services.policy(uow, year).cycle_years - 1 if cycle else year
        return statements.export_ledger(uow, year, last, out, as_user, studio)

    with progress(f"writing {out.name}"):
        rows = reading(ctx, "statement.export", as_user, export)
    click.echo(f"wrote {out}: {rows} entries")


@statements_group.command("summary")
@click.option("--year", type=int, required=True)
@OUT_FILE
@AS_USER
@click.pass_context
@refusals_exit
def statements_summary(ctx: click.Context, year: int, out: Path, as_user: str) -> None:
    """导出专项资金收支汇总表 (the summary, xlsx).

    专项资金收支汇总表: studio × source, tied to the ledger."""
    with progress(f"writing {out.name}"):
        lines = reading(
            ctx,
            "statement.export",
            as_user,
            lambda uow: statements.export_summary(uow, year, out, as_user),
        )
    click.echo(
        f"wrote {out}: {len(lines)} studio-source lines, closing "
        f"{format_amount(sum(x.closing for x in lines))}"
    )


@statements_group.command("trial-balance")
@click.option("--date", "day", required=True, metavar="DATE")
@click.option(
    "--all", "every", is_flag=True, help="Show the rows zero in every column too (显示全部)."
)
@OUT_FILE
@AS_USER
@click.pass_context
@refusals_exit
def statements_trial_balance(
    ctx: click.Context, day: str, every: bool, out: Path, as_user: str
) -> None:
    """导出科目余额表和辅助余额表 (trial balance, xlsx).

    科目余额表 and 辅助余额表 for a date; debits equal credits."""
    on = parse_date(day, "--date") or program.today()
    with progress(f"writing {out.name}"):
        lines = reading(
            ctx,
            "statement.export",
            as_user,
            lambda uow: statements.export_trial_balance(uow, on, out, as_user, every=every),
        )
    moved = sum(1 for x in lines if x.moved)
    click.echo(
        f"wrote {out}: {len(lines)} ledger accounts, "
        + ("every one listed" if every else f"{len(lines) - moved} that never moved left out")
    )


@statements_group.command("withholding")
@click.option("--month", required=True, metavar="YYYY-MM")
@OUT_FILE
@AS_USER
@click.pass_context
@refusals_exit
def statements_withholding(ctx: click.Context, month: str, out: Path, as_user: str) -> None:
    """导出扣缴个人所得税报告表 (a month's withholding, xlsx).

    扣缴个人所得税报告表 of a month: a row per person across all studios, tied to the
    tax account (whole 身份证号 for the 出纳 who files it; audit-logged)."""
    period = Period.parse(month, field="--month")
    with progress(f"writing {out.name}"):
        found = writing(
            ctx,
            as_user,
            "statement.withholding",
            lambda uow: statements.export_withholding(uow, period, out, as_user),
            lambda d: f"withholding:{d.month}",
        )
    click.echo(
        f"wrote {out}: {len(found.lines)} 人，收入额 {format_plain(found.income)} 元，"
        f"应纳税额 {format_plain(found.due)} 元，已扣缴税额 {format_plain(found.withheld)} 元"
    )
    click.echo(statements.tie_line(found))
