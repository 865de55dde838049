"""The manual's reference pages, generated from the code they describe at every build
(``api/manual.py`` puts them in place of ``<!-- generated: NAME -->``): the HTTP API from
the service's own OpenAPI document, the chart of accounts, the policy fields, the import
workbooks, the message catalogue and the permission table. The command line's page is
mkdocs-click's; :func:`cli_reference` lists every command for the test that checks it.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Final

import click

from ledger.codes import UserRole


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


# -- the manual's reference pages (docs/reference/*.md, through api/manual.py) ---------


_ROLE: Final = re.compile(r":\w+:`~?([^`]+)`")


def _plain(text: str) -> str:
    """A docstring as the manual shows it: its indentation taken off, and Sphinx's
    ``:data:`NAME``` roles shown as plain code."""
    return _ROLE.sub(r"`\1`", inspect.cleandoc(text))


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return _plain(str(text)).replace("|", "\\|").replace("\n", " ")


def _openapi() -> dict[str, Any]:
    from api.app import Settings, create_app  # noqa: PLC0415
    from schema.db import connect  # noqa: PLC0415

    engine = connect("sqlite://")
    try:
        app = create_app(Settings("sqlite://", csrf_secret="reference only"), engine)  # noqa: S106
        schema: dict[str, Any] = app.openapi_schema.to_schema()
    finally:
        engine.dispose()
    return schema


def _schema_name(content: dict[str, Any] | None) -> str:
    for media in (content or {}).values():
        return _type_of(media.get("schema", {}))
    return ""


def http_operations() -> str:
    """Every operation of the service's own OpenAPI document, by tag: what it does, who
    may call it, its parameters, body and answers."""
    schema = _openapi()
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["service"])[0]
            by_tag.setdefault(tag, []).append((path, method.upper(), operation))
    out = [
        f"接口文档版本 {schema['info']['version']}，共 {sum(map(len, by_tag.values()))} 个操作。"
        "服务本身在 `/schema/openapi.json` 和 `/schema/swagger` 提供同一份文档。",
        "",
    ]
    for tag in schema.get("tags", []):
        operations = by_tag.pop(tag["name"], [])
        if operations:
            out += _tag_section(tag["name"], tag.get("description", ""), operations)
    for name, operations in sorted(by_tag.items()):
        out += _tag_section(name, "", operations)
    return "\n".join(out + _shapes(schema["components"].get("schemas", {})))


def _type_of(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "oneOf" in spec or "anyOf" in spec:
        return " 或 ".join(_type_of(s) for s in spec.get("oneOf", spec.get("anyOf", [])))
    if spec.get("type") == "array":
        return f"{_type_of(spec.get('items', {}))} 的列表"
    if "enum" in spec:
        return " / ".join(f"`{v}`" for v in spec["enum"])
    return f"`{spec.get('type', 'object')}`"


def _anchor(name: str) -> str:
    return "schema-" + "".join(c if c.isalnum() else "-" for c in name.lower())


def _shapes(schemas: dict[str, Any]) -> list[str]:
    """Each request and answer body: its fields, their types and whether required."""
    out = ["## 数据结构", ""]
    for name, spec in sorted(schemas.items()):
        out += [f"### {name} {{#{_anchor(name)}}}", ""]
        if spec.get("description"):
            out += [_plain(spec["description"]), ""]
        fields = spec.get("properties", {})
        if not fields:
            out += [f"类型：{_type_of(spec)}", ""]
            continue
        required = set(spec.get("required", []))
        out += ["| 字段 | 类型 | 必有 | 说明 |", "|---|---|---|---|"]
        out += [
            f"| `{field}` | {_cell(_type_of(f))} | {'是' if field in required else '否'} "
            f"| {_cell(f.get('description', ''))} |"
            for field, f in fields.items()
        ]
        out.append("")
    return out


def _tag_section(name: str, description: str, operations: list[Any]) -> list[str]:
    out = [f"## {description.split(':', maxsplit=1)[0] or name} (`{name}`)", ""]
    if ":" in description:
        out += [description.split(":", 1)[1].strip(), ""]
    for path, method, operation in sorted(operations):
        text, _, who = operation.get("description", "").partition("\n\n**Permission**")
        out += [f"### `{method} {path}`", "", _plain(text) or operation.get("summary", ""), ""]
        if who:
            out += [f"**权限** {who.strip()}", ""]
        params = operation.get("parameters", [])
        if params:
            out += ["| 参数 | 位置 | 必填 | 说明 |", "|---|---|---|---|"]
            out += [
                f"| `{p['name']}` | {p['in']} | {'是' if p.get('required') else '否'} "
                f"| {_cell(p.get('description', ''))} |"
                for p in params
            ]
            out.append("")
        body = operation.get("requestBody")
        if body:
            out += [f"请求体：{_schema_name(body.get('content'))}", ""]
        answers = ", ".join(
            f"{code} {_schema_name(a.get('content'))}".strip()
            for code, a in sorted(operation.get("responses", {}).items())
        )
        out += [f"应答：{answers}", ""]
    return out


def chart_of_accounts() -> str:
    """The 会计科目 of the chart module: codes, names, normal side, 辅助核算."""
    from ledger.books import chart  # noqa: PLC0415

    out = ["| 科目编码 | 科目名称 | 余额方向 | 辅助核算 | 账户地址 |", "|---|---|---|---|---|"]
    for top in chart.TOP_TITLES:
        kinds = [k for k, t in chart.SUB_TITLES.items() if t == top]
        addresses = ", ".join(f"`{k}`" for k in kinds)
        out.append(
            f"| {top.code} | {top.name} | {top.side} | {chart.DIMENSIONS.get(top.code, '')} "
            f"| {addresses} |"
        )
        subs = {t.code: t for k, t in chart.SUB_TITLES.items() if t.code.startswith(top.code)}
        for code, title in sorted(subs.items()):
            if code == top.code:
                continue
            kinds = [k for k, t in chart.SUB_TITLES.items() if t == title]
            out.append(
                f"| {code} | {title.name} | {title.side} | {chart.DIMENSIONS.get(code, '')} "
                f"| {', '.join(f'`{k}`' for k in kinds)} |"
            )
    out += ["", "银行存款的收支项目（辅助核算）：", "", "| 账户地址 | 收支项目 |", "|---|---|"]
    out += [f"| `{k}` | {v} |" for k, v in chart.BANK_ITEMS.items()]
    return "\n".join(out)


def policy_fields() -> str:
    """Each policy field with its meaning (from :class:`Policy`'s docstring) and the
    value a new database is seeded with (the notice's)."""
    import dataclasses  # noqa: PLC0415
    import inspect  # noqa: PLC0415
    import json  # noqa: PLC0415
    import logging  # noqa: PLC0415

    from ledger.registry.policy import Policy  # noqa: PLC0415
    from schema.db import UnitOfWork, connect  # noqa: PLC0415
    from schema.migrate import upgrade  # noqa: PLC0415

    engine = connect("sqlite://")
    try:
        logging.disable(logging.INFO)  # alembic's step-by-step lines are not the build's
        try:
            upgrade(engine)  # the seeded rows only: no chain key is needed to read them
        finally:
            logging.disable(logging.NOTSET)
        with UnitOfWork(engine, write=False) as uow:
            seeded = uow.registry.policies()[0]
    finally:
        engine.dispose()
    meanings: dict[str, str] = {}
    name = ""
    for line in inspect.getdoc(Policy).splitlines():  # type: ignore[union-attr]
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("    ") and ":" in stripped:
            name, _, text = stripped.partition(":")
            meanings[name] = text.strip()
        elif name and line.startswith("    "):
            meanings[name] += " " + stripped
    out = [
        f"新建的数据库带有一条政策记录（版本 `{seeded.version}`，自 {seeded.year} 年度起），"
        "即通知的规定；金额单位为分。",
        "",
        "| 字段 | 名称 | 含义 | 初始值 |",
        "|---|---|---|---|",
    ]
    for f in dataclasses.fields(Policy):
        value = getattr(seeded, f.name)
        shown = json.dumps(
            dict(value)
            if hasattr(value, "items")
            else list(value)
            if isinstance(value, tuple)
            else value,
            ensure_ascii=False,
        )
        out.append(
            f"| `{f.name}` | {POLICY_NAMES.get(f.name, '')} | {_cell(meanings.get(f.name, ''))} "
            f"| `{_cell(shown)}` |"
        )
    return "\n".join(out)


POLICY_NAMES: Final = {
    "version": "政策版本",
    "year": "起始年度",
    "annual_budget": "每个工作室每年业务经费（分）",
    "source_shares": "各资金来源所占比例（%）",
    "host_stipend": "主持人劳务补贴（分/年）",
    "member_stipend": "成员劳务补贴（分/年）",
    "grade_ratios": "各考核等次的补贴发放比例（%）",
    "proration_day": "按月计发的在岗日",
    "max_paid_members": "领取补贴的成员上限",
    "min_external_members": "外单位成员下限",
    "max_trainees": "学员上限",
    "matching_minimum": "挂牌单位配套经费下限（分/年）",
    "quotas": "每轮各类工作室名额",
    "cycle_years": "工作周期年数",
    "host_forfeits_on_cancellation": "撤销时主持人不发当年补贴",
    "withholding": "个人所得税代扣规则",
    "approval_threshold": "需两位审批人的批次金额（分）",
    "funding_ratios": "考核发放：上年等次对应的拨款比例（%）",
    "renewal_grades": "可继续命名的终结性考核等次",
    "travel_included": "补贴含差旅费",
}
"""Each policy field's name in the office's words (the manual's 政策参数 page)."""


_KIND_WORDS: Final = {
    "text": "文字",
    "code": "编号",
    "id": "身份证号（校验位）",
    "date": "日期",
    "year": "年度",
    "round": "轮次",
    "amount": "金额（元，至多两位小数）",
    "choice": "选项",
}


def import_workbooks() -> str:
    """Each import workbook's sheets and columns, from the import definitions."""
    from ledger.workbooks import imports  # noqa: PLC0415

    out = []
    for kind, sheets in imports.KINDS.items():
        out += [
            f"## {imports.TITLES[kind]} (`{kind}`)",
            "",
            f"命令行：`studio-ledger import {kind} FILE --as USER`；所需权限 "
            f"`{imports.ACTIONS[kind]}`。",
            "",
        ]
        for sheet in sheets:
            out += [
                f"### 工作表“{sheet.title}”{'' if sheet.required else '（可选）'}",
                "",
                "| 列 | 类型 | 必填 | 可填的值 |",
                "|---|---|---|---|",
            ]
            for column in sheet.columns:
                allowed = "、".join(column.choices.values())
                if column.max_length:
                    allowed = f"至多 {column.max_length} 个字"
                out.append(
                    f"| {column.header} | {_KIND_WORDS.get(column.kind, column.kind)} "
                    f"| {'是' if column.required else '否'} | {_cell(allowed)} |"
                )
            out.append("")
    return "\n".join(out)


def message_catalogue() -> str:
    """The catalogue a refusal is read in: each kind of refusal with its status and the
    heading shown above it, and each field code with its Chinese name."""
    from api.http.base import REFUSALS  # noqa: PLC0415
    from ledger import messages  # noqa: PLC0415

    out = [
        "## 拒绝的种类",
        "",
        "每一次拒绝都属于下面一种：控制台在说明上方显示“标题”，HTTP 接口以该状态码和 "
        "RFC 9457 问题文档应答（`title` 为英文，`detail` 为中文说明）。",
        "",
        "| 种类 | 控制台标题 | HTTP 状态 | 接口 title |",
        "|---|---|---|---|",
    ]
    out += [f"| `{r.kind.__name__}` | {r.heading} | {r.status} | {r.title} |" for r in REFUSALS]
    out += [
        "",
        "## 字段名称",
        "",
        "说明中的字段以中文名称显示；HTTP 问题文档的 `errors[].field` 保留代码。",
        "",
        "| 代码 | 名称 |",
        "|---|---|",
    ]
    out += [f"| `{code}` | {name} |" for code, name in messages.FIELDS.items()]
    out += ["", "列表中的一项（`receipts[0]` 读作“收款第1项”）：", "", "| 代码 | 一项称为 |"]
    out += ["|---|---|"]
    out += [f"| `{code}` | {name} |" for code, name in messages.COLLECTIONS.items()]
    return "\n".join(out)


def permission_table() -> str:
    """The one permission table (:mod:`ledger.permissions`): each action, who may do it."""
    from ledger.permissions import PERMISSIONS  # noqa: PLC0415

    roles = list(UserRole)
    out = [
        "| 操作 | " + " | ".join(r.label for r in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    out += [
        f"| `{action}` | " + " | ".join("✓" if r in allowed else "" for r in roles) + " |"
        for action, allowed in PERMISSIONS.items()
    ]
    return "\n".join(out)


GENERATED: Final = {
    "permissions": permission_table,
    "http": http_operations,
    "accounts": chart_of_accounts,
    "policy": policy_fields,
    "imports": import_workbooks,
    "messages": message_catalogue,
}
"""What a manual page's ``<!-- generated: NAME -->`` marker is replaced with."""
