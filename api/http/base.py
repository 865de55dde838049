"""What every controller shares: declaring a handler, running a read or a write,
paging, downloads, and the parameter types.

A handler is declared with :func:`reads`, :func:`writes` or :func:`downloads`,
naming its action in :mod:`ledger.permissions`; the app's one guard checks the
action, the OpenAPI document shows who may call it and every problem it can
answer. Writes go through :func:`write`: one unit of work holds the change, its
audit entry and its stored answer for an ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Generic, TypeVar

import msgspec
from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, PathParameter, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import File
from sqlalchemy import Engine

from ledger import audit as audit_log
from ledger import errors
from ledger.audit import StoredAnswer
from ledger.books import attachments
from ledger.codes import UserRole
from ledger.permissions import roles_for
from ledger.registry import roster_services
from ledger.registry.roster import CODE_PATTERN, FIRST_YEAR, LAST_YEAR, MAX_UNIT
from ledger.users import User
from ledger.workbooks import imports
from schema.db import UnitOfWork

T = TypeVar("T")
S = TypeVar("S")

MAX_PAGE: Final = 500
MAX_KEY_LENGTH: Final = 200
MAX_ID: Final = 2**53
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROBLEM_JSON: Final = "application/problem+json"

Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
Year = Annotated[int, msgspec.Meta(ge=FIRST_YEAR, le=LAST_YEAR)]
QueryYear = Annotated[int, QueryParameter(ge=FIRST_YEAR, le=LAST_YEAR)]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="items per page")]
Cursor = Annotated[
    int | None, QueryParameter(ge=0, le=MAX_ID, description="next_cursor of the previous page")
]
CodeCursor = Annotated[
    str | None,
    QueryParameter(
        pattern=f"^{CODE_PATTERN.pattern}$", description="next_cursor of the previous page"
    ),
]
UnitCursor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=MAX_UNIT,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="next_cursor of the previous page (a unit's code, kept names included)",
    ),
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
"""A studio's code in a body (the registry checks its pattern and names the field)."""


class EmptyIn(msgspec.Struct, forbid_unknown_fields=True):
    """No fields: the body may be left out."""


IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Repeat a write safely: the same key with the same body returns the "
        "first answer (header Idempotent-Replayed: true) and writes nothing; the same key "
        "with another body is 409.",
    ),
]


# -- problems --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a kind of domain refusal is answered: its HTTP status, the API's problem
    title, and the heading the console shows above the service's words."""

    kind: type[Exception]
    status: int
    title: str
    heading: str


REFUSALS: Final[tuple[Refusal, ...]] = (
    Refusal(imports.ImportRefused, 422, "The file was refused", "文件未通过检查"),
    Refusal(roster_services.CompositionRefused, 422, "The roster was refused", "名册未通过检查"),
    Refusal(errors.ClosedPeriodError, 409, "Period closed", "该会计期间已结账"),
    Refusal(errors.OverdraftError, 422, "Insufficient balance", "余额不足"),
    Refusal(errors.InvalidInputError, 422, "The input was refused", "输入有误"),
    Refusal(errors.ValidationError, 422, "The input was refused", "输入有误"),
    Refusal(errors.NotFoundError, 404, "Not found", "未找到"),
    Refusal(errors.UnknownUserError, 403, "Unknown user", "用户不存在或已停用"),
    Refusal(errors.PermissionDeniedError, 403, "Not allowed for this role", "无权办理"),
    Refusal(
        errors.MakerCheckerError, 403, "Refused by maker-checker", "经办与审核须由不同的人办理"
    ),
    Refusal(errors.IdempotencyConflictError, 409, "Idempotency key reused", "重复提交"),
    Refusal(
        errors.InvalidTransitionError, 409, "Not allowed in this state", "当前状态不允许此操作"
    ),
    Refusal(errors.ReversalError, 409, "Reversal refused", "不能冲销"),
    Refusal(errors.ChainKeyError, 503, "The chain key cannot be used", "账链密钥不可用"),
    Refusal(errors.LedgerError, 400, "Refused", "未能办理"),
)
"""Most specific kind first: the first that matches answers."""


MAX_FILE_NAME: Final = 255


def upload_name(filename: str | None, field: str = "file") -> str:
    """An uploaded file's name as its sender gave it: refused, naming ``field``, when it
    hides characters (a right-to-left override makes ``结果\u202exslx.exe`` read as a
    workbook) or runs past 255 characters — it is kept in the audit log as their words."""
    name = filename or ""
    if refused := errors.text_errors(field, name, MAX_FILE_NAME):
        raise errors.InvalidInputError(refused)
    return name


