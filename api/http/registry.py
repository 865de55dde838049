"""The registry over HTTP: studios, people, the roster, grades and policies."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import FromPath, JSONBody

from api.http.base import (
    Code,
    CodeCursor,
    IdempotencyKey,
    Limit,
    Page,
    UnitCursor,
    Year,
    page,
    read,
    reads,
    write,
    writes,
)
from api.shapes import (
    PersonOut,
    PolicyDoc,
    SavedOut,
    StudioDetail,
    StudioOut,
    UnitOut,
    person_out,
    policy_out,
    saved_out,
    studio_detail,
    studio_out,
    unit_out,
)
from ledger import program
from ledger.batches import disbursement
from ledger.codes import CancellationCause, Grade, MemberRole, StudioKind
from ledger.registry import roster, roster_services
from ledger.registry.policy import Policy
from ledger.registry.roster import (
    MAX_BANK_ACCOUNT,
    MAX_BANK_NAME,
    MAX_NAME,
    MAX_PHONE,
    MAX_REASON,
    MAX_ROUND,
    MAX_UNIT,
    MembershipInput,
    PersonInput,
    Studio,
)
from ledger.users import User
from schema.db import UnitOfWork

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_UNIT)]
IdNumber = Annotated[str, msgspec.Meta(max_length=18, description="身份证号 (18 characters)")]


class StudioIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Unit
    kind: StudioKind
    host_unit: Unit
    cycle_start_year: Year
    cancelled_on: date | None = None
    cancellation_cause: CancellationCause | None = None
    """Required with ``cancelled_on``: one of the notice's causes."""
    cancellation_reason: Annotated[str, msgspec.Meta(max_length=MAX_REASON)] = ""
    """撤销说明: what the record says of the cancellation (optional)."""
    round: Annotated[int, msgspec.Meta(ge=1, le=MAX_ROUND)] = 1
    """轮次: the round the studio is named in (quotas count per round)."""


class PersonIn(msgspec.Struct, forbid_unknown_fields=True):
    id_number: IdNumber
    name: Name
    unit: Unit
    bank_name: Annotated[str, msgspec.Meta(max_length=MAX_BANK_NAME)] = ""
    bank_account: Annotated[str, msgspec.Meta(max_length=MAX_BANK_ACCOUNT)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=MAX_PHONE)] = ""


class MembershipIn(msgspec.Struct, forbid_unknown_fields=True):
    studio: Code
    id_number: IdNumber
    role: MemberRole
    joined_on: date
    left_on: date | None = None


class RosterIn(msgspec.Struct, forbid_unknown_fields=True):
    """Studios, people and memberships to add or update; the whole roster is then checked."""

    studios: list[StudioIn] = []
    people: list[PersonIn] = []
    memberships: list[MembershipIn] = []


class GradeIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year
    studio: Code
    grade: Grade
    id_number: Annotated[
        str, msgspec.Meta(max_length=18, description="blank: the studio's own grade")
    ] = ""


class StudioController(Controller):
    path = "/studios"
    tags = ("studios",)

    @reads("/", "registry.read")
    def list_studios(
        self, request: Request[User, Any, Any], cursor: CodeCursor = None, limit: Limit = 100
    ) -> Page[StudioOut]:
        """Studios in code order, with the number of people in each roster today."""
        start = cursor or ""

        def load(uow: UnitOfWork) -> list[StudioOut]:
            counts = roster_services.roster_counts(uow, program.today())
            return [
                studio_out(s, counts.get(s.code, 0))
                for s in roster_services.studios(uow)
                if s.code > start
            ]

        return page(read(request, load), limit, lambda s: s.code)

    @reads("/{code:str}", "registry.read")
    def get_studio(self, request: Request[User, Any, Any], code: FromPath[str]) -> StudioDetail:
        """One studio with its memberships (payee codes and names, never ID numbers)."""

        return read(
            request,
            lambda uow: studio_detail(
                roster_services.roster_of(uow, code),
                program.today(),
                disbursement.available_funds(uow, [code]),
            ),
        )


