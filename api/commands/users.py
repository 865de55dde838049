"""``studio-ledger users``: users, their roles and their API tokens."""

from __future__ import annotations

import sys

import click

from api.commands.base import (
    JSON,
    beijing,
    console,
    print_json,
    reading,
    refusals_exit,
    table,
    writing,
)
from api.shapes import user_out
from ledger import users as user_service
from ledger.codes import UserRole, describe
from ledger.users import ROLES

BY_ADMIN = click.option(
    "--as",
    "as_user",
    metavar="ADMIN",
    default=None,
    help="The admin doing this. Leave out only to add a new installation's first admin.",
)
ADMIN = click.option(
    "--as", "as_user", metavar="ADMIN", required=True, help="The admin doing this."
)


@click.group()
def users() -> None:
    """用户：角色与 API 令牌 (users, roles and API tokens).

    Users and their roles: clerk, approver, cashier, auditor, admin."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help=describe(UserRole))
@click.option(
    "--id-number",
    metavar="身份证号",
    help="本人身份证号，审核人和出纳必填 (required of an approver and a cashier: neither may "
    "approve or pay what pays them).",
)
@BY_ADMIN
@click.pass_context
@refusals_exit
def users_add(
    ctx: click.Context, name: str, role: str, id_number: str | None, as_user: str | None
) -> None:
    """添加用户，显示一次 API 令牌 (add a user).

    Add a user; prints their API token once (only its hash is stored)."""
    token = writing(
        ctx,
        as_user or "(installation)",
        "user.add",
        lambda uow: user_service.add_user(uow, name, role, as_user, id_number),
        lambda _: f"user:{name}",
    )
    click.echo(f"user {name} added as {role}（{UserRole(role).label}）")
    click.echo(f"API token (shown once, keep it safe): {token}")
    if as_user is not None and role in user_service.DUTY_ROLES:
        click.echo(
            f"{name} can do nothing until a second admin confirms: "
            f"studio-ledger users confirm {name} --as OTHER_ADMIN"
        )


@users.command("list")
@ADMIN
@JSON
@click.pass_context
@refusals_exit
def users_list(ctx: click.Context, as_user: str, as_json: bool) -> None:
    """列出用户 (list users).

    Every user: role, whether disabled, when their token was issued and last used."""
    found = [
        user_out(u)
        for u in reading(ctx, "user.read", as_user, lambda uow: user_service.users(uow, as_user))
    ]
    if as_json:
        print_json(found)
        return
    shown = table(
        f"用户 users ({len(found)})", "用户名", "角色", "状态", "令牌签发", "令牌最近使用"
    )
    for u in found:
        shown.add_row(
            u.name,
            f"{u.role_label}（{u.role}）",
            "待第二位管理员确认" if u.awaiting_confirmation else "已停用" if u.disabled else "正常",
            beijing(u.token_issued_at or u.created_at),
            beijing(u.token_last_used_at) if u.token_last_used_at else "—",
        )
    console.print(shown)


@users.command("disable")
@click.argument("name")
@ADMIN
@click.pass_context
@refusals_exit
def users_disable(ctx: click.Context, name: str, as_user: str) -> None:
    """停用用户 (disable a user).

    Disable NAME at once: their API token stops working."""
    writing(
        ctx,
        as_user,
        "user.disable",
        lambda uow: user_service.disable_user(uow, name, as_user),
        lambda _: f"user:{name}",
    )
    click.echo(f"user {name} is disabled; their token no longer works")


@users.command("confirm")
@click.argument("name")
@ADMIN
@click.pass_context
@refusals_exit
def users_confirm(ctx: click.Context, name: str, as_user: str) -> None:
    """确认另一位管理员添加的审核人、出纳或管理员 (confirm a user).

    Confirm an approver, a cashier or an admin another admin added (a second admin must)."""
    confirmed = writing(
        ctx,
        as_user,
        "user.confirm",
        lambda uow: user_service.confirm_user(uow, name, as_user),
        lambda _: f"user:{name}",
    )
    click.echo(
        f"user {name} is disabled; nothing to confirm"
        if confirmed.disabled
        else f"user {name} ({confirmed.role}) is confirmed by {confirmed.confirmed_by} and active"
    )


@users.command("token")
@click.argument("name")
@ADMIN
@click.pass_context
@refusals_exit
def users_token(ctx: click.Context, name: str, as_user: str) -> None:
    """更换 API 令牌 (issue a new token).

    Print a new API token for NAME; the old one stops working at once."""
    token = writing(
        ctx,
        as_user,
        "user.token",
        lambda uow: user_service.rotate_token(uow, name, as_user),
        lambda _: f"user:{name}",
    )
    click.echo(f"new API token for {name} (shown once; the old one no longer works): {token}")


def _new_password() -> str:
    """The password: asked twice on a terminal; one line from a pipe (its newline dropped)."""
    if sys.stdin.isatty():
        entered: str = click.prompt("新密码 password", hide_input=True, confirmation_prompt=True)
        return entered
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@users.command("password")
@click.argument("name")
@click.option(
    "--as",
    "as_user",
    metavar="USER",
    required=True,
    help="An admin, or NAME themselves.",
)
@click.pass_context
@refusals_exit
def users_password(ctx: click.Context, name: str, as_user: str) -> None:
    """设置控制台密码 (set a console password).

    Set NAME's console password, read from stdin (stored only as an Argon2id hash)."""
    password = _new_password()
    writing(
        ctx,
        as_user,
        "user.password",
        lambda uow: user_service.set_password(uow, name, password, as_user),
        lambda _: f"user:{name}",
    )
    click.echo(f"password set for {name}")
