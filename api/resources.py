"""The HTTP resources under ``/api/v1``: each handler declares its roles, parses,
calls one service, and shapes the answer. Amounts are integer fen named ``*_fen``,
with a formatted ``*`` string beside them where a person reads them. ID numbers and
bank accounts are always masked here; only an approver's bank file has them whole.
"""

from __future__ import annotations

import base64
import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.response import File

from api.app import READERS, read, request_id, write
from api.shapes import (
    balance_json,
    batch_history_json,
    batch_json,
    closed_json,
    created_batch_json,
    entitlements_json,
    period_json,
    studio_json,
)
from jobs import runner
from jobs.schedule import DAILY_JOBS
from jobs.work import JOBS
from ledger import closing, disbursement, program, statements
from ledger.accounts import account_kind
from ledger.errors import ValidationError
from ledger.money import format_amount
from ledger.policy import Policy
from ledger.postings import Transaction
from ledger.registry import (
    MAX_BANK_ACCOUNT,
    MAX_BANK_NAME,
    MAX_NAME,
    MAX_PHONE,
    MAX_REASON,
    MAX_UNIT,
    MembershipInput,
    PersonInput,
    Studio,
    mask_account,
    mask_id_number,
)
from ledger.users import User
from schema.db import UnitOfWork

CLERKS: Final = ("clerk",)
APPROVERS: Final = ("approver",)
ADMINS: Final = ("admin",)
AUDIT: Final = ("auditor", "admin")
MAX_PAGE: Final = 500

MAX_ID: Final = 2**53
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
Year = Annotated[int, msgspec.Meta(ge=2000, le=2100)]
QueryYear = Annotated[int, QueryParameter(ge=2000, le=2100)]
LineNumber = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_UNIT)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_REASON)]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="items per page")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page")]


# -- shapes ----------------------------------------------------------------------


class Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


def _cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode()


def _after(cursor: str | None) -> str:
    if not cursor:
        return ""
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("cursor", "not a cursor this service gave out") from None


def _after_int(cursor: str | None) -> int:
    after = _after(cursor)
    if after and not after.isdigit():
        raise ValidationError("cursor", "not a cursor this service gave out")
    return int(after or 0)


def _page(items: list[Any], limit: int, key: Any) -> Page:
    more = len(items) > limit
    items = items[:limit]
    return Page(items, _cursor(key(items[-1])) if more and items else None)


def _transaction(t: Transaction) -> dict[str, Any]:
    return {
        "seq": t.seq,
        "voucher": str(t.voucher),
        "effective_date": t.effective_date,
        "recorded_at": t.recorded_at,
        "memo": t.memo,
        "reverses": t.request.reverses,
        "metadata": dict(t.request.metadata),
        "hash": t.hash,
        "postings": [
            {
                "source": p.source,
                "destination": p.destination,
                "amount_fen": p.amount,
                "amount": format_amount(p.amount),
                "memo": p.memo,
                "reverses_position": p.reverses,
            }
            for p in t.postings
        ],
    }


def _outcome(o: disbursement.Outcome) -> dict[str, Any]:
    return {"message": o.message, "changed": o.changed, "batch": batch_json(o.batch)}


# -- request bodies ------------------------------------------------------------------


class StudioIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    name: Unit
    kind: Code
    host_unit: Unit
    cycle_start_year: Year
    cancelled_on: date | None = None
    cancellation_reason: Text = ""


class PersonIn(msgspec.Struct, forbid_unknown_fields=True):
    id_number: Annotated[str, msgspec.Meta(max_length=18)]
    name: Name
    unit: Unit
    bank_name: Annotated[str, msgspec.Meta(max_length=MAX_BANK_NAME)] = ""
    bank_account: Annotated[str, msgspec.Meta(max_length=MAX_BANK_ACCOUNT)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=MAX_PHONE)] = ""


class MembershipIn(msgspec.Struct, forbid_unknown_fields=True):
    studio: Code
    id_number: Annotated[str, msgspec.Meta(max_length=18)]
    role: Code
    joined_on: date
    left_on: date | None = None


