"""The README's reference of both surfaces, generated from the surfaces themselves.

``python -m api.reference`` prints the command line's every command with its
arguments, and the HTTP operations with the action and roles the permission table
gives them. README.md holds the same text between ``<!-- cli-reference -->`` and
``<!-- http-reference -->`` markers; a test fails when they drift apart.
"""

from __future__ import annotations

import click

from ledger.codes import UserRole
from ledger.permissions import roles_for


def _parameter(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        return param.human_readable_name.upper()
    if not isinstance(param, click.Option):
        return ""
    name = max(param.opts, key=len)
    if param.is_flag:
        shown = name
    elif isinstance(param.type, click.Choice):
        shown = f"{name} {'|'.join(str(c) for c in param.type.choices)}"
    else:
        shown = f"{name} {param.metavar or (param.name or '').upper()}"
    if param.multiple:
        shown += " ..."
    return shown if param.required else f"[{shown}]"


def _commands(group: click.Group, ctx: click.Context, prefix: str) -> list[str]:
    lines = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            lines += _commands(command, click.Context(command, parent=ctx), path)
            continue
        shown = " ".join(p for p in map(_parameter, command.params) if p and p != "[--help]")
        lines.append(f"{path} {shown}".rstrip())
    return lines


def cli_reference() -> str:
    """Every command with its arguments; required options bare, optional ones bracketed."""
    from api.cli import main  # noqa: PLC0415 (loads every command module)

    with click.Context(main, info_name="studio-ledger") as ctx:
        return "\n".join(["```", *_commands(main, ctx, "studio-ledger"), "```"])


def http_reference() -> str:
    """Every operation under /api/v1 with its action and the roles allowed it."""
    from api.app import API, Settings, create_app  # noqa: PLC0415
    from schema.db import connect  # noqa: PLC0415

    engine = connect("sqlite://")
    try:
        app = create_app(Settings("sqlite://", csrf_secret="reference only"), engine)  # noqa: S106
        rows = sorted(
            (route.path, method, handler.opt["action"])
            for route in app.routes
            if route.path.startswith(API)
            for handler in getattr(route, "route_handlers", [])
            for method in handler.http_methods - {"OPTIONS", "HEAD"}
        )
    finally:
        engine.dispose()
    lines = ["| operation | action | roles |", "|---|---|---|"]
    for route, method, action in rows:
        path = route.removeprefix(API).replace(":str", "").replace(":int", "")
        roles = ", ".join(r.value for r in UserRole if r in roles_for(action))
        lines.append(f"| `{method} {path}` | `{action}` | {roles} |")
    return "\n".join(lines)


if __name__ == "__main__":
    click.echo("<!-- cli-reference -->\n" + cli_reference() + "\n<!-- /cli-reference -->\n")
    click.echo("<!-- http-reference -->\n" + http_reference() + "\n<!-- /http-reference -->")