class PersonController(Controller):
    path = "/people"
    tags = ("people",)

    @reads("/", "registry.read")
    def list_people(
        self, request: Request[User, Any, Any], cursor: CodeCursor = None, limit: Limit = 100
    ) -> Page[PersonOut]:
        """People in code order, with masked ID numbers and bank accounts."""
        start = cursor or ""
        found = read(request, lambda uow: roster_services.people(uow, start))
        return page([person_out(p) for p in found], limit, lambda p: p.code)


class UnitController(Controller):
    path = "/units"
    tags = ("units",)

    @reads("/", "registry.read")
    def list_units(
        self, request: Request[User, Any, Any], cursor: UnitCursor = None, limit: Limit = 100
    ) -> Page[UnitOut]:
        """Units (单位) in code order: each code's name and the accounts it addresses."""
        start = cursor or ""
        found = read(request, lambda uow: roster_services.units(uow, start))
        return page([unit_out(u) for u in found], limit, lambda u: u.code)


class RosterController(Controller):
    path = "/roster"
    tags = ("studios",)

    @writes("/", "roster.save")
    def save_roster(
        self, request: Request[User, Any, Any], data: JSONBody[RosterIn], key: IdempotencyKey = None
    ) -> Response[SavedOut]:
        """Add or update studios, people and memberships; every record and the composition
        rules are checked first, and any refusal refuses the whole roster (422)."""
        studios = [
            Studio(
                s.code,
                s.name,
                s.kind.value,
                s.host_unit,
                s.cycle_start_year,
                s.cancelled_on,
                s.cancellation_reason,
                s.round,
                None if s.cancellation_cause is None else s.cancellation_cause.value,
            )
            for s in data.studios
        ]
        people = [
            PersonInput(p.id_number, p.name, p.unit, p.bank_name, p.bank_account, p.phone)
            for p in data.people
        ]
        members = [
            MembershipInput(m.studio, m.id_number, m.role.value, m.joined_on, m.left_on)
            for m in data.memberships
        ]
        return write(
            request,
            action="roster.save",
            data=data,
            key=key,
            run=lambda uow: roster_services.save_roster(
                uow, studios, people, members, by=request.user.name
            ),
            answer=lambda _, r: saved_out(r),
            target=lambda _: "roster",
        )


class GradeController(Controller):
    path = "/grades"
    tags = ("grades",)

    @writes("/", "grades.save")
    def save_grades(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[list[GradeIn]],
        key: IdempotencyKey = None,
    ) -> Response[SavedOut]:
        """Record assessment results (a blank id_number is the studio's own grade)."""
        grades = [roster.Grade(g.year, g.studio, g.id_number, g.grade.value) for g in data]
        return write(
            request,
            action="grades.save",
            data=data,
            key=key,
            run=lambda uow: roster_services.save_grades(uow, grades, by=request.user.name),
            answer=lambda _, r: saved_out(r),
            target=lambda _: "grades",
        )


class PolicyController(Controller):
    path = "/policies"
    tags = ("policies",)

    @reads("/", "registry.read")
    def list_policies(self, request: Request[User, Any, Any]) -> list[PolicyDoc]:
        """Every policy record, oldest year first (amounts in fen)."""
        return [policy_out(p) for p in read(request, roster_services.policies)]

    @writes("/", "policy.add", status=201)
    def add_policy(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[PolicyDoc],
        key: IdempotencyKey = None,
    ) -> Response[PolicyDoc]:
        """Add a new year's policy; stored policies are never changed."""
        policy = Policy.from_json(msgspec.to_builtins(data))
        return write(
            request,
            action="policy.add",
            data=data,
            key=key,
            status=201,
            run=lambda uow: roster_services.add_policy(uow, policy, request.user.name),
            answer=lambda _, __: policy_out(policy),
            target=lambda _: f"policy:{policy.version}",
        )