class RosterIn(msgspec.Struct, forbid_unknown_fields=True):
    studios: list[StudioIn] = []
    people: list[PersonIn] = []
    memberships: list[MembershipIn] = []


class GradeIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year
    studio: Code
    grade: Code
    id_number: Annotated[str, msgspec.Meta(max_length=18)] = ""


class YearIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year


class AppropriationIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year
    on: date | None = None


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class FailedLine(msgspec.Struct, forbid_unknown_fields=True):
    line: LineNumber
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    failed: list[FailedLine] = []
    on: date | None = None


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    role: Code


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    on: date | None = None


# -- registry and policy ------------------------------------------------------------------


@get("/studios", opt={"roles": READERS}, sync_to_thread=True)
def list_studios(
    request: Request[User, Any, Any], cursor: Cursor = None, limit: Limit = 100
) -> Page:
    """Studios in code order."""
    after = _after(cursor)
    found = read(request, lambda uow: uow.registry.studios())
    return _page([studio_json(s) for s in found if s.code > after], limit, lambda s: s["code"])


@get("/studios/{code:str}", opt={"roles": READERS}, sync_to_thread=True)
def get_studio(request: Request[User, Any, Any], code: FromPath[str]) -> dict[str, Any]:
    """One studio with its memberships (payee codes, never ID numbers)."""

    def load(uow: UnitOfWork) -> dict[str, Any]:
        studio = program.studio(uow, code)
        members = [m for m in uow.registry.memberships() if m.studio == code]
        return {
            **studio_json(studio),
            "memberships": [
                {"person": m.person, "role": m.role, "joined_on": m.joined_on, "left_on": m.left_on}
                for m in members
            ],
        }

    return read(request, load)


@get("/people", opt={"roles": READERS}, sync_to_thread=True)
def list_people(
    request: Request[User, Any, Any], cursor: Cursor = None, limit: Limit = 100
) -> Page:
    """People with masked ID numbers and bank accounts."""
    after = _after(cursor)
    found = read(request, lambda uow: uow.registry.people())
    return _page(
        [
            {
                "code": p.code,
                "name": p.name,
                "unit": p.unit,
                "id_number": mask_id_number(p.id_number),
                "bank_name": p.bank_name,
                "bank_account": mask_account(p.bank_account),
            }
            for p in found
            if p.code > after
        ],
        limit,
        lambda p: p["code"],
    )


@post("/roster", opt={"roles": CLERKS}, sync_to_thread=True, status_code=200)
def save_roster(request: Request[User, Any, Any], data: JSONBody[RosterIn]) -> Response[Any]:
    """Add or update studios, people and memberships (composition rules checked)."""
    studios = [
        Studio(
            s.code,
            s.name,
            s.kind,
            s.host_unit,
            s.cycle_start_year,
            s.cancelled_on,
            s.cancellation_reason,
        )
        for s in data.studios
    ]
    people = [
        PersonInput(p.id_number, p.name, p.unit, p.bank_name, p.bank_account, p.phone)
        for p in data.people
    ]
    members = [
        MembershipInput(m.studio, m.id_number, m.role, m.joined_on, m.left_on)
        for m in data.memberships
    ]
    return write(
        request,
        action="roster.save",
        data=data,
        run=lambda uow: program.save_roster(uow, studios, people, members),
        answer=lambda r: {
            "changed": r.changed,
            "warnings": [
                {"studio": w.studio, "rule": w.rule, "message": w.message} for w in r.warnings
            ],
        },
        target=lambda _: "roster",
    )


@post("/grades", opt={"roles": CLERKS}, sync_to_thread=True, status_code=200)
def save_grades(request: Request[User, Any, Any], data: JSONBody[list[GradeIn]]) -> Response[Any]:
    """Record assessment results (a blank id_number is the studio's own grade)."""
    grades = [program.Grade(g.year, g.studio, g.id_number, g.grade) for g in data]
    return write(
        request,
        action="grades.save",
        data=data,
        run=lambda uow: program.save_grades(uow, grades),
        answer=lambda r: {"changed": r.changed},
        target=lambda _: "grades",
    )


