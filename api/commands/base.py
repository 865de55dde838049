"""What every command shares: the database, refusals as one line, the audit entry of a
write, ``--as``/``--on``/``--json``, JSON output in the API's shapes, tables that never
cut an amount, and progress on long work."""

from __future__ import annotations

import getpass
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from typing import Any, Final, Literal, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from api.shapes import encode
from ledger import audit as audit_log
from ledger.clock import PROGRAM_TIME_ZONE, check_not_future, local_time, today
from ledger.errors import InvalidInputError, LedgerError, ValidationError
from ledger.permissions import Action
from ledger.users import reader
from ledger.workbooks import imports
from schema.db import DatabaseUnavailable, UnitOfWork, is_conflict, open_database, shown
from schema.migrate import current_revision, head_revision

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

EX_TEMPFAIL: Final = 75
"""sysexits.h: a temporary failure; running the same command again may succeed."""

console = Console(soft_wrap=False)
errors = Console(stderr=True, soft_wrap=True)

RUN_ID: Final = f"cli:{uuid.uuid4().hex[:12]}"
"""Ties the audit entries of one command-line run together, like a request id."""


def refuse(message: str) -> None:
    errors.print(f"[red]拒绝：[/red]{message}", markup=True, highlight=False)


def refusals_exit(command: Callable[P, R]) -> Callable[P, R]:
    """Print a domain refusal as one clear line and exit 2 instead of a traceback."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except imports.ImportRefused as refused:
            for problem in refused.problems:
                refuse(str(problem))
            errors.print(f"未导入任何内容（共{len(refused.problems)}个问题）")
            sys.exit(2)
        except InvalidInputError as refused:
            for error in refused.errors:
                refuse(str(error))
            sys.exit(2)
        except LedgerError as refused:
            refuse(str(refused))
            sys.exit(2)
        except IntegrityError as failed:
            if not is_conflict(failed):  # a database rule the domain should have checked
                refuse("此项更改违反账簿数据库的规则，没有写入任何内容")
                sys.exit(2)
            errors.print(
                "[red]冲突：[/red]另一处同时更改了同一数据，没有写入任何内容，请重试",
                markup=True,
                highlight=False,
            )
            sys.exit(EX_TEMPFAIL)

    return run


def engine(ctx: click.Context, *, migrated: bool = True) -> Engine:
    """The database engine; unless ``migrated=False``, refuse an out-of-date schema."""
    root = ctx.find_root()
    found: Engine | None = root.obj.get("engine")
    if found is None:
        try:
            found = root.obj["engine"] = open_database(root.obj["db_url"], create=not migrated)
        except DatabaseUnavailable as unavailable:
            raise click.ClickException(str(unavailable)) from None
        root.call_on_close(found.dispose)
    if migrated and current_revision(found) != head_revision():
        raise click.ClickException(
            f"the database at {shown(root.obj['db_url'])} is not at the current schema; "
            "run `studio-ledger db upgrade` first"
        )
    return found


def reading(
    ctx: click.Context, action: Action, by: str | None, run: Callable[[UnitOfWork], T]
) -> T:
    """Run a read of ``action``'s data in its own read-only unit of work, for ``by`` if
    the permission table lets them read it; without ``--as``, only what it opens to every
    role (:func:`ledger.users.reader`), as the HTTP service and the console check."""
    with UnitOfWork(engine(ctx), write=False) as uow:
        reader(uow, by, action)
        return run(uow)


def installing(ctx: click.Context, run: Callable[[UnitOfWork], T]) -> T:
    """Read for the installation's own upkeep (the chain key ring): like ``db upgrade``,
    it needs the database and the key file, not a user of the ledger."""
    with UnitOfWork(engine(ctx), write=False) as uow:
        return run(uow)


def writing(
    ctx: click.Context,
    by: str,
    action: str,
    run: Callable[[UnitOfWork], T],
    target: Callable[[T], str],
) -> T:
    """Run one write as ``by`` (the service checks their permission) with its audit entry,
    in one unit of work."""
    with UnitOfWork(engine(ctx)) as uow:
        result = run(uow)
        audit(uow, by, action, target(result))
        uow.commit()
    return result


def audit(uow: UnitOfWork, actor: str, action: str, target: str) -> None:
    """Append this run's state change to the audit log, in the same transaction."""
    ctx = click.get_current_context()
    params = {k: str(v) for k, v in ctx.params.items() if v is not None and v is not False}
    audit_log.record(
        uow,
        actor,
        action,
        target,
        RUN_ID,
        {"command": ctx.command_path, "params": params, "login": getpass.getuser()},
    )


def parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(field, f"不是日期，应写作 YYYY-MM-DD：{value!r}") from None


def on_date(value: str | None) -> date:
    """The ``--on`` date of a write, default today; never after today (the one rule,
    :func:`ledger.clock.check_not_future`, naming the option)."""
    day = parse_date(value, "--on") or today()
    check_not_future(day, field="--on")
    return day


def print_json(value: Any) -> None:
    """A shape (or a list of them) as the HTTP service would send it."""
    click.echo(encode(value).decode())


AS_USER = click.option(
    "--as",
    "as_user",
    required=True,
    metavar="USER",
    help="办理人，按权限表检查其角色 (the user doing this).",
)
READ_AS = click.option(
    "--as",
    "as_user",
    metavar="USER",
    default=None,
    help="查询人，部分数据须有权限 (the user reading).",
)
ON_DATE = click.option(
    "--on", "on", metavar="DATE", help="日期，默认今天，不能晚于今天 (effective date)."
)
JSON = click.option("--json", "as_json", is_flag=True, help="输出 JSON 供程序读取 (print JSON).")


def table(
    title: str,
    *columns: str,
    money: tuple[str, ...] = (),
    right: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
) -> Table:
    """A table whose amount columns (``money``) and codes (``keep``) are never cut or
    wrapped: the text columns wrap instead, so nothing is lost at 80 columns."""
    shown = Table(title=title, title_justify="left")
    for header in columns:
        whole = header in money or header in keep
        justify: Literal["left", "right"] = (
            "right" if header in money or header in right else "left"
        )
        shown.add_column(
            Text(header, justify=justify),
            justify=justify,
            no_wrap=whole,
            overflow="fold",
        )
    return shown


def beijing(recorded: datetime) -> str:
    """A recorded time as people read it: ``2025-01-10 09:30`` in Beijing time."""
    aware = recorded if recorded.tzinfo else local_time(recorded)
    return f"{aware.astimezone(PROGRAM_TIME_ZONE):%Y-%m-%d %H:%M}"


def named(name: str, code: str) -> str:
    """A person as tables show them: the name, and the code below it."""
    return f"{name}\n{code}"


def nothing(message: str) -> None:
    """Say that a list is empty instead of printing nothing."""
    click.echo(message)


@contextmanager
def progress(description: str, *, disable: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A spinner with the elapsed time on stderr while long work runs (off for --json);
    work that can count (an import's rows) calls what it yields with (done, total), and
    the spinner becomes a bar."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=disable,
    ) as shown_progress:
        task = shown_progress.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            counted = f"{done:,}/{total:,} 行" if total else f"{done:,} 行"
            shown_progress.update(
                task, completed=done, total=total or None, description=f"{description} {counted}"
            )

        yield advance
