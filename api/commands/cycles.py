"""``studio-ledger cycles`` and ``funding``: the program cycle (工作周期) — each studio's
cycles, their close (终结) and renewal (继续命名) — and the 领导小组's decisions restoring
a studio held back by its grade (考核发放)."""

from __future__ import annotations

import click

from api.commands.base import (
    AS_USER,
    JSON,
    READ_AS,
    console,
    nothing,
    on_date,
    print_json,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import (
    CycleOut,
    cycle_closed_out,
    cycle_out,
    funding_decision_out,
    renewed_out,
)
from ledger import program
from ledger.funds import fund_services
from ledger.money import format_plain
from ledger.registry import cycle_services, roster_services
from ledger.registry.cycles import POOL_LABELS
from schema.db import UnitOfWork

ON = click.option(
    "--on", "on", metavar="DATE", help="The date it takes effect (default: today, 北京时间)."
)


@click.group()
def cycles() -> None:
    """工作周期：列出、终结、继续命名 (studios' cycles).

    Each studio's cycles: list them, close one (终结), rename a studio (继续命名)."""


@cycles.command("list")
@click.option("--studio", metavar="CODE", help="One studio's cycles only.")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def cycles_list(ctx: click.Context, as_user: str | None, studio: str | None, as_json: bool) -> None:
    """列出各工作室的工作周期 (list cycles).

    Every studio's cycles: years, state, final grade (考核, the last year's), what its
    close returned, and whether it was renamed; --json adds the close's voucher and what
    went back per pool."""

    def load(uow: UnitOfWork) -> list[CycleOut]:
        only = None if studio is None else [roster_services.studio(uow, studio).code]
        return [cycle_out(v) for v in cycle_services.cycle_views(uow, program.today(), only)]

    found = reading(ctx, "registry.read", as_user, load)
    if as_json:
        print_json(found)
        return
    if not found:
        nothing("no cycles yet: import a roster (`studio-ledger import roster FILE --as CLERK`)")
        return
    shown = table(
        f"工作周期 cycles ({len(found)})",
        "工作室",
        "周期",
        "状态",
        "考核",
        "退回资金",
        "续期",
        money=("退回资金",),
        keep=("工作室", "周期", "状态"),
    )
    for c in found:
        shown.add_row(
            c.studio,
            f"{c.number} {c.first_year}-{c.last_year}",
            c.state_label,
            c.final_grade_label or "-",
            format_plain(c.returned_total_fen) if c.closed_on else "-",
            c.outcome_label or "-",
        )
    console.print(shown)


@cycles.command("close")
@click.argument("code")
@ON
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def cycles_close(
    ctx: click.Context, code: str, on: str | None, as_user: str, as_json: bool
) -> None:
    """终结工作周期：结余资金退回来源 (close an ended cycle).

    Close CODE's ended cycle: return every unspent fen to its source in one voucher
    (clerk or approver). Refused while a stipend of the studio waits or is unsettled."""
    when = on_date(on)
    closed = writing(
        ctx,
        as_user,
        "cycle.close",
        lambda uow: cycle_closed_out(cycle_services.close_cycle(uow, code, when, by=as_user)),
        lambda c: f"cycle:{c.studio}:{c.number}",
    )
    if as_json:
        print_json(closed)
        return
    if closed.voucher is None:
        click.echo(
            f"{closed.studio} {closed.label} closed on {closed.closed_on}: 无结余 nothing left"
        )
    else:
        click.echo(
            f"{closed.studio} {closed.label} closed on {closed.closed_on} ({closed.voucher}): "
            f"returned {closed.returned_total}"
        )
        for pool, fen in closed.returned_fen.items():
            click.echo(f"  {POOL_LABELS[pool]} {format_plain(fen)}")
    if closed.not_renamed:
        click.echo(f"{closed.studio}: 终结性考核不合格，不再命名和授牌 (not renamed)")


@cycles.command("renew")
@click.argument("code")
@ON
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def cycles_renew(
    ctx: click.Context, code: str, on: str | None, as_user: str, as_json: bool
) -> None:
    """继续命名：工作室进入新的工作周期 (rename for a new cycle).

    Rename CODE for a new cycle (继续命名, admin): its last cycle closed and its final
    grade 优秀 or 合格 (the policy's renewal grades); funds the first year once it is due."""
    when = on_date(on)
    renewed = writing(
        ctx,
        as_user,
        "cycle.renew",
        lambda uow: renewed_out(cycle_services.renew_cycle(uow, code, when, by=as_user)),
        lambda r: f"cycle:{r.studio}:{r.number}",
    )
    if as_json:
        print_json(renewed)
        return
    click.echo(f"{renewed.studio} renamed: {renewed.label}")
    if renewed.appropriation is not None and renewed.appropriation.funded:
        click.echo(f"  {renewed.first_year} appropriation posted: {renewed.appropriation.total}")


@click.group()
def funding() -> None:
    """考核发放：领导小组恢复拨付的决定 (decisions restoring funding).

    考核发放: the 领导小组's decisions restoring a studio held back by its grade."""


@funding.command("restore")
@click.argument("code")
@click.option("--year", type=int, required=True, help="The year whose funding is restored.")
@click.option("--reason", required=True, help="The decision: what the 领导小组 decided and why.")
@click.option(
    "--percent", type=int, default=100, show_default=True, help="Share of the budget restored."
)
@ON
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def funding_restore(
    ctx: click.Context,
    code: str,
    year: int,
    reason: str,
    percent: int,
    on: str | None,
    as_user: str,
    as_json: bool,
) -> None:
    """恢复拨付：登记领导小组的决定 (record a decision).

    Record a 领导小组 decision restoring CODE's YEAR funding (admin); funds it at once
    when the year's appropriation day has passed."""
    when = on_date(on)
    decided = writing(
        ctx,
        as_user,
        "funding.decide",
        lambda uow: funding_decision_out(
            *fund_services.restore_funding(uow, code, year, percent, reason, by=as_user, on=when)
        ),
        lambda d: f"funding:{d.studio}:{d.year}",
    )
    if as_json:
        print_json(decided)
        return
    click.echo(
        f"{decided.studio} {decided.year}: funding restored to {decided.percent}% "
        f"by {decided.decided_by}: {decided.reason}"
    )
    if decided.appropriation is not None and decided.appropriation.funded:
        click.echo(f"  appropriation posted: {decided.appropriation.total}")
    else:
        click.echo(f"  the {decided.year} appropriation run funds it")


@funding.command("list")
@click.option("--year", type=int, required=True)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def funding_list(ctx: click.Context, as_user: str | None, year: int, as_json: bool) -> None:
    """列出某年度领导小组的决定 (list a year's decisions).

    The 领导小组's decisions for YEAR."""
    found = reading(
        ctx,
        "registry.read",
        as_user,
        lambda uow: [
            funding_decision_out(d) for d in fund_services.funding_decisions(uow, year).values()
        ],
    )
    if as_json:
        print_json(found)
        return
    if not found:
        nothing(f"no decisions for {year}")
        return
    shown = table(f"{year}年度领导小组决定", "工作室", "比例", "决定人", "理由", keep=("工作室",))
    for d in found:
        shown.add_row(d.studio, f"{d.percent}%", d.decided_by, d.reason)
    console.print(shown)
