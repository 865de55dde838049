"""Auditor statements over HTTP: 明细账, 收支汇总表 and 科目余额表 as xlsx downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request
from litestar.params import FromQuery, QueryParameter
from litestar.response import File

from api.http.base import QueryYear, download, downloads, read
from ledger import program, statements
from ledger.users import User
from schema.db import UnitOfWork


def _statement(
    request: Request[User, Any, Any], name: str, produce: Callable[[UnitOfWork, Path], object]
) -> File:
    def write_into(folder: Path) -> Path:
        path = folder / name
        read(request, lambda uow: produce(uow, path))
        return path

    return download("studio-ledger-statement-", write_into)


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

        def produce(uow: UnitOfWork, path: Path) -> int:
            last = year + program.policy(uow, year).cycle_years - 1 if cycle else year
            return statements.export_ledger(uow, year, last, path, request.user.name, studio)

        return _statement(request, f"{year}-专项资金明细账.xlsx", produce)

    @downloads("/summary.xlsx", "statement.export")
    def statement_summary(self, request: Request[User, Any, Any], year: QueryYear) -> File:
        """专项资金收支汇总表 for a year, tied to the ledger."""
        return _statement(
            request,
            f"{year}-专项资金收支汇总表.xlsx",
            lambda uow, path: statements.export_summary(uow, year, path, request.user.name),
        )

    @downloads("/trial-balance.xlsx", "statement.export")
    def statement_trial_balance(
        self,
        request: Request[User, Any, Any],
        on: Annotated[date, QueryParameter(name="date", description="YYYY-MM-DD")],
    ) -> File:
        """科目余额表 as of a date."""
        return _statement(
            request,
            f"{on.isoformat()}-科目余额表.xlsx",
            lambda uow, path: statements.export_trial_balance(uow, on, path, request.user.name),
        )
