"""The audit log over HTTP: every state change, filtered by who, what, object and date."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request
from litestar.params import QueryParameter

from api.http.base import Cursor, Limit, Page, page, read, reads
from api.shapes import AuditEntryOut, audit_entry_out
from ledger import audit as audit_log
from ledger.clock import recorded_between
from ledger.users import User

Filter = Annotated[str | None, QueryParameter(max_length=200)]


class AuditController(Controller):
    path = "/audit-log"
    tags = ("audit",)

    @reads("/", "audit.read")
    def audit_log(
        self,
        request: Request[User, Any, Any],
        actor: Filter = None,
        action: Filter = None,
        target: Annotated[
            str | None, QueryParameter(name="object", max_length=200, description="e.g. batch:7")
        ] = None,
        from_date: Annotated[date | None, QueryParameter(description="北京时间, inclusive")] = None,
        to_date: Annotated[date | None, QueryParameter(description="北京时间, inclusive")] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[AuditEntryOut]:
        """Every state change, oldest first: who, what, when, from which request; filtered by
        actor, action (``batch`` matches every ``batch.*``), object and Beijing date."""
        start = cursor or 0
        since, until = recorded_between(from_date, to_date)
        found = read(
            request,
            lambda uow: audit_log.entries(
                uow,
                start,
                limit + 1,
                actor=actor,
                action=action,
                target=target,
                start=since,
                end=until,
            ),
        )
        return page([audit_entry_out(e) for e in found], limit, lambda e: e.id)
