"""``studio-ledger receipts`` and ``expenses``: one matching receipt or activity expense
at a time (the Excel import records many)."""

from __future__ import annotations

from collections.abc import Callable

import click

from api.commands.base import AS_USER, JSON, on_date, print_json, refusals_exit, writing
from api.shapes import RecordedOut, recorded_out
from ledger.books import book
from ledger.books.postings import Transaction
from ledger.codes import ExpenseCategory, FundingSource, ReceiptKind, describe
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, Receipt
from ledger.money import format_plain, parse_amount
from schema.db import UnitOfWork

DATE = click.option(
    "--on", "on", metavar="DATE", required=True, help="The date it was received or paid."
)
STUDIO = click.option("--studio", required=True, metavar="CODE", help="The studio's code.")
AMOUNT = click.option(
    "--amount", required=True, metavar="YUAN", help="Amount in 元, e.g. 2000 or 1,500.50."
)
MEMO = click.option("--memo", required=True, help="摘要: what the auditors read.")


def _record(
    ctx: click.Context,
    by: str,
    kind: str,
    post: Callable[[UnitOfWork], list[Transaction]],
    as_json: bool,
) -> None:
    """Post as ``by`` and say what was posted (nothing, when it was recorded before)."""

    def run(uow: UnitOfWork) -> RecordedOut:
        before = book.chain_end(uow.ledger)[0]
        return recorded_out(post(uow), before)

    recorded = writing(ctx, by, f"{kind}.record", run, lambda _: f"{kind}s")
    if as_json:
        print_json(recorded)
        return
    for t in recorded.transactions:
        total = sum(p.amount_fen for p in t.postings)
        click.echo(f"{kind} {t.voucher} {t.effective_date} {format_plain(total)} 元: {t.memo}")
    if not recorded.changed:
        click.echo("already recorded: nothing was posted again")


@click.group()
def receipts() -> None:
    """配套/支持资金到账：登记单位拨入的资金 (receipts).

    Money a unit gives a studio: host unit matching (单位配套), members' units' support."""


@receipts.command("add")
@DATE
@STUDIO
@AMOUNT
@MEMO
@click.option(
    "--kind",
    type=click.Choice([k.value for k in ReceiptKind]),
    default="matching",
    show_default=True,
    help=f"{describe(ReceiptKind)}; only matching counts toward the host unit's minimum.",
)
@click.option("--unit", default="", help="The unit that paid (required for support).")
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def receipts_add(
    ctx: click.Context,
    on: str,
    studio: str,
    amount: str,
    memo: str,
    kind: str,
    unit: str,
    as_user: str,
    as_json: bool,
) -> None:
    """登记一笔配套或支持资金到账 (record a receipt).

    Record one receipt (clerk): the host unit's matching into the studio's matching
    fund, or a member's unit's support into its support fund, kept apart."""
    receipt = Receipt(
        on_date(on),
        studio,
        parse_amount(amount, field="--amount"),
        memo,
        kind,
        unit,
    )

    _record(
        ctx,
        as_user,
        "receipt",
        lambda uow: fund_services.receive_matching(uow, [receipt], by=as_user),
        as_json,
    )


@click.group()
def expenses() -> None:
    """活动经费支出：在计划和余额内登记 (activity expenses).

    Activity expenses paid from a studio's funds, within plan and balance (专款专用)."""


@expenses.command("add")
@DATE
@STUDIO
@click.option(
    "--source",
    required=True,
    type=click.Choice([s.value for s in FundingSource]),
    help=f"The fund it is paid from: {describe(FundingSource)}.",
)
@click.option(
    "--category",
    required=True,
    type=click.Choice([c.value for c in ExpenseCategory]),
    help=f"{describe(ExpenseCategory)}.",
)
@AMOUNT
@MEMO
@click.option("--claimant", default="", help="报销人: who claimed it (required for travel).")
@click.option(
    "--claimant-id",
    default="",
    metavar="ID_NUMBER",
    help="The claimant's 身份证号 (required for travel: a paid member's travel is refused).",
)
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def expenses_add(
    ctx: click.Context,
    on: str,
    studio: str,
    source: str,
    category: str,
    amount: str,
    memo: str,
    claimant: str,
    claimant_id: str,
    as_user: str,
    as_json: bool,
) -> None:
    """登记一笔活动经费支出 (record an expense).

    Record one activity expense (clerk); refused over the category's plan or the fund,
    and a travel claim of a paid member of the studio (含差旅费)."""
    expense = Expense(
        on_date(on),
        studio,
        source,
        category,
        parse_amount(amount, field="--amount"),
        memo,
        claimant.strip(),
        claimant_id.strip(),
    )

    _record(
        ctx,
        as_user,
        "expense",
        lambda uow: fund_services.spend(uow, [expense], by=as_user),
        as_json,
    )
