"""The console's 人员 and 工作室 lookups (issue 33): a 搜索 box a page at a time, and the
page of one person (places, batch lines, months paid) or one studio (people, fund by
source, the year's entries, batch lines, grades, cycles). ID numbers and accounts are
masked here for everyone (:mod:`ledger.privacy`): whole only on a batch's page, to the
roles the permission table names."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Controller, Request
from litestar.params import FromPath
from litestar.response import Template

from api.console.common import page
from api.console.pages import view
from api.http.base import read
from api.shapes import cycle_out, person_out, studio_out
from ledger import lookups, program
from ledger.batches.batch import LINE_STATUS_LABELS
from ledger.codes import Grade, MemberRole, labels
from ledger.errors import digits
from ledger.funds.expenses import SOURCE_LABELS
from ledger.registry import cycle_services
from ledger.registry.roster import FIRST_YEAR, LAST_YEAR
from ledger.registry.search import MAX_SEARCH, Search
from ledger.users import User
from schema.db import UnitOfWork

LABELS = {
    "lines_shown": lookups.LINES_SHOWN,
    "roles": labels(MemberRole),
    "grades": labels(Grade),
    "statuses": LINE_STATUS_LABELS,
    "sources": SOURCE_LABELS,
}


def _after(request: Request[Any, Any, Any]) -> str:
    return request.query_params.get("after", "")[:40]


class LookupPages(Controller):
    path = "/console"

    @view("/people", "registry.read")
    def people(self, request: Request[User, Any, Any]) -> Template:
        """人员 found by name, the last four of a 身份证号 or a studio's code; a page of
        100 at a time in code order (never everyone at once)."""
        search = Search.of(request.query_params.get("q", ""))
        after = _after(request)
        found = read(request, lambda uow: lookups.find_people(uow, search, after))
        shown = [person_out(p) for p in found[: lookups.PAGE]]
        more = shown[-1].code if len(found) > lookups.PAGE else None
        return page(
            request,
            "people.html",
            "人员",
            people=shown,
            more=more,
            after=after,
            q=search.text,
            max_search=MAX_SEARCH,
        )

    @view("/people/{code:str}", "registry.read")
    def person(self, request: Request[User, Any, Any], code: FromPath[str]) -> Template:
        """One person: their studios, every batch line paying them, the months paid."""
        found = read(request, lambda uow: lookups.person_page(uow, code[:20]))
        return page(  # the person masked: the page never holds their whole numbers
            request,
            "person.html",
            f"人员 {found.person.name}",
            person=person_out(found.person),
            places=found.places,
            payouts=found.payouts,
            months=found.months,
            **LABELS,
        )

    @view("/studios/{code:str}", "registry.read")
    def studio(self, request: Request[User, Any, Any], code: FromPath[str]) -> Template:
        """One studio in a year (this year unless asked): its people, its fund by source
        and in total, the year's entries, its batch lines, grades and cycles."""
        asked = request.query_params.get("year", "")
        year = (
            int(asked)
            if digits(asked) and FIRST_YEAR <= int(asked) <= LAST_YEAR
            else program.today().year
        )

        def load(uow: UnitOfWork) -> dict[str, Any]:
            shown = lookups.studio_page(uow, code[:40], year)
            today = program.today()
            present = sum(1 for m, _ in shown.members if m.active_on(today))
            return {  # the people masked: the page never holds their whole numbers
                "shown": replace(shown, members=[]),
                "members": [(m, person_out(p)) for m, p in shown.members],
                "names": {p.code: p.name for _, p in shown.members},
                "studio": studio_out(shown.studio, present),
                "cycles": [
                    cycle_out(v)
                    for v in cycle_services.cycle_views(uow, today, [shown.studio.code])
                ],
            }

        loaded = read(request, load)
        return page(request, "studio.html", f"工作室 {loaded['studio'].name}", **loaded, **LABELS)
