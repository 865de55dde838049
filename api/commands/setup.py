"""``studio-ledger db``, ``demo``, ``serve`` and ``scheduler``: setting up and running."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import make_url

from api.commands.base import console, engine, progress, refusals_exit, table
from api.commands.batches import summary
from api.commands.books import describe_verify
from api.shapes import batch_summary
from ledger.errors import LedgerError
from ledger.money import format_amount, format_plain
from ledger.registry.cycles import POOL_LABELS, POOLS
from schema.db import shown
from schema.keys import key_source
from schema.migrate import prepare

if TYPE_CHECKING:
    from demo.story import DemoResult


@click.group()
def db() -> None:
    """数据库结构：建立或升级 (database schema, Alembic).

    Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """建立或升级数据库结构，没有账链密钥时生成 (create or migrate).

    Create or migrate the database schema to the newest version, and create the
    chain key (账链密钥) outside the database if the ledger has none."""
    ready = engine(ctx, migrated=False)
    try:
        made = prepare(ready)
    except LedgerError as refused:  # a key ring that is there but cannot be used
        raise click.ClickException(str(refused)) from None
    click.echo(f"database is up to date: {shown(ctx.find_root().obj['db_url'])}")
    where = key_source(ready.url)
    if made is None:
        click.echo(f"chain key: {where}")
    else:
        click.echo(
            f"chain key created: {where} (seals from transaction {made.keyed_from}); keep it "
            "secret and back it up apart from the database — manual: 运维 › 账链密钥 "
            "(docs/ops/chain-key.md)"
        )


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the demo's database and files: new, empty, or a previous demo's "
    "(only the files it wrote there are replaced).",
)
@refusals_exit
def demo(out_dir: Path) -> None:
    """演示：在新数据库上运行第一个工作周期 (run the demo).

    Run the program's first cycle (2024-2026) on a fresh SQLite database and print what
    happened."""
    from demo import story as demo_module  # noqa: PLC0415 (only this command needs it)

    with progress("running the program's cycle: import, appropriate, pay, close, export"):
        result = demo_module.run(out_dir)
    console.print(
        f"{result.year}: {result.studios} studios, {result.people} people imported "
        f"from {result.folder / 'imports'}; appropriated "
        f"{format_amount(result.appropriated)}",
        soft_wrap=True,
    )
    for warning in result.warnings:
        console.print(f"名册提醒：{warning}", soft_wrap=True)
    balances = table(
        f"截至{result.as_of.isoformat()} 各工作室专项资金余额（元）",
        "工作室",
        "旗财政",
        "立教教育基金",
        "单位配套",
        money=("旗财政", "立教教育基金", "单位配套"),
    )
    for code, funds in result.balances:
        balances.add_row(
            code, *(format_plain(funds[s]) for s in ("finance", "edu_fund", "matching"))
        )
    console.print(balances)
    report = result.entitlements
    held_studios = sorted({x.studio for x in report.held})
    console.print(
        f"entitlements {result.year} (policy {report.policy.version}): "
        f"{len(report.payable)} payable lines, total {format_amount(report.total)}; "
        f"{len(report.held)} lines held"
        + (f" ({', '.join(held_studios)}: no grade recorded)" if held_studios else ""),
        soft_wrap=True,
    )
    for batch in result.batches:
        console.print(summary(batch_summary(batch)), soft_wrap=True)
    console.print(
        f"periods closed through {result.as_of:%Y-%m} (年结) by {result.closed_by}: "
        f"writes dated in {result.year} are refused",
        soft_wrap=True,
    )
    _print_cycle(result)
    _print_later(result)
    for path in result.files:
        console.print(f"wrote {path}", soft_wrap=True)
    for line in describe_verify(result.verify):
        console.print(f"verify: {line}", soft_wrap=True)
    console.print(f"database: {result.database}", soft_wrap=True)
    console.print(
        f"chain key: {key_source(make_url(f'sqlite:///{result.database}'))}", soft_wrap=True
    )