@get("/policies", opt={"roles": READERS}, sync_to_thread=True)
def list_policies(request: Request[User, Any, Any]) -> list[dict[str, Any]]:
    """Every policy record (amounts in fen)."""
    return [p.to_json() for p in read(request, lambda uow: uow.registry.policies())]


@post("/policies", opt={"roles": ADMINS}, sync_to_thread=True, status_code=201)
def add_policy(request: Request[User, Any, Any], data: JSONBody[dict[str, Any]]) -> Response[Any]:
    """Add a new year's policy; stored policies are never changed."""
    policy = Policy.from_json(data)
    return write(
        request,
        action="policy.add",
        data=data,
        status=201,
        run=lambda uow: program.add_policy(uow, policy, request.user.name),
        answer=lambda _: policy.to_json(),
        target=lambda _: f"policy:{policy.version}",
    )


@post("/users", opt={"roles": ADMINS}, sync_to_thread=True, status_code=201)
def add_user(request: Request[User, Any, Any], data: JSONBody[UserIn]) -> Response[Any]:
    """Add a user; the answer holds their API token, shown this once."""
    return write(
        request,
        action="user.add",
        data=data,
        status=201,
        run=lambda uow: disbursement.add_user(uow, data.name, data.role),
        answer=lambda token: {"name": data.name, "role": data.role, "token": token},
        target=lambda _: f"user:{data.name}",
    )


# -- ledger ----------------------------------------------------------------------------


@get("/accounts/{address:str}/balance", opt={"roles": READERS}, sync_to_thread=True)
def account_balance(
    request: Request[User, Any, Any], address: FromPath[str], as_of: FromQuery[date | None] = None
) -> dict[str, Any]:
    """An account's balance now, or at the end of ``as_of``."""
    account_kind(address)
    found = read(request, lambda uow: statements.account_balance(uow, address, as_of))
    return balance_json(found, as_of)


