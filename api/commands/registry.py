"""``studio-ledger import``, ``studios``, ``people``, ``policy``, ``appropriate`` and
``entitlements``: the registry and the money it is owed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from api.commands.base import (
    AS_USER,
    JSON,
    READ_AS,
    console,
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
    StudioOut,
    appropriation_out,
    entitlements_out,
    import_out,
    person_out,
    policy_out,
    studio_detail,
    studio_out,
    unit_out,
)
from ledger import program
from ledger.batches import disbursement
from ledger.errors import ValidationError
from ledger.funds import fund_services
from ledger.money import format_plain
from ledger.registry import roster_services
from ledger.registry.policy import Policy
from ledger.workbooks import imports
from schema.db import UnitOfWork


@click.group("import")
def import_group() -> None:
    """导入 Excel 工作簿：名册、考核结果、到账、支出 (Excel import).

    Excel import of roster, grades, receipts and expenses (all or nothing)."""


@import_group.command("template")
@click.argument("kind", type=click.Choice(list(imports.KINDS)))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def import_template(kind: str, path: Path) -> None:
    """生成空白导入模板 (write an empty workbook).

    Write an empty KIND workbook with headers, drop-downs and examples to PATH."""
    imports.write_template(kind, path)
    click.echo(f"template for {kind} written to {path}")


def _import_command(kind: str) -> click.Command:
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @AS_USER
    @JSON
    @click.pass_context
    @refusals_exit
    def run(ctx: click.Context, path: Path, as_user: str, as_json: bool) -> None:
        with progress(f"importing {path.name}", disable=as_json) as rows_read:
            report = writing(
                ctx,
                as_user,
                f"import.{kind}",
                lambda uow: import_out(
                    imports.import_file(uow, kind, path, by=as_user, on_rows=rows_read)
                ),
                lambda _: path.name,
            )
        if as_json:
            print_json(report)
            return
        click.echo(
            f"imported {report.rows} {kind} rows from {path.name}: "
            f"{report.changed} changed" + (" (already imported)" if not report.changed else "")
        )
        for warning in report.warnings:
            click.echo(f"提醒：{warning}")

    run.__doc__ = (
        f"导入{imports.TITLES[kind]} (import {kind} from xlsx).\n\n"
        f"Import {kind} from an xlsx file as USER (see `import template {kind}`)."
    )
    return click.command(kind)(run)


for _kind in imports.KINDS:
    import_group.add_command(_import_command(_kind))


@click.group()
def studios() -> None:
    """工作室名录：列出、查看 (the registry of studios).

    The registry of studios."""


@studios.command("list")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def studios_list(ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """列出工作室 (list studios).

    Every studio with its kind, host unit, cycle, status and people in its roster today."""

    def load(uow: UnitOfWork) -> list[StudioOut]:
        counts = roster_services.roster_counts(uow, program.today())
        return [studio_out(s, counts.get(s.code, 0)) for s in roster_services.studios(uow)]

    found = reading(ctx, "registry.read", as_user, load)
    if as_json:
        print_json(found)
        return
    if not found:
        nothing("no studios yet: import a roster (`studio-ledger import roster FILE --as CLERK`)")
        return
    shown = table(
        f"工作室 studios ({len(found)})",
        "编号",
        "名称",
        "类型",
        "挂牌单位",
        "轮次",
        "周期",
        "状态",
        "在册",
        right=("在册",),
        keep=("编号", "轮次", "周期"),
    )
    for s in found:
        shown.add_row(
            s.code,
            s.name,
            s.kind_label,
            s.host_unit,
            s.round_label,
            f"{s.cycle_start_year}-{s.cycle_end_year}" if s.cycle_end_year else "—",
            s.status_label
            + (f" {s.cancelled_on} {s.cancellation_cause_label}" if s.cancelled_on else ""),
            str(s.current_people),
        )
    console.print(shown)


@studios.command("show")
@click.argument("code")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def studios_show(ctx: click.Context, as_user: str | None, code: str, as_json: bool) -> None:
    """查看工作室及其名册 (show a studio and its roster).

    One studio and its roster (names and roles; never ID numbers)."""

    found = reading(
        ctx,
        "registry.read",
        as_user,
        lambda uow: studio_detail(
            roster_services.roster_of(uow, code),
            program.today(),
            disbursement.available_funds(uow, [code]),
        ),
    )
    if as_json:
        print_json(found)
        return
    click.echo(
        f"{found.code} {found.name}（{found.kind_label}，{found.host_unit}，{found.status_label}）"
    )
    click.echo(
        "可用余额（减去待审批批次）："
        + "，".join(f"{f.source_label} {format_plain(f.available_fen)}" for f in found.funds)
    )
    members = table("成员 roster", "人员", "姓名", "角色", "加入", "离开")
    for m in found.memberships:
        members.add_row(m.person, m.name, m.role_label, str(m.joined_on), str(m.left_on or ""))
    console.print(members)


@click.group()
def units() -> None:
    """单位：按编码列出单位及其账户 (units and their accounts).

    Units (单位): the schools hosting studios and employing members, by code."""


@units.command("list")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def units_list(ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """列出单位及其资金账户 (list units).

    Every unit's code, name and the accounts its money comes from."""
    found = [unit_out(u) for u in reading(ctx, "registry.read", as_user, roster_services.units)]
    if as_json:
        print_json(found)
        return
    if not found:
        nothing("no units yet: import a roster")
        return
    shown = table(
        f"单位 units ({len(found)})", "编码", "名称", "配套 / 支持科目地址", keep=("编码",)
    )
    for u in found:
        shown.add_row(u.code, u.name, f"{u.matching_account}\n{u.support_account}")
    console.print(shown)


