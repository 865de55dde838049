"""``studio-ledger balance``, ``verify`` and ``periods``: reading and closing the books."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.commands.base import (
    AS_USER,
    JSON,
    ON_DATE,
    READ_AS,
    console,
    installing,
    nothing,
    on_date,
    parse_date,
    print_json,
    progress,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import (
    VoucherSummaryOut,
    balance_out,
    chain_keys_out,
    closed_out,
    period_out,
    transaction_out,
    verify_out,
    voucher_out,
    voucher_summary_out,
)
from ledger import program
from ledger.books import attachments, book, closing, corrections, statements
from ledger.books import vouchers as vouchers_of
from ledger.books.periods import Period
from ledger.codes import UserRole
from ledger.money import format_plain
from ledger.workbooks.vouchers import export_vouchers
from schema.db import UnitOfWork


@click.command()
@click.argument("address")
@click.option("--as-of", "as_of", metavar="DATE", help="Balance at the end of this date.")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def balance(
    ctx: click.Context, as_user: str | None, address: str, as_of: str | None, as_json: bool
) -> None:
    """账户余额：当前或某日的余额与借贷方向 (an account's balance).

    The balance of the account at ADDRESS (its 科目 and 借或贷), now or as of a date."""
    when = parse_date(as_of, "--as-of")
    found = balance_out(
        reading(
            ctx, "ledger.read", as_user, lambda uow: statements.account_balance(uow, address, when)
        ),
        when,
    )
    if as_json:
        print_json(found)
        return
    click.echo(
        f"{found.code} {found.name}  {found.direction} {found.balance}"
        + (f"（截至 {as_of}）" if as_of else "")
    )


def describe_verify(report: book.VerifyReport) -> list[str]:
    """The verify report in plain words, one line per finding."""
    if not report.ok:
        return report.problems()
    keyed = (
        ""
        if report.keyed_from is None or report.keyed_from > report.transactions
        else " (keyed from transaction 1)"
        if report.keyed_from == 1
        else f" (plain SHA-256 to {report.keyed_from - 1}, keyed from {report.keyed_from})"
    )
    return [
        f"ok: {report.transactions} transactions, hash chain intact{keyed}, balances agree; "
        f"last hash {report.last_hash or '-'}"
    ] + (
        [f"anchor {report.anchor} (keep it: verify --anchor {report.anchor})"]
        if report.anchor
        else []
    )


@click.command()
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    metavar="SEQ:HASH",
    help="An anchor printed earlier (statement, period close): the ledger must still hold it.",
)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def verify(
    ctx: click.Context, as_user: str | None, anchors: tuple[str, ...], as_json: bool
) -> None:
    """账簿完整性校验：哈希链、余额、锚点 (check chain and balances).

    Check the hash chain, its kept head, that every kept balance equals its postings,
    and that the ledger still holds each --anchor.

    Exits 1 when anything does not hold, naming the first broken link or the anchor.
    """
    kept = [book.parse_anchor(a) for a in anchors]
    report = reading(ctx, "ledger.verify", as_user, lambda uow: attachments.verified(uow, kept))
    if as_json:
        print_json(verify_out(report, UserRole.ADMIN))  # the operator
    else:
        for line in describe_verify(report):
            click.echo(line)
    if not report.ok:
        sys.exit(1)


@click.group()
def keys() -> None:
    """账链密钥：存放位置、更换 (the chain key: list, rotate).

    The chain key (账链密钥) that seals the hash chain, kept outside the database."""


@keys.command("list")
@JSON
@click.pass_context
@refusals_exit
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """列出账链密钥的位置与启用交易 (list keys, never the key).

    Where the key ring is and each key's first transaction and id (never the key)."""
    found = installing(
        ctx,
        lambda uow: chain_keys_out(book.key_ring(uow.ledger)),
    )
    if as_json:
        print_json(found)
        return
    click.echo(f"key ring: {found.source}; the chain ends at transaction {found.chain_end}")
    if found.keyed_from > 1:
        click.echo(f"transactions 1-{found.keyed_from - 1}: plain SHA-256 (sealed before keying)")
    for k in found.keys:
        click.echo(
            f"key {k.key_id} seals from transaction {k.from_seq}"
            + (" (current)" if k.current else "")
        )


@keys.command("rotate")
@click.option(
    "--print",
    "print_only",
    is_flag=True,
    help="For a ring kept in STUDIO_LEDGER_CHAIN_KEY: print the rotated ring to set there "
    "(stop every writer first) instead of writing the key file.",
)
@click.pass_context
@refusals_exit
def keys_rotate(ctx: click.Context, print_only: bool) -> None:
    """更换账链密钥 (rotate: seal with a new key).

    Seal from the next transaction with a new key; earlier keys stay to check theirs.

    Writes the key file in place (atomically) while the chain head is locked, so every
    writer seals the next transaction with the new key. Audit-logged.
    """
    if print_only:
        ring = installing(ctx, lambda uow: book.rotate_chain_key(uow.ledger, save=False))
        click.echo(ring.env_text())
        return
    ring = writing(
        ctx,
        "(installation)",
        "chain.key_rotated",
        lambda uow: book.rotate_chain_key(uow.ledger),
        lambda made: f"chain-key:{made.current.id}",
    )
    click.echo(
        f"new key {ring.current.id} seals from transaction {ring.current.from_seq}; "
        "back up the key file again"
    )


@click.group()
def periods() -> None:
    """会计期间：列出、结账 (accounting periods: list, close).

    Accounting periods (会计期间): months, closed in order (结账)."""


@periods.command("close")
@click.argument("period", metavar="YYYY-MM")
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def periods_close(ctx: click.Context, period: str, as_user: str, as_json: bool) -> None:
    """结账：结至某月，12月为年结 (close a period).

    Close PERIOD and every month before it (approver or admin); December is 年结."""
    closed = writing(
        ctx,
        as_user,
        "period.close",
        lambda uow: closed_out(closing.close(uow, period, as_user)),
        lambda c: f"period:{c.period}",
    )
    if as_json:
        print_json(closed)
    else:
        click.echo(closed.message)


@periods.command("list")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def periods_list(ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """列出会计期间及结账情况 (list periods).

    Each month's state, its last voucher, and who closed it when (北京时间)."""
    states = [
        period_out(x)
        for x in reading(
            ctx, "ledger.read", as_user, lambda uow: closing.states(uow, program.today())
        )
    ]
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


@click.group()
def vouchers() -> None:
    """记账凭证：列出、查看、打印、红字冲销 (vouchers).

    记账凭证 (vouchers): a recorded one is never changed; it is reversed to correct it."""


@vouchers.command("list")
@click.option("--month", metavar="YYYY-MM", help="The month (default: this month).")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def vouchers_list(
    ctx: click.Context, month: str | None, as_user: str | None, as_json: bool
) -> None:
    """列出某月的记账凭证 (list a month's vouchers).

    A month's 记账凭证 in number order: 凭证号, 日期, 摘要, 合计."""
    period = Period.parse(month, field="--month") if month else Period.of(program.today())

    def load(uow: UnitOfWork) -> list[VoucherSummaryOut]:
        found, after = [], 0
        while page := vouchers_of.month_vouchers(uow, period, after=after):
            found += [voucher_summary_out(v) for v in page]
            after = page[-1].seq
        return found

    found = reading(ctx, "ledger.read", as_user, load)
    if as_json:
        print_json(found)
        return
    if not found:
        nothing(f"no vouchers in {period}")
        return
    shown = table(
        f"记账凭证 {period} ({len(found)})", "凭证号", "日期", "摘要", "合计", money=("合计",),
        keep=("凭证号", "日期"),
    )  # fmt: skip
    for v in found:
        shown.add_row(v.number, str(v.date), v.memo, v.total)
    console.print(shown)


@vouchers.command("show")
@click.argument("number", metavar="VOUCHER")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def vouchers_show(ctx: click.Context, number: str, as_user: str | None, as_json: bool) -> None:
    """查看一张记账凭证 (show a voucher).

    One 记账凭证: each line's 摘要, 科目, 辅助核算 and 借方 or 贷方; 合计 in figures and 大写."""
    found = reading(
        ctx, "ledger.read", as_user, lambda uow: voucher_out(vouchers_of.voucher(uow, number))
    )
    if as_json:
        print_json(found)
        return
    click.echo(f"{found.number}  {found.date}  {found.memo}")
    if found.reverses:
        click.echo(f"冲销 {found.reverses}")
    shown = table("记账凭证", "摘要", "科目", "辅助核算", "借方", "贷方", money=("借方", "贷方"))
    for x in found.lines:
        shown.add_row(
            x.memo,
            f"{x.code} {x.title}",
            x.item,
            format_plain(x.debit_fen) if x.debit_fen else "",
            format_plain(x.credit_fen) if x.credit_fen else "",
        )
    total = format_plain(found.total_fen)
    shown.add_row("合计", "", "", total, total)
    console.print(shown)
    click.echo(f"合计（大写）：{found.total_uppercase}")
    click.echo(
        f"附单据 {found.attachments} 张　制单：{found.maker}　审核：{'、'.join(found.checkers)}"
        f"　记账：{found.bookkeeper}　出纳：{found.cashier}"
    )


@vouchers.command("print")
@click.argument("numbers", nargs=-1, metavar="[VOUCHER]...")
@click.option("--month", metavar="YYYY-MM", help="Every voucher of the month, in number order.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@READ_AS
@click.pass_context
@refusals_exit
def vouchers_print(
    ctx: click.Context, numbers: tuple[str, ...], month: str | None, out: Path, as_user: str | None
) -> None:
    """打印记账凭证到 xlsx (print vouchers).

    Print 记账凭证 to an xlsx workbook, A5 landscape, one page each (a longer voucher
    continues with 过次页): the month's (--month) or the VOUCHERs named."""

    def write(uow: UnitOfWork) -> int:
        return export_vouchers(vouchers_of.printed(uow, month=month, numbers=numbers), out)

    with progress(f"writing vouchers to {out}"):
        written = reading(ctx, "ledger.read", as_user, write)
    click.echo(f"wrote {out}: {written} vouchers")


@vouchers.command("reverse")
@click.argument("number", metavar="VOUCHER")
@click.option("--reason", required=True, help="What is corrected and why (the 摘要 says it).")
@click.option(
    "--posting",
    "positions",
    type=int,
    multiple=True,
    metavar="N",
    help="Reverse only this posting (0 is the first; repeatable). Default: all of them.",
)
@ON_DATE
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def vouchers_reverse(
    ctx: click.Context,
    number: str,
    reason: str,
    positions: tuple[int, ...],
    on: str | None,
    as_user: str,
    as_json: bool,
) -> None:
    """红字冲销一张记账凭证 (reverse a voucher).

    Reverse VOUCHER (红字冲销, approver): a new voucher in an open month, on or after
    the original's date, that names it; then post the movement again as it should be."""
    reversal = writing(
        ctx,
        as_user,
        "voucher.reverse",
        lambda uow: transaction_out(
            corrections.reverse_voucher(
                uow, number, on_date(on), by=as_user, reason=reason, positions=positions or None
            )
        ),
        lambda t: f"voucher:{t.voucher}",
    )
    if as_json:
        print_json(reversal)
    else:
        click.echo(f"{reversal.voucher} {reversal.effective_date} {reversal.memo}")
