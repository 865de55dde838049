"""``studio-ledger backup`` and ``restore``: the whole ledger to one archive and back, on
either kind of database (:mod:`schema.backup`)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import Engine, make_url
from sqlalchemy.engine import URL

from api.commands.base import JSON, engine, print_json, progress, refusals_exit, writing
from ledger.books import book
from ledger.errors import ChainKeyError
from schema.backup import BackupMade, Manifest, backup, checked, restore
from schema.db import SIDECARS, UnitOfWork, shown, sqlite_file
from schema.keys import key_source


@click.command("backup")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (replaced if it is there, only once the new one is whole).",
)
@JSON
@click.pass_context
@refusals_exit
def backup_command(ctx: click.Context, out: Path, as_json: bool) -> None:
    """备份：整个账簿写入一个带校验和的归档 (back up the ledger).

    整个账簿写入一个带校验和的归档（不含账链密钥），服务运行时也可执行。

    Back up the whole ledger to one checksummed, portable archive (never the chain key),
    read in one snapshot while the service and the scheduler may be writing. Restore it
    with `studio-ledger restore` into an empty SQLite or PostgreSQL database.
    """
    source = engine(ctx)
    with progress("正在备份账簿", disable=as_json):
        made = backup(source, out)
    writing(
        ctx,
        "(installation)",
        "ledger.backup",
        lambda _uow: made,
        lambda m: f"backup:{m.path.name}",
    )
    if as_json:
        print_json(_backup_shape(made))
        return
    _describe(made.manifest, made.sha256)
    click.echo(f"备份完成：{made.path}（{made.size:,} 字节）")
    click.echo(
        f"账链密钥不在备份中，请另行保管：{key_source(source.url)}",
    )


def _backup_shape(made: BackupMade) -> dict[str, object]:
    return {
        "path": str(made.path),
        "sha256": made.sha256,
        "size": made.size,
        **_manifest_shape(made.manifest),
    }


def _manifest_shape(manifest: Manifest) -> dict[str, object]:
    return {
        "revision": manifest.revision,
        "source": manifest.source,
        "taken_at": manifest.taken_at,
        "anchor": manifest.anchor,
        "rows": manifest.rows,
        "tables": {t.name: t.rows for t in manifest.tables},
    }


def _describe(manifest: Manifest, checksum: str) -> None:
    click.echo(
        f"{manifest.taken_at} 取自 {manifest.source}，库结构版本 {manifest.revision}："
        f"{len(manifest.tables)} 张表，{manifest.rows:,} 行"
    )
    click.echo(f"sha256 {checksum}")
    if manifest.anchor is None:
        click.echo("账链为空（还没有记账凭证）")
    else:
        click.echo(f"账链末端 {manifest.anchor}")


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check the archive (its checksum and what it holds); write nothing.",
)
@JSON
@click.pass_context
@refusals_exit
def restore_command(ctx: click.Context, archive: Path, check_only: bool, as_json: bool) -> None:
    """恢复：备份读入一个空的数据库 (restore a backup).

    把备份归档读入一个空的数据库（SQLite 或 PostgreSQL）。

    Restore ARCHIVE (from `studio-ledger backup`) into the empty database named by --db:
    a new SQLite file, a new PostgreSQL database, or one that has only been through
    `db upgrade`. The checksum is checked first; a damaged archive or a database that
    holds anything is refused and nothing is written. Afterwards, with the source's chain
    key in place, `verify --anchor SEQ:HASH` with the archive's anchor passes.
    """
    if check_only:
        checksum, manifest = checked(archive)
        if as_json:
            print_json({"sha256": checksum, **_manifest_shape(manifest)})
            return
        _describe(manifest, checksum)
        click.echo(f"备份文件完好：{archive}")
        return
    url = make_url(ctx.find_root().obj["db_url"])
    made_file = _new_sqlite_file(url)
    target = engine(ctx, migrated=False)
    try:
        with progress("正在恢复账簿", disable=as_json):
            restored = restore(target, archive)
    except BaseException:  # refused, or failed on the way: leave no new file behind
        target.dispose()
        if made_file is not None:
            for path in (made_file, *(made_file.with_name(made_file.name + s) for s in SIDECARS)):
                path.unlink(missing_ok=True)
        raise
    writing(
        ctx,
        "(installation)",
        "ledger.restore",
        lambda _uow: restored,
        lambda _r: f"backup:{archive.name}",
    )
    key = _key_fits(target)
    if as_json:
        print_json({"sha256": restored.sha256, "key": key, **_manifest_shape(restored.manifest)})
        return
    _describe(restored.manifest, restored.sha256)
    click.echo(f"恢复完成：{shown(target.url)}")
    click.echo(key)
    if restored.manifest.anchor is not None:
        click.echo(f"核对：studio-ledger verify --anchor {restored.manifest.anchor}")


def _new_sqlite_file(url: URL) -> Path | None:
    """The SQLite file a restore is about to create (removed again if it is refused)."""
    file = sqlite_file(url)
    return None if file is None or file.exists() else file.absolute()


def _key_fits(target: Engine) -> str:
    """Whether the restored chain has its key where the target looks for it, in words."""
    where = key_source(target.url)
    if not where.exists():
        return (
            f"账链密钥：备份不含密钥。把原库的密钥文件复制到 {where}（chmod 600），"
            "或设置 STUDIO_LEDGER_KEY_FILE 指向它，再运行 verify"
        )
    try:
        with UnitOfWork(target) as uow:
            book.sealing_key(uow.ledger)
    except ChainKeyError as error:
        return f"账链密钥：{where} 中的密钥不是本账的（{error}）；换成原库的密钥文件"
    return f"账链密钥：{where}（与本账相符）"
