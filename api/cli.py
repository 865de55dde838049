"""``studio-ledger``: the operators' command line (SPEC §7).

Each command translates: it parses its arguments, opens one unit of work,
calls one service, commits if it wrote, and prints the answer (``--json`` on
every command that reads). Domain refusals are printed as one line naming
what was refused and end the command with exit status 2; nothing is written.
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from api import demo as demo_module
from api.shapes import (
    balance_json,
    batch_history_json,
    batch_json,
    created_batch_json,
    entitlements_json,
    period_json,
    studio_json,
)
from jobs import runner, schedule
from jobs.work import JOBS
from ledger import book, closing, disbursement, imports, program, statements
from ledger.errors import InvalidInputError, LedgerError, ValidationError
from ledger.money import format_amount, format_plain
from ledger.policy import GRADE_LABELS, STUDIO_KINDS, Policy
from ledger.registry import ROLE_LABELS, STATUS_LABELS
from ledger.users import ROLES
from schema.db import (
    DatabaseUnavailable,
    UnitOfWork,
    database_url,
    failure_line,
    is_conflict,
    open_database,
    shown,
)
from schema.job_store import JobRun
from schema.migrate import current_revision, head_revision, upgrade

P = ParamSpec("P")
R = TypeVar("R")

EX_TEMPFAIL = 75
"""sysexits.h: a temporary failure; running the same command again may succeed."""

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _refusals_exit(command: Callable[P, R]) -> Callable[P, R]:
    """Print a domain refusal as one clear line and exit 2 instead of a traceback."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except imports.ImportRefused as refused:
            for problem in refused.problems:
                errors.print(f"[red]refused:[/red] {problem}", markup=True, highlight=False)
            errors.print(f"nothing was imported ({len(refused.problems)} problem(s))")
            sys.exit(2)
        except InvalidInputError as refused:
            for error in refused.errors:
                errors.print(f"[red]refused:[/red] {error}", markup=True, highlight=False)
            sys.exit(2)
        except LedgerError as refused:
            errors.print(f"[red]refused:[/red] {refused}", markup=True, highlight=False)
            sys.exit(2)
        except IntegrityError as failed:
            if not is_conflict(failed):  # a database rule the domain should have checked
                errors.print(
                    "[red]refused:[/red] the change breaks a rule the ledger's database "
                    "keeps; nothing was written",
                    markup=True,
                    highlight=False,
                )
                sys.exit(2)
            # A concurrent writer took the same key meanwhile.
            errors.print(
                "[red]conflict:[/red] another writer changed the same data at the same time; "
                "nothing was written, try again",
                markup=True,
                highlight=False,
            )
            sys.exit(EX_TEMPFAIL)

    return run


RUN_ID = f"cli:{uuid.uuid4().hex[:12]}"
"""Ties the audit entries of one command-line run together, like a request id."""


def _audit(uow: UnitOfWork, actor: str | None, action: str, target: str) -> None:
    """Append this run's state change to the audit log, in the same transaction."""
    ctx = click.get_current_context()
    params = {k: str(v) for k, v in ctx.params.items() if v is not None}
    uow.audit.record(
        actor or getpass.getuser(),
        action,
        target,
        RUN_ID,
        {"command": ctx.command_path, "params": params},
    )


def _engine(ctx: click.Context, *, migrated: bool = True) -> Engine:
    """The database engine; unless ``migrated=False``, refuse an out-of-date schema."""
    engine: Engine | None = ctx.obj.get("engine")
    if engine is None:
        try:
            engine = ctx.obj["engine"] = open_database(ctx.obj["db_url"], create=not migrated)
        except DatabaseUnavailable as unavailable:
            raise click.ClickException(str(unavailable)) from None
        ctx.call_on_close(engine.dispose)
    if migrated and current_revision(engine) != head_revision():
        raise click.ClickException(
            f"the database at {shown(ctx.obj['db_url'])} is not at the current schema; "
            "run `studio-ledger db upgrade` first"
        )
    return engine


