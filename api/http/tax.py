"""The withheld tax over HTTP: a month paid over to the tax office (缴纳)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import JSONBody

from api.http.base import IdempotencyKey, write, writes
from api.shapes import RemittanceOut, remittance_out
from ledger import program
from ledger.books.periods import Period
from ledger.tax import remittance
from ledger.users import User

Month = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class RemitIn(msgspec.Struct, forbid_unknown_fields=True):
    month: Month
    on: date | None = None
    """The day the tax is paid over (after the month; default today)."""


class TaxController(Controller):
    path = "/tax"
    tags = ("tax",)

    @writes("/remittances", "tax.remit", status=201)
    def remit(
        self, request: Request[User, Any, Any], data: JSONBody[RemitIn], key: IdempotencyKey = None
    ) -> Response[RemittanceOut]:
        """Pay a month's declared tax over (应交税费 → 银行存款), exactly the 已扣缴税额 of
        its 扣缴个人所得税报告表; refused for a month not over, while a batch waits for the
        bank, and a second time."""
        month = Period.parse(data.month, field="month")
        on = data.on or program.today()
        return write(
            request,
            action="tax.remit",
            data=data,
            key=key,
            run=lambda uow: remittance.remit(uow, month, request.user.name, on),
            answer=lambda _, r: remittance_out(r),
            target=lambda r: f"tax:{r.month}",
            status=201,
        )