def upload_bytes(upload: UploadFile, name: str) -> bytes:
    """An uploaded original's bytes, refused by its whole size before it is read when it
    is larger than an original may be (:func:`ledger.books.attachments.size_error`)."""
    upload.file.seek(0, os.SEEK_END)
    size = upload.file.tell()
    upload.file.seek(0)
    if refused := attachments.size_error(name, size):
        raise refused
    return upload.file.read()


def refusal_of(error: Exception) -> Refusal:
    return next(r for r in REFUSALS if isinstance(error, r.kind))


class FieldProblem(msgspec.Struct, omit_defaults=True):
    """One refused field (``field``), or one refused cell of a workbook (sheet, row, column)."""

    message: str
    field: str | None = None
    source: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details: ``type`` names the refusal, ``detail`` says what was wrong;
    ``errors`` lists every refused field when there were several."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


_MEANINGS: Final = {
    400: "The request is malformed (not JSON, a wrong type).",
    401: "No API token, or an unknown or disabled user's.",
    403: "The user's role may not do this, or maker-checker refused it.",
    404: "Not found.",
    409: "The state does not allow it: a closed period or batch state, a reused "
    "Idempotency-Key, or a concurrent write (retry).",
    413: "The file is larger than the service accepts.",
    422: "The input was refused; ``errors`` names each field (an insufficient balance "
    "names the date that would leave an account short).",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_MEANINGS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


def _who(action: str) -> str:
    allowed = [r for r in UserRole if r in roles_for(action)]
    return f"\n\n**Permission** `{action}`: " + ", ".join(f"{r.value} ({r.label})" for r in allowed)


def _declare(
    decorator: Any,
    path: str,
    action: str,
    statuses: tuple[int, ...],
    answers: dict[int, ResponseSpec] | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    def declare(fn: Callable[..., Any]) -> HTTPRouteHandler:
        description = (fn.__doc__ or "").strip() + _who(action)
        handler: HTTPRouteHandler = decorator(
            path,
            opt={"action": action},
            sync_to_thread=True,
            description=description,
            responses={**problems(*statuses), **(answers or {})},
            **options,
        )(fn)
        return handler

    return declare


def reads(
    path: str, action: str, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A GET handler allowed ``action``."""
    return _declare(get, path, action, (400, 401, 403, 404, 422), **options)


async def strict_body(request: Request[Any, Any, Any]) -> None:
    """Decode a JSON body strictly against the handler's ``data`` type before Litestar's
    own, lax conversion (which would take ``"100"``, ``1e3`` or ``1000.0`` for an int):
    an amount in fen is a JSON integer and nothing else (SPEC §7), each value has its
    declared type, and a body nested deeper than its type is refused at the first level
    that does not fit, never by a recursion error (a 5xx)."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    body = await request.body()
    if field is None or not body.strip():
        return
    try:
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as refused:
        raise ValidationException(
            detail=f"请求体不符合接口的格式：{request.method} {request.url.path}",
            extra=[{"key": "data", "source": "body", "message": str(refused)}],
        ) from refused
    except (msgspec.DecodeError, RecursionError):
        raise ClientException("请求体不是有效的 JSON，或嵌套过深") from None


def writes(
    path: str, action: str, *, status: int = 200, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A POST handler allowed ``action`` (its body optional where every field is), its
    JSON body decoded strictly first (:func:`strict_body`)."""
    return _declare(
        post,
        path,
        action,
        (400, 401, 403, 404, 409, 422),
        status_code=status,
        before_request=strict_body,
        **options,
    )


def uploads(
    path: str, action: str, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A POST handler allowed ``action`` taking a file (``multipart/form-data``)."""
    return _declare(post, path, action, (400, 401, 403, 404, 409, 413, 422), **options)


def downloads(
    path: str, action: str, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A GET handler sending an xlsx workbook."""
    # documented by hand: Litestar's own File documentation calls the RFC 2822
    # Last-Modified header a date-time, which a client validating it would refuse
    workbook = ResponseSpec(
        data_container=bytes,
        media_type=XLSX,
        description="The workbook (xlsx), sent as an attachment (Content-Disposition).",
        generate_examples=False,
    )
    return _declare(
        get, path, action, (400, 401, 403, 404, 422), {200: workbook}, media_type=XLSX, **options
    )


def sends_original(
    path: str, action: str, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A GET handler sending an original's bytes as they were attached, in their own media
    type (PDF, OFD, JPEG, PNG, xlsx or CSV)."""
    original = ResponseSpec(
        data_container=bytes,
        media_type="application/octet-stream",
        description="The original's bytes, as attached (Content-Type its own kind; "
        "Content-Disposition names the file).",
        generate_examples=False,
    )
    return _declare(get, path, action, (400, 401, 403, 404, 422), {200: original}, **options)


# -- reads and writes ------------------------------------------------------------------


def engine_of(request: Request[Any, Any, Any]) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def read(
    request: Request[Any, Any, Any], run: Callable[[UnitOfWork], T], *, snapshot: bool = True
) -> T:
    """Run a read in its own read-only unit of work; ``snapshot=False`` for one that need
    not see one moment (one figure and the names beside it: :func:`schema.db.unsnapshotted`)."""
    with UnitOfWork(engine_of(request), write=False, snapshot=snapshot) as uow:
        return run(uow)


_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id(request: Request[Any, Any, Any]) -> str:
    """The caller's ``X-Request-Id`` when it is a plain id (letters, digits, ``._:-``, at
    most 64), else one of our own: nothing else reaches the audit log as an id."""
    given = request.headers.get("X-Request-Id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


class KeyReused(Exception):  # noqa: N818 (a refusal)
    """An idempotency key (a header, or a console form's key) came back with another body."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used for a different request")


@dataclass(frozen=True, slots=True)
class Written:
    """What a write answered: its status and content, and whether it was a replay."""

    status: int
    content: Any
    replayed: bool


SECRET_FIELDS: Final = frozenset({"token"})
"""Fields of an answer shown once and never stored: a replay answers them empty."""


def _without_secrets(content: Any) -> Any:
    """The answer as an idempotency record keeps it: an API token is shown once, in the
    first answer, and the database keeps only its hash (a replay says it was issued)."""
    if isinstance(content, dict):
        return {k: "" if k in SECRET_FIELDS else v for k, v in content.items()}
    return content


def commit_write(
    engine: Engine,
    *,
    user: User,
    method: str,
    path: str,
    request_id: str,
    action: str,
    data: Any,
    key: str | None,
    run: Callable[[UnitOfWork], T],
    answer: Callable[[UnitOfWork, T], S],
    target: Callable[[T], str],
    status: int = 200,
) -> Written:
    """Run one write in one unit of work: the change, its audit entry and its stored
    answer (when a key is given) commit together. The same key with the same request
    returns the first answer and changes nothing; with another, :class:`KeyReused`.

    Both surfaces write through here: the API (``Idempotency-Key``) and the console
    (a key in every form, so a double click or a resubmitted form acts once)."""
    body_hash = hashlib.sha256(msgspec.json.encode(data)).hexdigest()
    with UnitOfWork(engine) as uow:
        if key:
            first = audit_log.replay(uow, key)
            if first is not None:
                if (first.actor, first.method, first.path, first.body_hash) != (
                    user.name,
                    method,
                    path,
                    body_hash,
                ):
                    raise KeyReused(key)
                return Written(first.status, first.response, replayed=True)
        result = run(uow)
        content = msgspec.to_builtins(answer(uow, result))
        audit_log.record(
            uow, user.name, action, target(result), request_id, {"method": method, "path": path}
        )
        if key:
            kept = _without_secrets(content)
            audit_log.keep_answer(
                uow, key, StoredAnswer(user.name, method, path, body_hash, status, kept)
            )
        uow.commit()
    return Written(status, content, replayed=False)


def write(
    request: Request[User, Any, Any],
    *,
    action: str,
    data: Any,
    key: str | None,
    run: Callable[[UnitOfWork], T],
    answer: Callable[[UnitOfWork, T], S],
    target: Callable[[T], str],
    status: int = 200,
) -> Response[S]:
    """:func:`commit_write` for an API request, with its ``Idempotency-Key``."""
    rid = request_id(request)
    try:
        written = commit_write(
            engine_of(request),
            user=request.user,
            method=request.method,
            path=request.url.path,
            request_id=rid,
            action=action,
            data=data,
            key=key,
            run=run,
            answer=answer,
            target=target,
            status=status,
        )
    except KeyReused as reused:
        raise ProblemDetailsException(
            status_code=409,
            title="Idempotency key reused",
            detail=str(reused),
            type_="urn:studio-ledger:problem:idempotency-key-reused",
        ) from None
    headers = {"X-Request-Id": rid}
    if written.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(written.content, status_code=written.status, headers=headers)


# -- pages ------------------------------------------------------------------------------


class Page(msgspec.Struct, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next (null: the last).

    A cursor is the key of the last item given (an id, or a code for studios and
    people): lists are in key order, so a page never repeats or skips an item that
    existed when the first page was read."""

    items: list[T]
    next_cursor: str | None


def page(items: list[T], limit: int, key: Callable[[T], str | int]) -> Page[T]:
    more = len(items) > limit
    items = items[:limit]
    return Page(items, str(key(items[-1])) if more and items else None)


# -- downloads ---------------------------------------------------------------------------


def download(prefix: str, produce: Callable[[Path], Path], media_type: str = XLSX) -> File:
    """Send the xlsx file ``produce`` writes into a fresh temporary folder.

    The folder is removed once the response is sent, or at once if producing
    the file fails, so downloads leave nothing behind on the server.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        path = produce(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return File(
        path=path,
        filename=path.name,
        media_type=media_type,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