def _print_cycle(result: DemoResult) -> None:
    """The rest of the cycle: funding by assessment, the later payouts, the carry-over at
    the end of 2026, every cycle's close and the renewals."""
    cycle = result.cycle
    for report in cycle.appropriations:
        days = sorted({t.request.effective_date for t in report.posted})
        console.print(
            f"{report.year} appropriation"
            + (f" on {days[0]}" if days else "")
            + f": funded {len(report.posted)} studio{'s' if len(report.posted) != 1 else ''}, "
            f"{format_amount(report.total)}",
            soft_wrap=True,
        )
        for t in report.posted:
            share = report.shares[str(t.request.metadata["studio"])]
            if "领导小组" in share.basis:
                console.print(f"  {t.request.metadata['studio']}: {share.basis}", soft_wrap=True)
        for code, why in report.held:
            console.print(f"  held {code}: {why}", soft_wrap=True)
    for batch in cycle.batches:
        console.print(summary(batch_summary(batch)), soft_wrap=True)
    carried = table(
        f"截至{cycle.last_day} 各工作室"
        + ("结转资金（元）" if cycle.last_day.month == 12 else "专项资金余额（元）"),
        "工作室",
        *(POOL_LABELS[p] for p in POOLS),
        money=tuple(POOL_LABELS[p] for p in POOLS),
    )
    for code, funds in cycle.balances:
        carried.add_row(code, *(format_plain(funds.get(p, 0)) for p in POOLS))
    console.print(carried)
    returned = {p: sum(c.cycle.returned.get(p, 0) for c in cycle.closes) for p in POOLS}
    console.print(
        f"cycles closed (终结): {len(cycle.closes)} studios, returned "
        + "、".join(f"{POOL_LABELS[p]} {format_amount(fen)}" for p, fen in returned.items() if fen),
        soft_wrap=True,
    )
    for closed in cycle.closes:
        if closed.not_renamed:
            console.print(
                f"  {closed.studio.code} not renamed: {closed.studio.cancellation_reason}",
                soft_wrap=True,
            )
    if cycle.renewed:
        first = cycle.renewed[0].cycle
        console.print(
            f"renamed for {first.first_year}-{first.last_year} (继续命名): "
            + "、".join(r.studio.code for r in cycle.renewed),
            soft_wrap=True,
        )


def _print_later(result: DemoResult) -> None:
    """The steps whose days have not come: the demo never writes the future."""
    if not result.later:
        return
    console.print(
        f"今天是 {result.today.isoformat()}（北京时间）：以下步骤的日期尚未到来，演示没有办理，"
        "到期后用所列命令办理 (the demo writes nothing dated after today):",
        soft_wrap=True,
    )
    for step in result.later:
        console.print(f"  {step.day.isoformat()} {step.what}", soft_wrap=True)
        console.print(f"    $ {step.command}", soft_wrap=True, highlight=False)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes (about one per CPU core); each keeps its own database connections.",
)
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve over TLS with this certificate (the console's cookies become Secure).",
)
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--forwarded-allow-ips",
    metavar="ADDRESSES",
    help="The reverse proxies (comma-separated addresses) whose X-Forwarded-For and "
    "X-Forwarded-Proto are believed. Without it the client address is the connection's: "
    "a header anyone can send never decides the address the audit log and the sign-in "
    "throttle see.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
    forwarded_allow_ips: str | None,
) -> None:
    """启动管理控制台和 HTTP API (serve the console and API).

    Serve the console (sign in at /) and the HTTP API (OpenAPI and Swagger UI at /schema)
    with uvicorn on uvloop and httptools."""
    import uvicorn  # noqa: PLC0415 (only this command needs the server)

    engine(ctx)  # refuse a missing or out-of-date database before any worker starts
    # Each worker builds the app from the environment (api.app.Settings.from_env).
    os.environ["DATABASE_URL"] = ctx.find_root().obj["db_url"]
    if ssl_certfile is not None:
        os.environ["STUDIO_LEDGER_SECURE_COOKIES"] = "1"
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
    )


class _JsonLines(logging.Formatter):
    """One JSON object per line, for shipping the logs."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            fields = json.loads(message)
        except ValueError:
            fields = {"message": message}
        return json.dumps(
            {
                "time": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                **fields,
            },
            ensure_ascii=False,
        )


def setup_logging(as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonLines()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


LOG_JSON = click.option("--log-json", is_flag=True, help="Log JSON lines (for shipping).")


@click.command()
@LOG_JSON
@click.pass_context
def scheduler(ctx: click.Context, log_json: bool) -> None:
    """运行作业调度程序直至停止 (run the job scheduler).

    Run the scheduler (one process; jobs persisted in the database) until stopped."""
    from jobs import schedule, timetable  # noqa: PLC0415 (only this command needs APScheduler)

    setup_logging(log_json)
    engine(ctx)
    settings = timetable.ScheduleSettings.from_env()
    running = schedule.start_scheduler(ctx.find_root().obj["db_url"], settings)
    for job in running.scheduler.get_jobs():
        click.echo(f"{job.id}: next run {job.next_run_time:%Y-%m-%d %H:%M %Z}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping the scheduler")
    finally:
        running.stop()
