"""``studio-ledger batches``: prepare, approve, pay and export disbursement batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from api.commands.base import (
    AS_USER,
    JSON,
    ON_DATE,
    READ_AS,
    audit,
    beijing,
    console,
    engine,
    named,
    nothing,
    on_date,
    print_json,
    progress,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import (
    BatchHistory,
    BatchOut,
    BatchSummary,
    CreatedBatchOut,
    LeftOutLine,
    ReconciliationOut,
    batch_history,
    batch_out,
    batch_summary,
    created_batch_out,
    left_out_lines,
)
from ledger.batches import disbursement
from ledger.batches.batch import STATE_LABELS
from ledger.errors import ValidationError, digits
from ledger.money import format_plain
from ledger.workbooks import bank_results, payout_files
from schema.db import UnitOfWork


@click.group()
def batches() -> None:
    """发放批次：生成、审批、银行结果、导出 (disbursement batches).

    Disbursement batches (劳务补贴发放): create, approve, confirm, export."""


def summary(b: BatchSummary) -> str:
    """One line saying where a batch stands, in Chinese."""
    approved = f"，审批 {'、'.join(b.approved_by)}" if b.approved_by else ""
    return (
        f"批次 #{b.id} {b.year}年 {b.state_label}：{b.lines_count} 人，"
        f"应发 {format_plain(b.gross_fen)} 元，代扣税 {format_plain(b.current_tax_fen)} 元，"
        f"实发 {format_plain(b.current_net_fen)} 元；经办 {b.prepared_by}{approved}"
        f"（需 {b.approvals_needed} 人审批）"
    )


def show_reconciliation(r: ReconciliationOut) -> None:
    """对账, one outcome a line, so it reads at 80 columns."""
    if not r.sent.count:
        click.echo(r.text)
        return
    click.echo(f"对账：{'已全部对平' if r.reconciled else '尚未对平'}")
    for label, tally in (
        ("已发送", r.sent),
        ("成功", r.succeeded),
        ("银行退回待处理", r.failed),
        ("待银行答复", r.pending),
        ("已重新发放", r.reissued),
        ("已退回资金", r.returned),
    ):
        click.echo(f"  {label} {tally.count} 笔 {format_plain(tally.amount_fen)} 元")


def show_lines(b: BatchOut) -> None:
    shown = table(
        f"批次 #{b.id} 明细",
        "行",
        "工作室",
        "姓名",
        "角色",
        "月数",
        "应发",
        "代扣税",
        "实发",
        "状态",
        money=("应发", "代扣税", "实发"),
        right=("行", "月数"),
        keep=("工作室",),
    )
    for x in b.lines:
        shown.add_row(
            str(x.number),
            x.studio,
            named(x.name, x.person),
            x.role_label,
            str(len(x.months)),
            format_plain(x.gross_fen),
            format_plain(x.final_tax_fen if x.final_tax_fen is not None else x.tax_fen),
            format_plain(x.sent_fen),
            x.status_label + (f"（{x.failure_reason}）" if x.failure_reason else ""),
        )
    console.print(shown)


def _act(
    ctx: click.Context,
    by: str,
    verb: str,
    batch_id: int,
    run: Callable[[UnitOfWork], disbursement.Outcome],
) -> None:
    with progress(f"batch #{batch_id}: {verb}"):
        message, batch = writing(
            ctx,
            by,
            f"batch.{verb}",
            lambda uow: ((o := run(uow)).message, batch_summary(o.batch)),
            lambda _: f"batch:{batch_id}",
        )
    click.echo(message)  # the batch's totals, not its lines: a national batch has 900,000
    click.echo(summary(batch))


@batches.command("list")
@click.option("--year", type=int)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def batches_list(ctx: click.Context, as_user: str | None, year: int | None, as_json: bool) -> None:
    """列出发放批次及状态、合计 (list batches).

    Every batch with its state and totals."""
    found = [
        batch_summary(b)
        for b in reading(ctx, "batch.read", as_user, lambda uow: disbursement.batches(uow, year))
    ]
    if as_json:
        print_json(found)
    elif not found:
        nothing("no batches" + (f" for {year}" if year else "") + " yet")
    for b in [] if as_json else found:
        click.echo(summary(b))


@batches.command("create")
@click.option("--year", type=int, required=True)
@AS_USER
@ON_DATE
@JSON
@click.pass_context
@refusals_exit
def batches_create(
    ctx: click.Context, year: int, as_user: str, on: str | None, as_json: bool
) -> None:
    """生成发放批次：某年度应发未发的劳务补贴 (create a draft).

    A draft batch from YEAR's entitlements not yet paid (held lines listed, not paid)."""

    def create(uow: UnitOfWork) -> tuple[CreatedBatchOut | None, BatchSummary, list[LeftOutLine]]:
        c = disbursement.create(uow, year, as_user, on_date(on))
        if not as_json:  # the totals, not every line: a national batch has 900,000
            return None, batch_summary(c.batch), left_out_lines(c)
        whole = replace(c, batch=disbursement.with_lines(uow, c.batch))
        shape = created_batch_out(whole, disbursement.payee_names(uow, whole.batch))
        return shape, batch_summary(whole.batch), shape.left_out

    with progress(f"computing the {year} batch", disable=as_json):
        shape, made, left_out = writing(
            ctx, as_user, "batch.create", create, lambda c: f"batch:{c[1].id}"
        )
    if shape is not None:
        print_json(shape)
        return
    click.echo(summary(made))
    for x in left_out:
        click.echo(
            f"未列入 left out: {x.studio} {x.name}（{x.person}，{x.role_label}）：{x.reason}"
        )