def _parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"not a date: {value!r}; use YYYY-MM-DD") from None


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=_iso))


def _iso(value: object) -> str:
    """Dates and times in the shapes print as ISO 8601, as the HTTP service sends them."""
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class _Tool(click.Group):
    """The command group; a database lost in the middle of a command is one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OperationalError as failed:
            raise click.ClickException(
                f"the database at {shown(ctx.obj['db_url'])} failed: {failure_line(failed)}; "
                "the transaction in progress was rolled back"
            ) from None


@click.group(
    cls=_Tool,
    help="Funding-and-subsidy ledger for the master teacher studio program (名师工作室).",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="Database URL; else $DATABASE_URL; else ./studio-ledger.db (SQLite).",
)
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    ctx.ensure_object(dict)
    ctx.obj["db_url"] = database_url(db_url)


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create or migrate the database schema to the newest version."""
    upgrade(_engine(ctx, migrated=False))
    click.echo(f"database is up to date: {shown(ctx.obj['db_url'])}")


@main.command()
@click.argument("address")
@click.option("--as-of", "as_of", metavar="DATE", help="Balance at the end of this date.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
@_refusals_exit
def balance(ctx: click.Context, address: str, as_of: str | None, as_json: bool) -> None:
    """The balance of the account at ADDRESS, now or as of a date."""
    when = _parse_date(as_of, "--as-of")
    with UnitOfWork(_engine(ctx), write=False) as uow:
        found = statements.account_balance(uow, address, when)
    if as_json:
        _print_json(balance_json(found, as_of))
    else:
        click.echo(
            f"{found.account.code} {found.account.name}  {found.direction} "
            f"{format_amount(found.amount)}" + (f"  (as of {as_of})" if as_of else "")
        )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Check the hash chain and that every kept balance equals its postings.

    Exits 1 when anything does not hold, naming the first broken link.
    """
    with UnitOfWork(_engine(ctx), write=False) as uow:
        report = book.verify(uow.ledger)
    link = report.broken_link
    if as_json:
        _print_json(
            {
                "ok": report.ok,
                "transactions": report.transactions,
                "last_hash": report.last_hash,
                "broken_link": None
                if link is None
                else {"seq": link.seq, "voucher": str(link.voucher), "reason": link.reason},
                "balance_mismatches": [
                    {"address": m.address, "kept_fen": m.kept, "derived_fen": m.derived}
                    for m in report.mismatches
                ],
                "guard_violations": list(report.guard_violations),
            }
        )
    else:
        for line in describe_verify(report):
            click.echo(line)
    if not report.ok:
        sys.exit(1)


def describe_verify(report: book.VerifyReport) -> list[str]:
    """The verify report in plain words, one line per finding."""
    if report.ok:
        return [
            f"ok: {report.transactions} transactions, hash chain intact, balances agree; "
            f"last hash {report.last_hash or '-'}"
        ]
    lines: list[str] = []
    if (link := report.broken_link) is not None:
        lines.append(f"BROKEN: first broken link at seq {link.seq} ({link.voucher}): {link.reason}")
    lines.extend(
        f"MISMATCH: {m.address} kept {m.kept} fen, postings sum to {m.derived} fen"
        for m in report.mismatches
    )
    lines.extend(f"NEGATIVE: guarded account {a} is below zero" for a in report.guard_violations)
    return lines


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the demo's database and files: new, empty, or a previous demo's "
    "(only the files it wrote there are replaced).",
)
@_refusals_exit
def demo(out_dir: Path) -> None:
    """Run the program's year on a fresh SQLite database and print what happened."""
    result = demo_module.run(out_dir)
    console.print(
        f"{result.year}: {result.studios} studios, {result.people} people imported "
        f"from {result.folder / 'imports'}; appropriated "
        f"{format_amount(result.appropriated)}"
    )
    for warning in result.warnings:
        console.print(f"roster warning: {warning}")
    table = Table(title=f"截至{result.as_of.isoformat()} 各工作室专项资金余额（元）")
    for header in ("工作室", "旗财政 finance", "教育基金 edu_fund", "单位配套 matching"):
        table.add_column(header, justify="left" if header == "工作室" else "right")
    for code, funds in result.balances:
        table.add_row(code, *(format_plain(funds[s]) for s in ("finance", "edu_fund", "matching")))
    console.print(table)
    report = result.entitlements
    held_studios = sorted({x.studio for x in report.held})
    console.print(
        f"entitlements {result.year} (policy {report.policy.version}): "
        f"{len(report.payable)} payable lines, total {format_amount(report.total)}; "
        f"{len(report.held)} lines held"
        + (f" ({', '.join(held_studios)}: no grade recorded)" if held_studios else "")
    )
    for batch in result.batches:
        console.print(_summary(batch))
    console.print(
        f"periods closed through {result.as_of:%Y-%m} (年结) by {result.closed_by}: "
        f"writes dated in {result.year} are refused"
    )
    for path in result.files:
        console.print(f"wrote {path}")
    for line in describe_verify(result.verify):
        console.print(f"verify: {line}")
    console.print(f"database: {result.database}")


@main.group("import")
def import_group() -> None:
    """Excel import of roster, grades, receipts and expenses (all or nothing)."""


@import_group.command("template")
@click.argument("kind", type=click.Choice(list(imports.KINDS)))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def import_template(kind: str, path: Path) -> None:
    """Write an empty KIND workbook with headers, drop-downs and examples to PATH."""
    imports.write_template(kind, path)
    click.echo(f"template for {kind} written to {path}")


def _import_command(kind: str) -> click.Command:
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @click.pass_context
    @_refusals_exit
    def run(ctx: click.Context, path: Path, as_json: bool) -> None:
        with UnitOfWork(_engine(ctx)) as uow:
            report = imports.import_file(uow, kind, path)
            _audit(uow, None, f"import.{kind}", path.name)
            uow.commit()
        if as_json:
            _print_json(
                {
                    "kind": kind,
                    "rows": report.rows,
                    "changed": report.changed,
                    "warnings": report.warnings,
                }
            )
            return
        click.echo(
            f"imported {report.rows} {kind} rows from {path.name}: "
            f"{report.changed} changed" + (" (already imported)" if not report.changed else "")
        )
        for warning in report.warnings:
            click.echo(f"warning: {warning}")

    run.__doc__ = f"Import {kind} from an xlsx file (see `import template {kind}`)."
    return click.command(kind)(run)


for _kind in imports.KINDS:
    import_group.add_command(_import_command(_kind))


@main.group()
def studios() -> None:
    """The registry of studios."""


@studios.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def studios_list(ctx: click.Context, as_json: bool) -> None:
    """Every studio with its kind, host unit, cycle and status."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        found = uow.registry.studios()
        members = uow.registry.memberships()
    counts = {
        s.code: sum(1 for m in members if m.studio == s.code and m.left_on is None) for s in found
    }
    if as_json:
        _print_json([{**studio_json(s), "current_people": counts[s.code]} for s in found])
        return
    table = Table(title=f"工作室 studios ({len(found)})")
    for header in ("编号", "名称", "类型", "挂牌单位", "周期", "状态", "在册人数"):
        table.add_column(header)
    for s in found:
        status = STATUS_LABELS[s.status] + (f" {s.cancelled_on}" if s.cancelled_on else "")
        table.add_row(
            s.code,
            s.name,
            STUDIO_KINDS[s.kind],
            s.host_unit,
            f"{s.cycle_start_year}-{s.cycle_start_year + 2}",
            status,
            str(counts[s.code]),
        )
    console.print(table)


@main.command()
@click.option("--year", type=int, required=True)
@click.option(
    "--on",
    "on",
    metavar="DATE",
    help="Effective date (default 2 January of YEAR; a later one when January is closed).",
)
@click.pass_context
@_refusals_exit
def appropriate(ctx: click.Context, year: int, on: str | None) -> None:
    """Post each active studio's budget for YEAR, split by funding source (once)."""
    with UnitOfWork(_engine(ctx)) as uow:
        report = program.appropriate(uow, year, _parse_date(on, "--on"))
        _audit(uow, None, "appropriation.post", f"appropriation:{year}")
        uow.commit()
    click.echo(
        f"{year} appropriation under policy {report.policy_version}: "
        f"{len(report.posted)} studios funded, {format_amount(report.total)}"
        + (f"; already funded: {', '.join(report.already)}" if report.already else "")
    )


@main.command()
@click.option("--year", type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
@_refusals_exit
def entitlements(ctx: click.Context, year: int, as_json: bool) -> None:
    """Every stipend owed for YEAR, with held lines and their reasons."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        report = program.compute_entitlements(uow, year)
    if as_json:
        _print_json(entitlements_json(year, report))
        return
    table = Table(title=f"{year}年度劳务补贴 entitlements (policy {report.policy.version})")
    for header in ("工作室", "姓名", "角色", "月数", "等次", "应发金额", "说明"):
        table.add_column(header, justify="right" if header in ("月数", "应发金额") else "left")
    for x in report.payable:
        table.add_row(
            x.studio,
            x.name,
            ROLE_LABELS[x.role],
            str(len(x.months)),
            GRADE_LABELS.get(x.grade or "", "-"),
            format_plain(x.gross),
            x.explanation,
        )
    console.print(table)
    console.print(f"合计 total: {format_amount(report.total)} for {len(report.payable)} lines")
    for x in report.held:
        console.print(f"held: {x.studio} {x.name} ({ROLE_LABELS[x.role]}): {x.held}")


@main.group("policy")
def policy_group() -> None:
    """Funding policy records, versioned by year (never changed once stored)."""


@policy_group.command("show")
@click.option("--year", type=int, help="The year whose governing policy to show (default: all).")
@click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    help="Accepted like every reading command's; the output is always JSON.",
)
@click.pass_context
@_refusals_exit
def policy_show(ctx: click.Context, year: int | None) -> None:
    """Print policy records as JSON (amounts in fen), whether or not --json is given."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        found = [program.policy(uow, year)] if year else uow.registry.policies()
    _print_json([p.to_json() for p in found])


@policy_group.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "user", default=None, help="Who adds it (recorded); default: login name.")
@click.pass_context
@_refusals_exit
def policy_add(ctx: click.Context, path: Path, user: str | None) -> None:
    """Add a new year's policy from a JSON file shaped like `policy show` prints."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError(path.name, f"not a JSON policy: {error}") from None
    if not isinstance(data, dict):
        raise ValidationError(path.name, "must hold one JSON object")
    new = Policy.from_json(data)
    with UnitOfWork(_engine(ctx)) as uow:
        program.add_policy(uow, new, user or getpass.getuser())
        _audit(uow, user, "policy.add", f"policy:{new.version}")
        uow.commit()
    click.echo(f"policy {new.version} added; it governs {new.year} onward")


def _date_option(value: str | None) -> date:
    return _parse_date(value, "--on") or program.today()


@main.group()
def users() -> None:
    """Users and their roles: clerk, approver, auditor, admin."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.pass_context
@_refusals_exit
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """Add a user; prints their API token once (only its hash is stored)."""
    with UnitOfWork(_engine(ctx)) as uow:
        token = disbursement.add_user(uow, name, role)
        _audit(uow, None, "user.add", f"user:{name}")
        uow.commit()
    click.echo(f"user {name} added as {role}")
    click.echo(f"API token (shown once, keep it safe): {token}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """Every user with their role."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        found = uow.batches.users()
    if as_json:
        _print_json([{"name": u.name, "role": u.role, "disabled": d} for u, d in found])
        return
    for u, disabled in found:
        click.echo(f"{u.name}\t{u.role}" + ("\t(disabled)" if disabled else ""))


@main.group()
def batches() -> None:
    """Disbursement batches (劳务补贴发放): create, approve, confirm, export."""


def _summary(batch: disbursement.Batch) -> str:
    return (
        f"batch #{batch.id} {batch.year} {batch.state}: {len(batch.lines)} lines, "
        f"gross {format_amount(batch.gross)}, tax {format_amount(batch.current_tax)}, "
        f"net {format_amount(batch.current_net)}; prepared by {batch.prepared_by}"
        + (f", approved by {', '.join(batch.approved_by)}" if batch.approved_by else "")
        + f" ({batch.approvals_needed} approval(s) needed)"
    )


def _write(
    ctx: click.Context,
    as_user: str,
    name: str,
    action: Callable[[UnitOfWork], disbursement.Outcome],
) -> None:
    with UnitOfWork(_engine(ctx)) as uow:
        outcome = action(uow)
        _audit(uow, as_user, f"batch.{name}", f"batch:{outcome.batch.id}")
        uow.commit()
    click.echo(outcome.message)
    click.echo(_summary(outcome.batch))


AS_USER = click.option(
    "--as",
    "as_user",
    required=True,
    metavar="USER",
    help="The user doing this (their role is checked).",
)
ON_DATE = click.option("--on", "on", metavar="DATE", help="Effective date (default today).")


@batches.command("list")
@click.option("--year", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def batches_list(ctx: click.Context, year: int | None, as_json: bool) -> None:
    """Every batch with its state and totals."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        found = uow.batches.batches(year)
    if as_json:
        _print_json([batch_json(b, lines=False) for b in found])
        return
    for batch in found:
        click.echo(_summary(batch))


@batches.command("create")
@click.option("--year", type=int, required=True)
@AS_USER
@ON_DATE
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
@_refusals_exit
def batches_create(
    ctx: click.Context, year: int, as_user: str, on: str | None, as_json: bool
) -> None:
    """A draft batch from YEAR's entitlements not yet paid (held lines listed, not paid)."""
    with UnitOfWork(_engine(ctx)) as uow:
        created = disbursement.create(uow, year, as_user, _date_option(on))
        _audit(uow, as_user, "batch.create", f"batch:{created.batch.id}")
        uow.commit()
    if as_json:
        _print_json(created_batch_json(created))
        return
    click.echo(_summary(created.batch))
    for line, reason in created.left_out:
        click.echo(f"left out: {line.studio} {line.name} ({ROLE_LABELS[line.role]}): {reason}")


@batches.command("show")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
@_refusals_exit
def batches_show(ctx: click.Context, batch_id: int, as_json: bool) -> None:
    """A batch's lines and its history."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        batch, events = disbursement.show(uow, batch_id)
    if as_json:
        _print_json(batch_history_json(batch, events))
        return
    click.echo(_summary(batch))
    table = Table()
    for header in ("行", "工作室", "人员", "角色", "月数", "应发", "代扣税", "实发", "状态"):
        table.add_column(header)
    for x in batch.lines:
        table.add_row(
            str(x.number),
            x.studio,
            x.person,
            ROLE_LABELS[x.role],
            str(len(x.months)),
            format_plain(x.gross),
            format_plain(x.current_tax),
            format_plain(x.current_net),
            x.status + (f" ({x.failure_reason})" if x.failure_reason else ""),
        )
    console.print(table)
    for e in events:
        click.echo(
            f"{e.at:%Y-%m-%d %H:%M} {e.actor} {e.action}: {e.from_state} -> "
            f"{e.to_state}" + (f" ({e.reason})" if e.reason else "")
        )


@batches.command("approve")
@click.argument("batch_id", type=int)
@AS_USER
@ON_DATE
@click.pass_context
@_refusals_exit
def batches_approve(ctx: click.Context, batch_id: int, as_user: str, on: str | None) -> None:
    """Approve; the last approval needed moves every line to payable."""
    _write(
        ctx,
        as_user,
        "approve",
        lambda uow: disbursement.approve(uow, batch_id, as_user, _date_option(on)),
    )


@batches.command("reject")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True)
@AS_USER
@click.pass_context
@_refusals_exit
def batches_reject(ctx: click.Context, batch_id: int, reason: str, as_user: str) -> None:
    """Refuse a draft; its lines can be paid in a new batch."""
    _write(ctx, as_user, "reject", lambda uow: disbursement.reject(uow, batch_id, as_user, reason))


@batches.command("cancel")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True)
@AS_USER
@click.pass_context
@_refusals_exit
def batches_cancel(ctx: click.Context, batch_id: int, reason: str, as_user: str) -> None:
    """Withdraw a draft."""
    _write(ctx, as_user, "cancel", lambda uow: disbursement.cancel(uow, batch_id, as_user, reason))


def _failures(values: tuple[str, ...]) -> dict[int, str]:
    failed: dict[int, str] = {}
    for value in values:
        number, _, reason = value.partition(":")
        if not number.strip().isdigit() or not reason.strip():
            raise ValidationError(
                "--failed", f"expected LINE:REASON, e.g. 3:账户已销户; got {value!r}"
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
@_refusals_exit
def batches_confirm(
    ctx: click.Context, batch_id: int, failed: tuple[str, ...], as_user: str, on: str | None
) -> None:
    """Record the bank's answer: every line paid except the --failed ones."""
    returned = _failures(failed)
    _write(
        ctx,
        as_user,
        "confirm",
        lambda uow: disbursement.confirm(uow, batch_id, as_user, _date_option(on), returned),
    )


@batches.command("reissue")
@click.option("--year", type=int, required=True)
@AS_USER
@ON_DATE
@click.pass_context
@_refusals_exit
def batches_reissue(ctx: click.Context, year: int, as_user: str, on: str | None) -> None:
    """A draft batch paying again YEAR's failed lines (bank details read anew)."""
    with UnitOfWork(_engine(ctx)) as uow:
        batch = disbursement.reissue(uow, year, as_user, _date_option(on))
        _audit(uow, as_user, "batch.reissue", f"batch:{batch.id}")
        uow.commit()
    click.echo(_summary(batch))


@batches.command("return")
@click.argument("batch_id", type=int)
@click.argument("line", type=int)
@AS_USER
@ON_DATE
@click.pass_context
@_refusals_exit
def batches_return(
    ctx: click.Context, batch_id: int, line: int, as_user: str, on: str | None
) -> None:
    """Send a failed line's money back to the studio's fund (a reversal)."""
    _write(
        ctx,
        as_user,
        "return",
        lambda uow: disbursement.return_to_fund(uow, batch_id, line, as_user, _date_option(on)),
    )


@batches.command("close")
@click.argument("batch_id", type=int)
@AS_USER
@click.pass_context
@_refusals_exit
def batches_close(ctx: click.Context, batch_id: int, as_user: str) -> None:
    """Close a paid batch (failed lines must be reissued or returned first)."""
    _write(ctx, as_user, "close", lambda uow: disbursement.close(uow, batch_id, as_user))


@batches.command("export")
@click.argument("batch_id", type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@AS_USER
@click.pass_context
@_refusals_exit
def batches_export(ctx: click.Context, batch_id: int, out_dir: Path, as_user: str) -> None:
    """Write the payout roster and (approver, approved batch) the bank file."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        exported = disbursement.export(uow, batch_id, as_user, out_dir)
    for path in exported.files:
        click.echo(f"wrote {path}")
    for note in exported.notes:
        click.echo(note)


@main.group("periods")
def periods_group() -> None:
    """Accounting periods (会计期间): months, closed in order (结账)."""


@periods_group.command("close")
@click.argument("period", metavar="YYYY-MM")
@AS_USER
@click.pass_context
@_refusals_exit
def periods_close(ctx: click.Context, period: str, as_user: str) -> None:
    """Close PERIOD and every month before it (approver or admin); December is 年结."""
    with UnitOfWork(_engine(ctx)) as uow:
        closed = closing.close(uow, period, as_user, program.today())
        if closed.changed:
            _audit(uow, as_user, "period.close", f"period:{closed.through}")
        uow.commit()
    click.echo(closed.message)


@periods_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def periods_list(ctx: click.Context, as_json: bool) -> None:
    """Each month's state, its last voucher, and who closed it when (北京时间)."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        states = closing.states(uow, program.today())
    if as_json:
        _print_json([period_json(x) for x in states])
        return
    table = Table(title="会计期间 periods")
    for header in ("期间", "状态", "凭证数", "结账人", "结账时间（北京时间）"):
        table.add_column(header, justify="right" if header == "凭证数" else "left")
    for x in states:
        table.add_row(
            str(x.period),
            x.label,
            str(x.last_voucher),
            x.closing.by if x.closing else "",
            f"{program.local_time(x.closing.at):%Y-%m-%d %H:%M}" if x.closing else "",
        )
    console.print(table)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the HTTP API (OpenAPI and Swagger UI at /schema)."""
    import uvicorn  # noqa: PLC0415 (only this command needs the server)

    from api.app import Settings, create_app  # noqa: PLC0415

    engine = _engine(ctx)
    uvicorn.run(create_app(Settings(ctx.obj["db_url"]), engine), host=host, port=port)


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


def _logging(as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonLines()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.WARNING)


LOG_JSON = click.option("--log-json", is_flag=True, help="Log JSON lines (for shipping).")


@main.command()
@LOG_JSON
@click.pass_context
def scheduler(ctx: click.Context, log_json: bool) -> None:
    """Run the scheduler (one process; jobs persisted in the database) until stopped."""
    _logging(log_json)
    _engine(ctx)
    settings = schedule.ScheduleSettings.from_env()
    running = schedule.start_scheduler(ctx.obj["db_url"], settings)
    for job in running.scheduler.get_jobs():
        click.echo(f"{job.id}: next run {job.next_run_time:%Y-%m-%d %H:%M %Z}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping the scheduler")
    finally:
        running.stop()


@main.group("jobs")
def jobs_group() -> None:
    """Scheduled jobs: their schedule, their run history, and running one now."""


def _run_json(r: JobRun) -> dict[str, object]:
    return {
        "id": r.id,
        "job": r.job,
        "period": r.period,
        "trigger": r.trigger,
        "status": r.status,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "counts": r.counts,
        "error": r.error.splitlines()[0] if r.error else None,
    }


@jobs_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def jobs_list(ctx: click.Context, as_json: bool) -> None:
    """Each job with its schedule (Asia/Shanghai) and its last run."""
    settings = schedule.ScheduleSettings.from_env()
    with UnitOfWork(_engine(ctx), write=False) as uow:
        last = {r.job: r for r in uow.jobs.runs(limit=100_000)}
    rows = [
        {
            "job": job,
            "schedule": dict(cron),
            "time_zone": settings.time_zone,
            "last_run": _run_json(last[job]) if job in last else None,
        }
        for job, cron in settings.schedules.items()
    ]
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        run = row["last_run"]
        click.echo(
            f"{row['job']}: cron {row['schedule']}; last run "
            + (
                f"#{run['id']} {run['period']} {run['status']}"
                if isinstance(run, dict)
                else "never"
            )
        )


@jobs_group.command("history")
@click.option("--job", type=click.Choice(list(JOBS)))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def jobs_history(ctx: click.Context, job: str | None, as_json: bool) -> None:
    """Every run: job, period, trigger, start, end, status, counts, error."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        runs = uow.jobs.runs(job, limit=100_000)
    if as_json:
        _print_json([_run_json(r) for r in runs])
        return
    for r in runs:
        end = f"{r.finished_at:%H:%M:%S}" if r.finished_at else "…"
        click.echo(
            f"#{r.id} {r.job} {r.period} {r.trigger} {r.status} "
            f"{r.started_at:%Y-%m-%d %H:%M:%S}-{end} {json.dumps(r.counts, ensure_ascii=False)}"
            + (f" error: {r.error.splitlines()[0]}" if r.error else "")
        )


@jobs_group.command("run")
@click.argument("job", type=click.Choice(list(JOBS)))
@click.option("--year", type=int, help="The year to run for (yearly jobs; default this year).")
@click.option("--date", "day", metavar="DATE", help="The day to run for (daily jobs).")
@LOG_JSON
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
@_refusals_exit
def jobs_run(
    ctx: click.Context, job: str, year: int | None, day: str | None, log_json: bool, as_json: bool
) -> None:
    """Run JOB now for its period, once: a second run reports the first one's id."""
    _logging(log_json)
    today = program.today()
    if job in schedule.DAILY_JOBS:
        period = (_parse_date(day, "--date") or today).isoformat()
    else:
        period = str(year or today.year)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=as_json,
    ) as progress:
        progress.add_task(f"running {job} for {period}", total=None)
        outcome = runner.run(_engine(ctx), job, period)
    if as_json:
        _print_json(
            {
                "job": job,
                "period": period,
                "status": outcome.status,
                "run": outcome.run_id,
                "counts": outcome.counts,
                "message": outcome.message,
            }
        )
    else:
        click.echo(outcome.message)
        for key, value in outcome.counts.items():
            click.echo(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    if outcome.status == "failed":
        sys.exit(1)


@main.group("statements")
def statements_group() -> None:
    """Auditor statements as xlsx: 明细账, 收支汇总表, 科目余额表."""


OUT_FILE = click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True
)
BY_USER = click.option(
    "--as",
    "as_user",
    default=None,
    metavar="USER",
    help="Who exports (printed on the sheets); default: login name.",
)


@statements_group.command("ledger")
@click.option("--year", type=int, required=True)
@click.option("--cycle", is_flag=True, help="The whole 3-year cycle that starts in --year.")
@click.option("--studio", help="One studio's code (default: every studio).")
@OUT_FILE
@BY_USER
@click.pass_context
@_refusals_exit
def statements_ledger(
    ctx: click.Context, year: int, cycle: bool, studio: str | None, out: Path, as_user: str | None
) -> None:
    """专项资金明细账: one sheet per studio and funding source."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        last = year + program.policy(uow, year).cycle_years - 1 if cycle else year
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as progress:
            progress.add_task(f"writing {out.name}", total=None)
            rows = statements.export_ledger(
                uow, year, last, out, as_user or getpass.getuser(), studio
            )
    click.echo(f"wrote {out}: {rows} entries")


@statements_group.command("summary")
@click.option("--year", type=int, required=True)
@OUT_FILE
@BY_USER
@click.pass_context
@_refusals_exit
def statements_summary(ctx: click.Context, year: int, out: Path, as_user: str | None) -> None:
    """专项资金收支汇总表: studio × source, tied to the ledger."""
    with UnitOfWork(_engine(ctx), write=False) as uow:
        lines = statements.export_summary(uow, year, out, as_user or getpass.getuser())
    click.echo(
        f"wrote {out}: {len(lines)} studio-source lines, closing "
        f"{format_amount(sum(x.closing for x in lines))}"
    )


@statements_group.command("trial-balance")
@click.option("--date", "day", required=True, metavar="DATE")
@OUT_FILE
@BY_USER
@click.pass_context
@_refusals_exit
def statements_trial_balance(ctx: click.Context, day: str, out: Path, as_user: str | None) -> None:
    """科目余额表 for a date: every account; debits equal credits."""
    on = _parse_date(day, "--date") or program.today()
    with UnitOfWork(_engine(ctx), write=False) as uow:
        lines = statements.export_trial_balance(uow, on, out, as_user or getpass.getuser())
    click.echo(f"wrote {out}: {len(lines)} accounts")