@get("/transactions", opt={"roles": READERS}, sync_to_thread=True)
def list_transactions(
    request: Request[User, Any, Any],
    account: FromQuery[str | None] = None,
    studio: FromQuery[str | None] = None,
    from_date: FromQuery[date | None] = None,
    to_date: FromQuery[date | None] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page:
    """Transactions oldest first, by account, studio or effective date."""
    if account is not None:
        account_kind(account)
    after = _after_int(cursor)
    found = read(
        request,
        lambda uow: uow.ledger.transactions_page(
            after=after,
            limit=limit + 1,
            account=account,
            studio=studio,
            from_date=from_date,
            to_date=to_date,
        ),
    )
    return _page([_transaction(t) for t in found], limit, lambda t: t["seq"])


@get("/entitlements", opt={"roles": READERS}, sync_to_thread=True)
def list_entitlements(request: Request[User, Any, Any], year: QueryYear) -> dict[str, Any]:
    """Every stipend owed for ``year``; held lines carry their reason."""
    report = read(request, lambda uow: program.compute_entitlements(uow, year))
    return entitlements_json(year, report)


@post("/appropriations", opt={"roles": ("clerk", "admin")}, sync_to_thread=True, status_code=200)
def appropriate(request: Request[User, Any, Any], data: JSONBody[AppropriationIn]) -> Response[Any]:
    """Post each studio's budget for the year, once per studio-year (dated ``on``,
    default 2 January)."""
    return write(
        request,
        action="appropriation.post",
        data=data,
        run=lambda uow: program.appropriate(uow, data.year, data.on),
        answer=lambda r: {
            "year": r.year,
            "policy_version": r.policy_version,
            "funded": [t.request.metadata["studio"] for t in r.posted],
            "already": r.already,
            "total_fen": r.total,
        },
        target=lambda r: f"appropriation:{r.year}",
    )


# -- periods ---------------------------------------------------------------------------


@get("/periods", opt={"roles": READERS}, sync_to_thread=True)
def list_periods(request: Request[User, Any, Any]) -> list[dict[str, Any]]:
    """Each month of the books: open or closed (结账), by whom and when."""
    return [period_json(x) for x in read(request, lambda uow: closing.states(uow, program.today()))]


@post(
    "/periods/{period:str}/close",
    opt={"roles": closing.CLOSERS},
    sync_to_thread=True,
    status_code=200,
)
def close_period(
    request: Request[User, Any, Any],
    period: Annotated[str, PathParameter(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
    data: JSONBody[Empty],
) -> Response[Any]:
    """Close the month and every month before it; December is the year-end close."""
    return write(
        request,
        action="period.close",
        data=data,
        run=lambda uow: closing.close(uow, period, request.user.name, program.today()),
        answer=closed_json,
        target=lambda c: f"period:{c.through}",
    )


# -- batches ---------------------------------------------------------------------------


@get("/batches", opt={"roles": READERS}, sync_to_thread=True)
def list_batches(
    request: Request[User, Any, Any],
    year: Annotated[int | None, QueryParameter(ge=2000, le=2100)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page:
    """Batches oldest first (without their lines)."""
    after = _after_int(cursor)
    found = read(request, lambda uow: uow.batches.batches(year))
    return _page(
        [batch_json(b, lines=False) for b in found if b.id > after], limit, lambda b: b["id"]
    )


@get("/batches/{batch_id:int}", opt={"roles": READERS}, sync_to_thread=True)
def get_batch(request: Request[User, Any, Any], batch_id: Id) -> dict[str, Any]:
    """A batch with its lines and its history."""
    batch, events = read(request, lambda uow: disbursement.show(uow, batch_id))
    return batch_history_json(batch, events)


def _on(value: date | None) -> date:
    return value or program.today()


@post("/batches", opt={"roles": CLERKS}, sync_to_thread=True, status_code=201)
def create_batch(request: Request[User, Any, Any], data: JSONBody[YearIn]) -> Response[Any]:
    """A draft batch of the year's unpaid entitlements; left-out lines with reasons."""
    return write(
        request,
        action="batch.create",
        data=data,
        status=201,
        run=lambda uow: disbursement.create(uow, data.year, request.user.name, program.today()),
        answer=created_batch_json,
        target=lambda c: f"batch:{c.batch.id}",
    )


@post("/batches/reissue", opt={"roles": CLERKS}, sync_to_thread=True, status_code=201)
def reissue_batch(request: Request[User, Any, Any], data: JSONBody[YearIn]) -> Response[Any]:
    """A draft batch paying again the year's failed lines."""
    return write(
        request,
        action="batch.reissue",
        data=data,
        status=201,
        run=lambda uow: disbursement.reissue(uow, data.year, request.user.name, program.today()),
        answer=batch_json,
        target=lambda b: f"batch:{b.id}",
    )


def _batch_write(
    request: Request[User, Any, Any], batch_id: int, action: str, data: Any, run: Any
) -> Response[Any]:
    return write(
        request,
        action=f"batch.{action}",
        data=data,
        run=run,
        answer=_outcome,
        target=lambda _: f"batch:{batch_id}",
    )


@post(
    "/batches/{batch_id:int}/approve",
    opt={"roles": APPROVERS},
    sync_to_thread=True,
    status_code=200,
)
def approve_batch(
    request: Request[User, Any, Any], batch_id: Id, data: JSONBody[Empty]
) -> Response[Any]:
    """Approve; the last approval needed moves every line to payable."""
    return _batch_write(
        request,
        batch_id,
        "approve",
        data,
        lambda uow: disbursement.approve(uow, batch_id, request.user.name, _on(data.on)),
    )


@post(
    "/batches/{batch_id:int}/reject", opt={"roles": APPROVERS}, sync_to_thread=True, status_code=200
)
def reject_batch(
    request: Request[User, Any, Any], batch_id: Id, data: JSONBody[ReasonIn]
) -> Response[Any]:
    """Refuse a draft batch, with the reason."""
    return _batch_write(
        request,
        batch_id,
        "reject",
        data,
        lambda uow: disbursement.reject(uow, batch_id, request.user.name, data.reason),
    )


@post(
    "/batches/{batch_id:int}/cancel",
    opt={"roles": ("clerk", "admin")},
    sync_to_thread=True,
    status_code=200,
)
def cancel_batch(
    request: Request[User, Any, Any], batch_id: Id, data: JSONBody[ReasonIn]
) -> Response[Any]:
    """Withdraw a draft batch, with the reason."""
    return _batch_write(
        request,
        batch_id,
        "cancel",
        data,
        lambda uow: disbursement.cancel(uow, batch_id, request.user.name, data.reason),
    )


@post(
    "/batches/{batch_id:int}/confirm",
    opt={"roles": APPROVERS},
    sync_to_thread=True,
    status_code=200,
)
def confirm_batch(
    request: Request[User, Any, Any], batch_id: Id, data: JSONBody[ConfirmIn]
) -> Response[Any]:
    """Record the bank's answer: every line paid except the failed ones."""
    failed = {f.line: f.reason for f in data.failed}
    return _batch_write(
        request,
        batch_id,
        "confirm",
        data,
        lambda uow: disbursement.confirm(uow, batch_id, request.user.name, _on(data.on), failed),
    )


@post(
    "/batches/{batch_id:int}/lines/{line:int}/return",
    opt={"roles": APPROVERS},
    sync_to_thread=True,
    status_code=200,
)
def return_line(
    request: Request[User, Any, Any],
    batch_id: Id,
    line: Annotated[int, PathParameter(ge=1, le=1_000_000)],
    data: JSONBody[Empty],
) -> Response[Any]:
    """Send a failed line's money back to the studio's fund."""
    return _batch_write(
        request,
        batch_id,
        "return",
        data,
        lambda uow: disbursement.return_to_fund(
            uow, batch_id, line, request.user.name, _on(data.on)
        ),
    )


@post(
    "/batches/{batch_id:int}/close", opt={"roles": APPROVERS}, sync_to_thread=True, status_code=200
)
def close_batch(
    request: Request[User, Any, Any], batch_id: Id, data: JSONBody[Empty]
) -> Response[Any]:
    """Close a paid batch."""
    return _batch_write(
        request,
        batch_id,
        "close",
        data,
        lambda uow: disbursement.close(uow, batch_id, request.user.name),
    )


XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(prefix: str, produce: Callable[[Path], Path]) -> File:
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
        media_type=XLSX,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def _export_file(request: Request[User, Any, Any], batch_id: int, which: int, missing: str) -> File:
    def produce(folder: Path) -> Path:
        exported = read(
            request, lambda uow: disbursement.export(uow, batch_id, request.user.name, folder)
        )
        if len(exported.files) <= which:
            raise ValidationError("batch", exported.notes[0] if exported.notes else missing)
        return exported.files[which]

    return _download("studio-ledger-export-", produce)


@get("/batches/{batch_id:int}/roster.xlsx", opt={"roles": READERS}, sync_to_thread=True)
def batch_roster(request: Request[User, Any, Any], batch_id: Id) -> File:
    """The payout roster (劳务补贴发放表); ID numbers masked except for approvers."""
    return _export_file(request, batch_id, 0, "no roster")


@get("/batches/{batch_id:int}/bank.xlsx", opt={"roles": APPROVERS}, sync_to_thread=True)
def batch_bank_file(request: Request[User, Any, Any], batch_id: Id) -> File:
    """The bank bulk-payment file (批量代发) of an approved batch."""
    return _export_file(request, batch_id, 1, "no bank file")


# -- statements -----------------------------------------------------------------------------


def _statement(request: Request[User, Any, Any], name: str, write: Any) -> File:
    def produce(folder: Path) -> Path:
        path = folder / name
        read(request, lambda uow: write(uow, path))
        return path

    return _download("studio-ledger-statement-", produce)


@get("/statements/ledger.xlsx", opt={"roles": AUDIT}, sync_to_thread=True)
def statement_ledger(
    request: Request[User, Any, Any],
    year: QueryYear,
    studio: FromQuery[str | None] = None,
    *,
    cycle: FromQuery[bool] = False,
) -> File:
    """专项资金明细账 for a year (or the 3-year cycle starting then), every studio or one."""

    def write_ledger(uow: UnitOfWork, path: Path) -> int:
        last = year + program.policy(uow, year).cycle_years - 1 if cycle else year
        return statements.export_ledger(uow, year, last, path, request.user.name, studio)

    return _statement(request, f"{year}-专项资金明细账.xlsx", write_ledger)


@get("/statements/summary.xlsx", opt={"roles": AUDIT}, sync_to_thread=True)
def statement_summary(request: Request[User, Any, Any], year: QueryYear) -> File:
    """专项资金收支汇总表 for a year, tied to the ledger."""
    return _statement(
        request,
        f"{year}-专项资金收支汇总表.xlsx",
        lambda uow, path: statements.export_summary(uow, year, path, request.user.name),
    )


@get("/statements/trial-balance.xlsx", opt={"roles": AUDIT}, sync_to_thread=True)
def statement_trial_balance(
    request: Request[User, Any, Any], on: Annotated[date, QueryParameter(name="date")]
) -> File:
    """科目余额表 as of a date."""
    return _statement(
        request,
        f"{on.isoformat()}-科目余额表.xlsx",
        lambda uow, path: statements.export_trial_balance(uow, on, path, request.user.name),
    )


# -- jobs --------------------------------------------------------------------------------


class JobRunIn(msgspec.Struct, forbid_unknown_fields=True):
    period: Annotated[str, msgspec.Meta(pattern=r"^\d{4}(-\d{2}-\d{2})?$")]


@get("/jobs/runs", opt={"roles": AUDIT}, sync_to_thread=True)
def job_runs(
    request: Request[User, Any, Any],
    job: FromQuery[str | None] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page:
    """Every job run: job, period, trigger, start, end, status, counts, error."""
    after = _after_int(cursor)
    found = read(request, lambda uow: uow.jobs.runs(job, limit + 1, after))
    return _page([dataclasses.asdict(r) for r in found], limit, lambda r: r["id"])


@post("/jobs/{job:str}/run", opt={"roles": ADMINS}, sync_to_thread=True, status_code=200)
def run_job(
    request: Request[User, Any, Any], job: FromPath[str], data: JSONBody[JobRunIn]
) -> dict[str, Any]:
    """Run a job now for a period (a year, or a date for daily jobs), exactly once."""
    if job not in JOBS:
        raise ValidationError("job", f"unknown job {job!r}; jobs: {', '.join(JOBS)}")
    daily = job in DAILY_JOBS
    if daily != ("-" in data.period):
        raise ValidationError("period", "a date for daily jobs, a year for the others")
    if daily:
        try:
            date.fromisoformat(data.period)
        except ValueError:
            raise ValidationError("period", f"not a date: {data.period}") from None
    outcome = runner.run(request.app.state.engine, job, data.period)
    with UnitOfWork(request.app.state.engine) as uow:
        uow.audit.record(
            request.user.name,
            "job.run",
            f"job:{job}:{data.period}",
            request_id(request),
            {"status": outcome.status, "run": outcome.run_id},
        )
        uow.commit()
    return {
        "job": job,
        "period": data.period,
        "status": outcome.status,
        "run": outcome.run_id,
        "counts": outcome.counts,
        "message": outcome.message,
    }


# -- audit ------------------------------------------------------------------------------


@get("/audit-log", opt={"roles": AUDIT}, sync_to_thread=True)
def audit_log(request: Request[User, Any, Any], cursor: Cursor = None, limit: Limit = 100) -> Page:
    """Every state change, oldest first: who, what, when, from which request."""
    after = _after_int(cursor)
    found = read(request, lambda uow: uow.audit.entries(after, limit + 1))
    return _page([dataclasses.asdict(e) for e in found], limit, lambda e: e["id"])


ROUTERS: Final = [
    Router(
        path="/api/v1",
        route_handlers=[
            list_studios,
            get_studio,
            list_people,
            save_roster,
            save_grades,
            list_policies,
            add_policy,
            add_user,
            account_balance,
            list_transactions,
            list_entitlements,
            appropriate,
            list_periods,
            close_period,
            list_batches,
            get_batch,
            create_batch,
            reissue_batch,
            approve_batch,
            reject_batch,
            cancel_batch,
            confirm_batch,
            return_line,
            close_batch,
            batch_roster,
            batch_bank_file,
            audit_log,
            job_runs,
            run_job,
            statement_ledger,
            statement_summary,
            statement_trial_balance,
        ],
    )
]
