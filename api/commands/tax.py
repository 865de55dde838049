"""``studio-ledger tax``: the withheld tax paid over to the tax office (缴纳)."""

from __future__ import annotations

import click

from api.commands.base import AS_USER, ON_DATE, on_date, refusals_exit, writing
from ledger.books.periods import Period
from ledger.money import format_plain
from ledger.tax import remittance


@click.group("tax")
def tax_group() -> None:
    """代扣个人所得税：缴纳某月税款 (withheld tax: pay it over).

    代扣个人所得税: declared monthly (statements withholding), paid over here."""


@tax_group.command("remit")
@click.option("--month", required=True, metavar="YYYY-MM")
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def tax_remit(ctx: click.Context, month: str, as_user: str, on: str | None) -> None:
    """缴纳某月已申报的代扣个人所得税 (pay a month's tax over).

    Pay MONTH's declared tax over: 应交税费 → 银行存款, once, after the month and
    once the bank has answered for its payments (the 出纳)."""
    period = Period.parse(month, field="--month")
    paid = writing(
        ctx,
        as_user,
        "tax.remit",
        lambda uow: remittance.remit(uow, period, as_user, on_date(on)),
        lambda r: f"tax:{r.month}",
    )
    click.echo(
        f"已缴纳{paid.month.year}年{paid.month.month}月代扣个人所得税 "
        f"{format_plain(paid.amount)} 元（{paid.people}人，凭证 {paid.voucher}）"
    )
