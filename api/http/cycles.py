"""The program cycle over HTTP: studios' cycles, their close (终结) and renewal (继续命名),
and the 领导小组's decisions restoring a studio held back by its grade (考核发放)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import FromPath, JSONBody, QueryParameter

from api.http.base import (
    CodeCursor,
    IdempotencyKey,
    Limit,
    Page,
    QueryYear,
    Year,
    read,
    reads,
    write,
    writes,
)
from api.shapes import (
    CycleClosedOut,
    CycleOut,
    FundingDecisionOut,
    RenewedOut,
    cycle_closed_out,
    cycle_out,
    funding_decision_out,
    renewed_out,
)
from ledger import program
from ledger.funds import fund_services
from ledger.registry import cycle_services, roster_services
from ledger.registry.roster import MAX_REASON
from ledger.users import User
from schema.db import UnitOfWork


class DatedIn(msgspec.Struct, forbid_unknown_fields=True):
    on: date | None = None
    """The date it takes effect; default today (北京时间)."""


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A 领导小组 decision restoring a held studio's funding for a year."""

    studio: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    year: Year
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON)]
    percent: Annotated[int, msgspec.Meta(ge=1, le=100)] = 100
    on: date | None = None
    """When it is recorded; a year already due is funded at once, dated this day."""


class CycleController(Controller):
    path = "/cycles"
    tags = ("cycles",)

    @reads("/", "registry.read")
    def list_cycles(
        self,
        request: Request[User, Any, Any],
        studio: Annotated[str | None, QueryParameter(max_length=40)] = None,
        cursor: CodeCursor = None,
        limit: Limit = 100,
    ) -> Page[CycleOut]:
        """Every studio's cycles (or one studio's), by studio code: years, state, final
        grade, what the close returned per pool, and whether the studio was renamed."""
        start = cursor or ""

        def load(uow: UnitOfWork) -> list[CycleOut]:
            only = None if studio is None else [roster_services.studio(uow, studio).code]
            views = cycle_services.cycle_views(uow, program.today(), only)
            return [cycle_out(v) for v in views if v.studio.code > start]

        found = read(request, load)
        # a page ends after a studio's last cycle, so a cursor (a code) never splits one
        codes = sorted({c.studio for c in found})[:limit]
        more = len({c.studio for c in found}) > limit
        items = [c for c in found if c.studio in set(codes)]
        return Page(items, codes[-1] if more and codes else None)

    @writes("/{code:str}/close", "cycle.close")
    def close_cycle(
        self,
        request: Request[User, Any, Any],
        code: FromPath[str],
        data: JSONBody[DatedIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[CycleClosedOut]:
        """Close the studio's ended cycle (终结): every unspent fen of its funds goes back to
        its source in one voucher. Refused (409) before the cycle ends, or while a stipend
        of the studio waits for approval or payment or was returned by the bank."""
        on = (data.on if data else None) or program.today()
        return write(
            request,
            action="cycle.close",
            data=data,
            key=key,
            run=lambda uow: cycle_services.close_cycle(uow, code, on, by=request.user.name),
            answer=lambda _, c: cycle_closed_out(c),
            target=lambda c: f"cycle:{c.studio.code}:{c.cycle.number}",
        )

    @writes("/{code:str}/renew", "cycle.renew")
    def renew_cycle(
        self,
        request: Request[User, Any, Any],
        code: FromPath[str],
        data: JSONBody[DatedIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[RenewedOut]:
        """Rename the studio for a new cycle (继续命名): refused (409) unless its last cycle
        is closed and its final grade allows it; funds the first year once it is due."""
        on = (data.on if data else None) or program.today()
        return write(
            request,
            action="cycle.renew",
            data=data,
            key=key,
            run=lambda uow: cycle_services.renew_cycle(uow, code, on, by=request.user.name),
            answer=lambda _, r: renewed_out(r),
            target=lambda r: f"cycle:{r.studio.code}:{r.cycle.number}",
        )


class FundingDecisionController(Controller):
    path = "/funding-decisions"
    tags = ("funds",)

    @reads("/", "registry.read")
    def list_decisions(
        self, request: Request[User, Any, Any], year: QueryYear
    ) -> list[FundingDecisionOut]:
        """The 领导小组's decisions restoring held studios' funding for ``year``."""
        found = read(request, lambda uow: fund_services.funding_decisions(uow, year))
        return [funding_decision_out(d) for _, d in sorted(found.items())]

    @writes("/", "funding.decide", status=201)
    def decide(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[DecisionIn],
        key: IdempotencyKey = None,
    ) -> Response[FundingDecisionOut]:
        """Record a decision restoring a studio held back by its grade (考核发放); funded at
        once when the year's appropriation day has passed. Refused (409) for a studio not
        held for its grade, a year decided or funded already."""
        on = data.on or program.today()
        return write(
            request,
            action="funding.decide",
            data=data,
            key=key,
            status=201,
            run=lambda uow: fund_services.restore_funding(
                uow, data.studio, data.year, data.percent, data.reason, by=request.user.name, on=on
            ),
            answer=lambda _, r: funding_decision_out(*r),
            target=lambda r: f"funding:{r[0].studio}:{r[0].year}",
        )
