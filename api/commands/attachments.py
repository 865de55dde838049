"""``studio-ledger attachments``: the originals (原始凭证) a voucher rests on."""

from __future__ import annotations

from pathlib import Path

import click

from api.commands.base import (
    AS_USER,
    JSON,
    READ_AS,
    audit,
    console,
    engine,
    nothing,
    print_json,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import attachment_out
from ledger.books import attachments as originals
from schema.db import UnitOfWork


@click.group()
def attachments() -> None:
    """原始凭证：附加、列出、下载 (originals: attach, list, get).

    原始凭证 attached to 记账凭证: PDF, OFD, JPEG, PNG or xlsx, kept and sealed."""


@attachments.command("add")
@click.argument("voucher")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default="", help="What the original is (发票号, 签收的发放表 …).")
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def attachments_add(
    ctx: click.Context, voucher: str, file: Path, note: str, as_user: str, as_json: bool
) -> None:
    """附加原始凭证：把文件附到一张记账凭证 (attach a file).

    Attach FILE to VOUCHER (记-2024-03-0002). Accepted by content, not by name: PDF,
    OFD, JPEG, PNG or xlsx, up to 20 MB."""
    if refused := originals.size_error(file.name, file.stat().st_size):
        raise refused  # before the file is read whole
    content = file.read_bytes()
    added = writing(
        ctx,
        as_user,
        "attachment.add",
        lambda uow: attachment_out(
            originals.attach(uow, voucher, file.name, content, by=as_user, note=note)
        ),
        lambda a: f"attachment:{a.id}",
    )
    if as_json:
        print_json(added)
        return
    click.echo(
        f"附件 #{added.id} {added.filename}（{added.kind}，{added.size:,} 字节）已附于 "
        f"{added.voucher}，SHA-256 {added.sha256}"
    )


@attachments.command("list")
@click.argument("voucher")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def attachments_list(ctx: click.Context, voucher: str, as_user: str | None, as_json: bool) -> None:
    """列出一张记账凭证的原始凭证 (list a voucher's originals).

    The originals of VOUCHER, in the order they were attached."""
    found = reading(
        ctx,
        "attachment.read",
        as_user,
        lambda uow: [attachment_out(a) for a in originals.of_voucher(uow, voucher)],
    )
    if as_json:
        print_json(found)
        return
    if not found:
        nothing(f"{voucher} 没有附件 (no originals attached)")
        return
    shown = table(
        f"附件 {found[0].voucher} ({len(found)})", "编号", "文件", "类型", "字节", "附加人", "说明",
        keep=("编号", "类型"),
    )  # fmt: skip
    for a in found:
        shown.add_row(str(a.id), a.filename, a.kind, f"{a.size:,}", a.added_by, a.note or a.origin)
    console.print(shown)


@attachments.command("get")
@click.argument("attachment_id", type=int, metavar="ID")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@READ_AS
@click.pass_context
@refusals_exit
def attachments_get(ctx: click.Context, attachment_id: int, out: Path, as_user: str | None) -> None:
    """下载原始凭证：原样写出文件 (get one, as attached).

    Write original ID's bytes to --out, exactly as attached (the download is logged)."""
    with UnitOfWork(engine(ctx)) as uow:
        found, content = originals.original(uow, attachment_id, by=as_user)
        action = originals.download_action(found)
        audit(uow, as_user or "（未署名）", action, f"attachment:{attachment_id}")
        uow.commit()
    out.write_bytes(content)
    click.echo(f"wrote {out}: {found.filename}（{found.kind}，{len(content):,} 字节）")
