"""Auditor statements over HTTP: 明细账, 收支汇总表 and 科目余额表 as xlsx downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request
from litestar.params import FromQuery, QueryParameter
from litestar.response import File

from api.http.base import QueryYear, download, downloads, engine_of, read, request_id
from ledger import audit as audit_log
from ledger.books.periods import Period
from ledger.registry import roster_services
from ledger.users import User
from ledger.workbooks import statements
from schema.db import UnitOfWork


def _statement(
    request: Request[User, Any, Any], name: str, produce: Callable[[UnitOfWork, Path], object]
) -> File:
    def write_into(folder: Path) -> Path:
        path = folder / name
        read(request, lambda uow: produce(uow, path))
        logged(request, "statement.export", f"statement:{name}", name)
        return path

    return download("studio-ledger-statement-", write_into)


def logged(request: Request[User, Any, Any], action: str, target: str, name: str) -> None:
    """The audit entry of a file taken (made in its own read, then this short write, so a
    long export never holds the writers back): who took which file, from which request.
    Raised, the file is not sent."""
    with UnitOfWork(engine_of(request)) as uow:
        audit_log.record(
            uow, request.user.name, action, target, request_id(request), {"file": name}
        )
        uow.commit()


def ledger_file(
    request: Request[User, Any, Any], year: int, studio: str | None, *, cycle: bool = False
) -> File:
    """专项资金明细账 (xlsx) for the signed-in or token user; the API and the console send it."""

    def produce(uow: UnitOfWork, path: Path) -> int:
        last = year + roster_services.policy(uow, year).cycle_years - 1 if cycle else year
        return statements.export_ledger(uow, year, last, path, request.user.name, studio)

    return _statement(request, f"{year}-专项资金明细账.xlsx", produce)


def summary_file(request: Request[User, Any, Any], year: int) -> File:
    """专项资金收支汇总表 (xlsx)."""
    return _statement(
        request,
        f"{year}-专项资金收支汇总表.xlsx",
        lambda uow, path: statements.export_summary(uow, year, path, request.user.name),
    )


def trial_balance_file(request: Request[User, Any, Any], on: date, *, every: bool) -> File:
    """科目余额表 and 辅助余额表 (xlsx) as of ``on``; zero rows too when ``every``."""
    return _statement(
        request,
        f"{on.isoformat()}-科目余额表.xlsx",
        lambda uow, path: statements.export_trial_balance(
            uow, on, path, request.user.name, every=every
        ),
    )


def withholding_file(request: Request[User, Any, Any], month: Period) -> File:
    """扣缴个人所得税报告表 (xlsx) of ``month``, with its audit entry (whole 身份证号 leave
    the system in it)."""

    def produce(folder: Path) -> Path:
        path = folder / f"{month}-扣缴个人所得税报告表.xlsx"
        with UnitOfWork(engine_of(request)) as uow:
            statements.export_withholding(uow, month, path, request.user.name)
            audit_log.record(
                uow,
                request.user.name,
                "statement.withholding",
                f"withholding:{month}",
                request_id(request),
                {"file": path.name},
            )
            uow.commit()
        return path

    return download("studio-ledger-statement-", produce)


class StatementController(Controller):
    path = "/statements"
    tags = ("statements",)

    @downloads("/ledger.xlsx", "statement.export")
    def statement_ledger(
        self,
        request: Request[User, Any, Any],
        year: QueryYear,
        studio: Annotated[str | None, QueryParameter(max_length=40)] = None,
        *,
        cycle: FromQuery[bool] = False,
    ) -> File:
        """专项资金明细账 for a year (or the cycle starting then), every studio or one."""
        return ledger_file(request, year, studio, cycle=cycle)

    @downloads("/summary.xlsx", "statement.export")
    def statement_summary(self, request: Request[User, Any, Any], year: QueryYear) -> File:
        """专项资金收支汇总表 for a year, tied to the ledger."""
        return summary_file(request, year)

    @downloads("/trial-balance.xlsx", "statement.export")
    def statement_trial_balance(
        self,
        request: Request[User, Any, Any],
        on: Annotated[date, QueryParameter(name="date", description="YYYY-MM-DD")],
        *,
        every: Annotated[
            bool, QueryParameter(name="all", description="rows zero in every column too")
        ] = False,
    ) -> File:
        """科目余额表 and 辅助余额表 as of a date (rows zero in every column left out)."""
        return trial_balance_file(request, on, every=every)

    @downloads("/withholding.xlsx", "statement.withholding")
    def statement_withholding(
        self,
        request: Request[User, Any, Any],
        month: Annotated[str, QueryParameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
    ) -> File:
        """扣缴个人所得税报告表 of a month: a row per person, tied to the tax account
        (whole 身份证号 for the 出纳; audit-logged)."""
        return withholding_file(request, Period.parse(month, field="month"))
