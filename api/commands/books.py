"""``studio-ledger balance``, ``verify`` and ``periods``: reading and closing the books."""

from __future__ import annotations

import sys

import click

from api.commands.base import (
    AS_USER,
    JSON,
    console,
    nothing,
    parse_date,
    print_json,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import VerifyOut, balance_out, closed_out, period_out, verify_out
from ledger import book, closing, program, statements


@click.command()
@click.argument("address")
@click.option("--as-of", "as_of", metavar="DATE", help="Balance at the end of this date.")
@JSON
@click.pass_context
@refusals_exit
def balance(ctx: click.Context, address: str, as_of: str | None, as_json: bool) -> None:
    """The balance of the account at ADDRESS (its 科目 and 借或贷), now or as of a date."""
    when = parse_date(as_of, "--as-of")
    found = balance_out(
        reading(ctx, lambda uow: statements.account_balance(uow, address, when)), when
    )
    if as_json:
        print_json(found)
        return
    click.echo(
        f"{found.code} {found.name}  {found.direction} {found.balance}"
        + (f"（截至 {as_of}）" if as_of else "")
    )


def describe_verify(report: book.VerifyReport | VerifyOut) -> list[str]:
    """The verify report in plain words, one line per finding."""
    shown = report if isinstance(report, VerifyOut) else verify_out(report)
    if shown.ok:
        return [
            f"ok: {shown.transactions} transactions, hash chain intact, balances agree; "
            f"last hash {shown.last_hash or '-'}"
        ] + (
            [f"anchor {shown.anchor} (keep it: verify --anchor {shown.anchor})"]
            if shown.anchor
            else []
        )
    lines: list[str] = []
    if shown.head_mismatch is not None:
        lines.append(f"HEAD: {shown.head_mismatch}")
    lines.extend(f"ANCHOR: {failure}" for failure in shown.anchor_failures)
    if (link := shown.broken_link) is not None:
        lines.append(f"BROKEN: first broken link at seq {link.seq} ({link.voucher}): {link.reason}")
    lines.extend(
        f"MISMATCH: {m.address} kept {m.kept_fen} fen, postings sum to {m.derived_fen} fen"
        for m in shown.balance_mismatches
    )
    lines.extend(f"NEGATIVE: guarded account {a} is below zero" for a in shown.guard_violations)
    return lines


@click.command()
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="An anchor printed earlier (statement, period close): the ledger must still hold it.",
)
@JSON
@click.pass_context
@refusals_exit
def verify(ctx: click.Context, anchors: tuple[str, ...], as_json: bool) -> None:
    """Check the hash chain, its kept head, that every kept balance equals its postings,
    and that the ledger still holds each --anchor.

    Exits 1 when anything does not hold, naming the first broken link or the anchor.
    """
    kept = [book.parse_anchor(a) for a in anchors]
    report = verify_out(reading(ctx, lambda uow: book.verify(uow.ledger, kept)))
    if as_json:
        print_json(report)
    else:
        for line in describe_verify(report):
            click.echo(line)
    if not report.ok:
        sys.exit(1)


@click.group()
def periods() -> None:
    """Accounting periods (会计期间): months, closed in order (结账)."""


@periods.command("close")
@click.argument("period", metavar="YYYY-MM")
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def periods_close(ctx: click.Context, period: str, as_user: str, as_json: bool) -> None:
    """Close PERIOD and every month before it (approver or admin); December is 年结."""
    closed = writing(
        ctx,
        as_user,
        "period.close",
        lambda uow: closed_out(closing.close(uow, period, as_user, program.today())),
        lambda c: f"period:{c.period}",
    )
    if as_json:
        print_json(closed)
    else:
        click.echo(closed.message)


@periods.command("list")
@JSON
@click.pass_context
def periods_list(ctx: click.Context, as_json: bool) -> None:
    """Each month's state, its last voucher, and who closed it when (北京时间)."""
    states = [period_out(x) for x in reading(ctx, lambda uow: closing.states(uow, program.today()))]
    if as_json:
        print_json(states)
        return
    if not states:
        nothing("no periods yet: nothing has been posted")
        return
    shown = table(
        "会计期间 periods",
        "期间",
        "状态",
        "凭证数",
        "结账人",
        "结账时间（北京时间）",
        right=("凭证数",),
    )
    for x in states:
        shown.add_row(
            x.period,
            x.label,
            str(x.last_voucher),
            x.closed_by or "",
            f"{x.closed_at:%Y-%m-%d %H:%M}" if x.closed_at else "",
        )
    console.print(shown)