@batches.command("show")
@click.argument("batch_id", type=int)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def batches_show(ctx: click.Context, as_user: str | None, batch_id: int, as_json: bool) -> None:
    """查看发放批次：明细行、办理记录、对账 (show a batch).

    A batch's lines (payees named) and its history."""

    def load(uow: UnitOfWork) -> BatchHistory:
        batch, events = disbursement.show(uow, batch_id)
        return batch_history(
            batch,
            events,
            disbursement.payee_names(uow, batch),
            disbursement.roster_changes(uow, batch),
        )

    shown = reading(ctx, "batch.read", as_user, load)
    if as_json:
        print_json(shown)
        return
    click.echo(summary(shown))
    show_lines(shown)
    show_reconciliation(shown.reconciliation)
    for x in shown.lines:
        if x.roster_change:
            click.echo(f"注意 第{x.number}行 {x.name}：{x.roster_change}")
    for e in shown.events:
        click.echo(
            f"{beijing(e.at)} {e.actor} {e.action}: "
            f"{STATE_LABELS[e.from_state]} → {STATE_LABELS[e.to_state]}"
            + (f"（{e.reason}）" if e.reason else "")
        )


@batches.command("approve")
@click.argument("batch_id", type=int)
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def batches_approve(ctx: click.Context, batch_id: int, as_user: str, on: str | None) -> None:
    """审批发放批次 (approve).

    Approve; the last approval needed moves every line to payable."""
    _act(
        ctx,
        as_user,
        "approve",
        batch_id,
        lambda uow: disbursement.approve(uow, batch_id, as_user, on_date(on)),
    )


@batches.command("reject")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True)
@AS_USER
@click.pass_context
@refusals_exit
def batches_reject(ctx: click.Context, batch_id: int, reason: str, as_user: str) -> None:
    """驳回发放批次草稿 (reject a draft).

    Refuse a draft; its lines can be paid in a new batch."""
    _act(
        ctx,
        as_user,
        "reject",
        batch_id,
        lambda uow: disbursement.reject(uow, batch_id, as_user, reason),
    )


@batches.command("cancel")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True)
@AS_USER
@click.pass_context
@refusals_exit
def batches_cancel(ctx: click.Context, batch_id: int, reason: str, as_user: str) -> None:
    """作废发放批次草稿 (withdraw a draft).

    Withdraw a draft."""
    _act(
        ctx,
        as_user,
        "cancel",
        batch_id,
        lambda uow: disbursement.cancel(uow, batch_id, as_user, reason),
    )


