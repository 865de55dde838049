"""``studio-ledger audit``: the audit log, filtered by who, what, object and date."""

from __future__ import annotations

import click

from api.commands.base import (
    JSON,
    READ_AS,
    beijing,
    console,
    nothing,
    parse_date,
    print_json,
    reading,
    refusals_exit,
    table,
)
from api.shapes import audit_entry_out
from ledger import audit as audit_log
from ledger.clock import recorded_between


@click.group()
def audit() -> None:
    """审计日志：按人、操作、对象、日期查询 (the audit log).

    The audit log: every state change, who, what, when, from which request."""


@audit.command("list")
@click.option("--actor", metavar="USER", help="Only this user's changes.")
@click.option("--action", help="Only this action (`batch` matches every batch.*).")
@click.option("--object", "target", metavar="OBJECT", help="Only this object, e.g. batch:7.")
@click.option("--from", "from_day", metavar="DATE", help="From this day (北京时间).")
@click.option("--to", "to_day", metavar="DATE", help="To this day, inclusive (北京时间).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def audit_list(
    ctx: click.Context,
    as_user: str | None,
    actor: str | None,
    action: str | None,
    target: str | None,
    from_day: str | None,
    to_day: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """查询审计日志，按时间先后 (list entries, oldest first).

    Audit entries oldest first, read as an auditor or an admin (--as)."""
    since, until = recorded_between(
        parse_date(from_day, "--from"), parse_date(to_day, "--to"), fields=("--from", "--to")
    )
    found = [
        audit_entry_out(e)
        for e in reading(
            ctx,
            "audit.read",
            as_user,
            lambda uow: audit_log.entries(
                uow,
                0,
                limit,
                actor=actor,
                action=action,
                target=target,
                start=since,
                end=until,
            ),
        )
    ]
    if as_json:
        print_json(found)
        return
    if not found:
        nothing("no audit entries match")
        return
    shown = table("审计日志 audit log（北京时间）", "#", "时间", "用户", "操作", "对象", "请求")
    for e in found:
        shown.add_row(
            str(e.id),
            beijing(e.at),
            e.actor,
            e.action,
            e.object,
            e.request_id,
        )
    console.print(shown)