@click.group()
def people() -> None:
    """人员：收款人，身份证号和银行账号脱敏 (the payees, masked).

    The payees (ID numbers and bank accounts masked)."""


@people.command("list")
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def people_list(ctx: click.Context, as_user: str | None, as_json: bool) -> None:
    """列出人员及所在单位 (list people, masked).

    Every person with their unit, masked ID number and bank account."""
    found = [person_out(p) for p in reading(ctx, "registry.read", as_user, roster_services.people)]
    if as_json:
        print_json(found)
        return
    if not found:
        nothing("no people yet: import a roster")
        return
    shown = table(
        f"人员 people ({len(found)})", "编号", "姓名", "单位", "身份证号", "开户行", "账号"
    )
    for p in found:
        shown.add_row(p.code, p.name, p.unit, p.id_number, p.bank_name, p.bank_account)
    console.print(shown)


@click.command()
@click.option("--year", type=int, required=True)
@click.option(
    "--on",
    "on",
    metavar="DATE",
    help="Effective date (default 2 January of YEAR; a later one when January is closed).",
)
@AS_USER
@JSON
@click.pass_context
@refusals_exit
def appropriate(ctx: click.Context, year: int, on: str | None, as_user: str, as_json: bool) -> None:
    """拨款：按上年考核结果拨付各工作室年度预算 (post the budgets).

    Post each studio's budget for YEAR by its grade of the year before (考核发放), split
    by funding source, once; lists every studio held back and why."""
    when = None if on is None else on_date(on)
    report = writing(
        ctx,
        as_user,
        "appropriation.post",
        lambda uow: appropriation_out(fund_services.appropriate(uow, year, when, by=as_user)),
        lambda _: f"appropriation:{year}",
    )
    if as_json:
        print_json(report)
        return
    click.echo(
        f"{year} appropriation under policy {report.policy_version}: "
        f"{len(report.funded)} studios funded, {report.total}"
        + (f"; already funded: {', '.join(report.already)}" if report.already else "")
    )
    for funded in report.vouchers:
        if funded.percent != 100:
            click.echo(f"funded {funded.studio} {funded.percent}%: {funded.basis}")
    for held in report.held:
        click.echo(f"held: {held.studio}: {held.reason}")


@click.command()
@click.option("--year", type=int, required=True)
@JSON
@READ_AS
@click.pass_context
@refusals_exit
def entitlements(ctx: click.Context, as_user: str | None, year: int, as_json: bool) -> None:
    """应发劳务补贴：某年度每人应发及暂缓原因 (stipends owed).

    Every stipend owed for YEAR, with held lines and their reasons."""
    report = entitlements_out(
        reading(
            ctx, "registry.read", as_user, lambda uow: disbursement.compute_entitlements(uow, year)
        )
    )
    if as_json:
        print_json(report)
        return
    payable = [x for x in report.lines if x.held is None]
    held = [x for x in report.lines if x.held is not None]
    if not report.lines:
        nothing(f"no stipends owed for {year}: no paid members in a studio's cycle")
        return
    shown = table(
        f"{year}年度劳务补贴 entitlements (policy {report.policy_version})",
        "工作室",
        "姓名",
        "角色",
        "月数",
        "等次",
        "应发金额",
        "说明",
        money=("应发金额",),
        right=("月数",),
        keep=("工作室",),
    )
    for x in payable:
        shown.add_row(
            x.studio,
            named(x.name, x.person),
            x.role_label,
            str(len(x.months)),
            x.grade_label or "-",
            format_plain(x.gross_fen),
            x.explanation,
        )
    console.print(shown)
    click.echo(f"合计 total: {report.total} for {len(payable)} lines")
    for x in held:
        click.echo(f"held: {x.studio} {x.name}（{x.person}，{x.role_label}）: {x.held}")


@click.group("policy")
def policy_group() -> None:
    """资金政策：按年度分版本，存后不改 (funding policy by year).

    Funding policy records, versioned by year (never changed once stored)."""


@policy_group.command("show")
@click.option("--year", type=int, help="The year whose governing policy to show (default: all).")
@click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    help="Accepted like every reading command's; the output is always JSON.",
)
@READ_AS
@click.pass_context
@refusals_exit
def policy_show(ctx: click.Context, as_user: str | None, year: int | None) -> None:
    """查看资金政策，输出 JSON (print policies as JSON).

    Print policy records as JSON (amounts in fen), whether or not --json is given."""
    found = reading(
        ctx,
        "registry.read",
        as_user,
        lambda uow: [roster_services.policy(uow, year)] if year else roster_services.policies(uow),
    )
    print_json([policy_out(p) for p in found])


@policy_group.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@AS_USER
@click.pass_context
@refusals_exit
def policy_add(ctx: click.Context, path: Path, as_user: str) -> None:
    """新增某年度的资金政策 (add a year's policy).

    Add a new year's policy (admin) from a JSON file shaped like `policy show` prints."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError(path.name, f"不是 JSON 格式的政策文件：{error}") from None
    if not isinstance(data, dict):
        raise ValidationError(path.name, "须是一个 JSON 对象")
    new = Policy.from_json(data)
    writing(
        ctx,
        as_user,
        "policy.add",
        lambda uow: roster_services.add_policy(uow, new, as_user),
        lambda _: f"policy:{new.version}",
    )
    click.echo(f"policy {new.version} added; it governs {new.year} onward")