def failures(values: tuple[str, ...]) -> dict[int, str]:
    """``LINE:REASON`` options as line number → reason."""
    failed: dict[int, str] = {}
    for value in values:
        number, _, reason = value.partition(":")
        if not digits(number.strip()) or not reason.strip():
            raise ValidationError(
                "--failed", f"应写作 行号:原因，如 3:账户已销户；而不是 {value!r}"
            )
        failed[int(number)] = reason.strip()
    return failed


@batches.command("confirm")
@click.argument("batch_id", type=int)
@click.option(
    "--failed",
    multiple=True,
    metavar="LINE:REASON",
    help="A line the bank returned, with the reason (repeatable).",
)
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def batches_confirm(
    ctx: click.Context, batch_id: int, failed: tuple[str, ...], as_user: str, on: str | None
) -> None:
    """确认支付：手工登记银行答复 (record the bank's answer).

    Record the bank's answer: every line paid except the --failed ones."""
    returned = failures(failed)
    _act(
        ctx,
        as_user,
        "confirm",
        batch_id,
        lambda uow: disbursement.confirm(uow, batch_id, as_user, on_date(on), returned),
    )


@batches.command("results")
@click.argument("batch_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def batches_results(
    ctx: click.Context, batch_id: int, file: Path, as_user: str, on: str | None
) -> None:
    """读入银行结果文件：成功确认、失败登记 (read the bank's results).

    Read the bank's result file (xlsx or CSV, the bank file's rows with 处理结果 and
    失败原因): confirm every 成功 line and record every 失败 line, all or nothing; the same
    file read again changes nothing."""
    _act(
        ctx,
        as_user,
        "results",
        batch_id,
        lambda uow: bank_results.answer(uow, batch_id, file, as_user, on_date(on)),
    )


@batches.command("reissue")
@click.option("--year", type=int, required=True)
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def batches_reissue(ctx: click.Context, year: int, as_user: str, on: str | None) -> None:
    """重新发放：银行退回的行另建批次 (reissue failed lines).

    A draft batch paying again YEAR's failed lines (bank details read anew)."""
    made = writing(
        ctx,
        as_user,
        "batch.reissue",
        lambda uow: batch_out(
            b := disbursement.reissue(uow, year, as_user, on_date(on)),
            disbursement.payee_names(uow, b),
        ),
        lambda b: f"batch:{b.id}",
    )
    click.echo(summary(made))


@batches.command("return")
@click.argument("batch_id", type=int)
@click.argument("line", type=int)
@AS_USER
@ON_DATE
@click.pass_context
@refusals_exit
def batches_return(
    ctx: click.Context, batch_id: int, line: int, as_user: str, on: str | None
) -> None:
    """退回资金：银行退回的款项回到工作室 (return a failed line).

    Send a failed line's money back to the studio's fund (a reversal)."""
    _act(
        ctx,
        as_user,
        "return",
        batch_id,
        lambda uow: disbursement.return_to_fund(uow, batch_id, line, as_user, on_date(on)),
    )


@batches.command("close")
@click.argument("batch_id", type=int)
@AS_USER
@click.pass_context
@refusals_exit
def batches_close(ctx: click.Context, batch_id: int, as_user: str) -> None:
    """关闭已发放的批次 (close a paid batch).

    Close a paid batch (failed lines must be reissued or returned first)."""
    _act(ctx, as_user, "close", batch_id, lambda uow: disbursement.close(uow, batch_id, as_user))


@batches.command("export")
@click.argument("batch_id", type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@AS_USER
@click.pass_context
@refusals_exit
def batches_export(ctx: click.Context, batch_id: int, out_dir: Path, as_user: str) -> None:
    """导出发放表和银行代发文件 (write roster and bank file).

    Write the payout roster and (cashier, batch sent to the bank) the bank file;
    each file written is an audit entry."""
    with progress(f"writing batch #{batch_id}'s files"), UnitOfWork(engine(ctx)) as uow:
        exported = payout_files.export(uow, batch_id, as_user, out_dir)
        audit(uow, as_user, "batch.roster", f"batch:{batch_id}")
        if exported.bank_total is not None:
            audit(uow, as_user, "batch.bank_file", f"batch:{batch_id}")
        uow.commit()
    for path in exported.files:
        click.echo(f"wrote {path}")
    for note in exported.notes:
        click.echo(note)
