"""Users over HTTP (admins): list, add, confirm, disable, and rotate an API token."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import JSONBody, PathParameter

from api.http.base import EmptyIn, IdempotencyKey, read, reads, write, writes
from api.shapes import TokenOut, UserOut, user_out
from ledger import users
from ledger.codes import UserRole
from ledger.users import User
from schema.db import UnitOfWork

UserName = Annotated[str, PathParameter(min_length=1, max_length=50)]


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    role: UserRole
    id_number: Annotated[str, msgspec.Meta(max_length=18)] | None = None
    """身份证号 of the person the user is: required of an approver, who may not approve a
    batch that pays them."""


class UserController(Controller):
    path = "/users"
    tags = ("users",)

    @reads("/", "user.read")
    def list_users(self, request: Request[User, Any, Any]) -> list[UserOut]:
        """Every user with their role, and whether they are disabled."""
        return [user_out(u) for u in read(request, lambda uow: users.users(uow, request.user.name))]

    @writes("/", "user.add", status=201)
    def add_user(
        self, request: Request[User, Any, Any], data: JSONBody[UserIn], key: IdempotencyKey = None
    ) -> Response[TokenOut]:
        """Add a user; the answer holds their API token, shown this once."""
        return write(
            request,
            action="user.add",
            data=data,
            key=key,
            status=201,
            run=lambda uow: users.add_user(
                uow, data.name, data.role.value, request.user.name, data.id_number
            ),
            answer=lambda _, token: TokenOut(name=data.name, role=data.role.value, token=token),
            target=lambda _: f"user:{data.name}",
        )

    @writes("/{name:str}/disable", "user.disable")
    def disable_user(
        self,
        request: Request[User, Any, Any],
        name: UserName,
        data: JSONBody[EmptyIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[UserOut]:
        """Disable a user at once: their token stops working."""
        return write(
            request,
            action="user.disable",
            data=data,
            key=key,
            run=lambda uow: users.disable_user(uow, name, request.user.name),
            answer=lambda _, u: user_out(u),
            target=lambda _: f"user:{name}",
        )

    @writes("/{name:str}/confirm", "user.confirm")
    def confirm_user(
        self,
        request: Request[User, Any, Any],
        name: UserName,
        data: JSONBody[EmptyIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[UserOut]:
        """A second admin confirms an approver or admin another admin added (separation
        of duties); until then they can do nothing. The admin who added them cannot."""
        return write(
            request,
            action="user.confirm",
            data=data,
            key=key,
            run=lambda uow: users.confirm_user(uow, name, request.user.name),
            answer=lambda _, u: user_out(u),
            target=lambda _: f"user:{name}",
        )

    @writes("/{name:str}/token", "user.token")
    def rotate_token(
        self,
        request: Request[User, Any, Any],
        name: UserName,
        data: JSONBody[EmptyIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[TokenOut]:
        """A new API token for the user, shown this once; the old one stops working."""
        return write(
            request,
            action="user.token",
            data=data,
            key=key,
            run=lambda uow: (users.rotate_token(uow, name, request.user.name), _role(uow, name)),
            answer=lambda _, r: TokenOut(name=name, role=r[1], token=r[0]),
            target=lambda _: f"user:{name}",
        )


def _role(uow: UnitOfWork, name: str) -> str:
    record = users.record(uow, name)
    return record.role if record else ""
