"""Disbursement batches over HTTP: prepare, approve, pay, and the files they print."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Request, Response
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, PathParameter, QueryParameter
from litestar.response import File

from api.http.base import (
    Cursor,
    Id,
    IdempotencyKey,
    Limit,
    Page,
    Year,
    download,
    downloads,
    engine_of,
    page,
    read,
    reads,
    request_id,
    upload_name,
    uploads,
    write,
    writes,
)
from api.shapes import (
    BatchHistory,
    BatchOut,
    BatchSummary,
    CreatedBatchOut,
    OutcomeOut,
    batch_history,
    batch_out,
    batch_summary,
    created_batch_out,
    outcome_out,
)
from ledger import audit as audit_log
from ledger import program
from ledger.batches import disbursement
from ledger.books import attachments
from ledger.errors import ValidationError
from ledger.registry.roster import FIRST_YEAR, LAST_YEAR, MAX_REASON
from ledger.users import User
from ledger.workbooks import bank_results, payout_files
from schema.db import UnitOfWork

LineNumber = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON)]


class CreateIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year
    on: date | None = None
    """The preparation date; its month is the pay month (default today)."""


class OnIn(msgspec.Struct, forbid_unknown_fields=True):
    """Optional: the effective date (default today). The body may be left out."""

    on: date | None = None


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class FailedLine(msgspec.Struct, forbid_unknown_fields=True):
    line: LineNumber
    reason: Reason


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True):
    """The bank's answer: every line paid except ``failed`` (the body may be left out)."""

    failed: list[FailedLine] = []
    on: date | None = None


@dataclass
class ResultsIn:
    """The bank's result file (xlsx, or CSV in the same columns), and the day the bank
    paid (``YYYY-MM-DD``, default today)."""

    file: UploadFile
    on: str | None = None


def _day(text: str | None) -> date | None:
    """A form's date field: ``YYYY-MM-DD`` or nothing."""
    if not text:
        return None
    if len(text) == 10 and text[4] == text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValidationError("on", f"不是日期，应写作 YYYY-MM-DD：{text[:20]!r}")


def _on(value: date | None) -> date:
    return value or program.today()


def _outcome_out(uow: UnitOfWork, outcome: disbursement.Outcome) -> OutcomeOut:
    """The outcome with its batch whole, every line: the API's answer to an action."""
    batch = disbursement.with_lines(uow, outcome.batch)
    return outcome_out(replace(outcome, batch=batch), disbursement.payee_names(uow, batch))


def _created_out(uow: UnitOfWork, created: disbursement.CreatedBatch) -> CreatedBatchOut:
    """The new draft with every line: the API's answer to creating it."""
    batch = disbursement.with_lines(uow, created.batch)
    return created_batch_out(replace(created, batch=batch), disbursement.payee_names(uow, batch))


def _act(
    request: Request[User, Any, Any],
    batch_id: int,
    verb: str,
    data: Any,
    key: str | None,
    run: Callable[[UnitOfWork], disbursement.Outcome],
) -> Response[OutcomeOut]:
    return write(
        request,
        action=f"batch.{verb}",
        data=data,
        key=key,
        run=run,
        answer=_outcome_out,
        target=lambda _: f"batch:{batch_id}",
    )


class BatchController(Controller):
    path = "/batches"
    tags = ("batches",)

    @reads("/", "batch.read")
    def list_batches(
        self,
        request: Request[User, Any, Any],
        year: Annotated[int | None, QueryParameter(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[BatchSummary]:
        """Batches oldest first, without their lines."""
        start = cursor or 0
        found = read(request, lambda uow: disbursement.batches(uow, year))
        return page([batch_summary(b) for b in found if b.id > start], limit, lambda b: b.id)

    @reads("/{batch_id:int}", "batch.read")
    def get_batch(self, request: Request[User, Any, Any], batch_id: Id) -> BatchHistory:
        """A batch with its lines (payees named) and its history."""

        def load(uow: UnitOfWork) -> BatchHistory:
            batch, events = disbursement.show(uow, batch_id)
            return batch_history(
                batch,
                events,
                disbursement.payee_names(uow, batch),
                disbursement.roster_changes(uow, batch),
            )

        return read(request, load)

    @writes("/", "batch.create", status=201)
    def create_batch(
        self, request: Request[User, Any, Any], data: JSONBody[CreateIn], key: IdempotencyKey = None
    ) -> Response[CreatedBatchOut]:
        """A draft batch of the year's unpaid entitlements; left-out lines with reasons."""
        return write(
            request,
            action="batch.create",
            data=data,
            key=key,
            status=201,
            run=lambda uow: disbursement.create(uow, data.year, request.user.name, _on(data.on)),
            answer=_created_out,
            target=lambda c: f"batch:{c.batch.id}",
        )

    @writes("/reissue", "batch.reissue", status=201)
    def reissue_batch(
        self, request: Request[User, Any, Any], data: JSONBody[CreateIn], key: IdempotencyKey = None
    ) -> Response[BatchOut]:
        """A draft batch paying again the year's failed lines (bank details read anew)."""
        return write(
            request,
            action="batch.reissue",
            data=data,
            key=key,
            status=201,
            run=lambda uow: disbursement.reissue(uow, data.year, request.user.name, _on(data.on)),
            answer=lambda uow, b: batch_out(b, disbursement.payee_names(uow, b)),
            target=lambda b: f"batch:{b.id}",
        )

    @writes("/{batch_id:int}/approve", "batch.approve")
    def approve_batch(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: JSONBody[OnIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Approve; the last approval needed moves every line to payable (dated ``on``)."""
        on = _on(data.on if data else None)
        return _act(
            request,
            batch_id,
            "approve",
            data,
            key,
            lambda uow: disbursement.approve(uow, batch_id, request.user.name, on),
        )

    @writes("/{batch_id:int}/reject", "batch.reject")
    def reject_batch(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: JSONBody[ReasonIn],
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Refuse a draft batch, with the reason; its lines can be paid in a new batch."""
        return _act(
            request,
            batch_id,
            "reject",
            data,
            key,
            lambda uow: disbursement.reject(uow, batch_id, request.user.name, data.reason),
        )

    @writes("/{batch_id:int}/cancel", "batch.cancel")
    def cancel_batch(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: JSONBody[ReasonIn],
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Withdraw a draft batch, with the reason."""
        return _act(
            request,
            batch_id,
            "cancel",
            data,
            key,
            lambda uow: disbursement.cancel(uow, batch_id, request.user.name, data.reason),
        )

    @writes("/{batch_id:int}/confirm", "batch.confirm")
    def confirm_batch(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: JSONBody[ConfirmIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Record the bank's answer: every line paid except the failed ones (dated ``on``)."""
        failed = {f.line: f.reason for f in data.failed} if data else {}
        on = _on(data.on if data else None)
        return _act(
            request,
            batch_id,
            "confirm",
            data,
            key,
            lambda uow: disbursement.confirm(uow, batch_id, request.user.name, on, failed),
        )

    @uploads("/{batch_id:int}/results", "batch.confirm")
    def read_results(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: Annotated[ResultsIn, Body(media_type=RequestEncodingType.MULTI_PART)],
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Read the bank's result file: every 成功 row confirms its line and every 失败 row
        records its line as returned by the bank, all of the file or none of it (each bad
        row and field named); the same file again changes nothing."""
        on = _on(_day(data.on))
        name = upload_name(data.file.filename)
        suffix = ".csv" if name.lower().endswith(".csv") else ".xlsx"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"results{suffix}"
            path.write_bytes(data.file.file.read())
            digest = bank_results.digest(path)
            return _act(
                request,
                batch_id,
                "results",
                {"file": name, "sha256": digest, "on": str(on)},
                key,
                lambda uow: bank_results.answer(
                    uow, batch_id, path, request.user.name, on, sha256=digest, name=name
                ),
            )

    @writes("/{batch_id:int}/lines/{line:int}/return", "batch.return")
    def return_line(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        line: Annotated[int, PathParameter(ge=1, le=1_000_000)],
        data: JSONBody[OnIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Send a failed line's money back to the studio's fund (a reversal dated ``on``)."""
        on = _on(data.on if data else None)
        return _act(
            request,
            batch_id,
            "return",
            data,
            key,
            lambda uow: disbursement.return_to_fund(uow, batch_id, line, request.user.name, on),
        )

    @writes("/{batch_id:int}/close", "batch.close")
    def close_batch(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: JSONBody[OnIn | None] = None,
        key: IdempotencyKey = None,
    ) -> Response[OutcomeOut]:
        """Close a paid batch (failed lines must be reissued or returned first)."""
        return _act(
            request,
            batch_id,
            "close",
            data,
            key,
            lambda uow: disbursement.close(uow, batch_id, request.user.name),
        )

    @downloads("/{batch_id:int}/roster.xlsx", "batch.roster")
    def batch_roster(self, request: Request[User, Any, Any], batch_id: Id) -> File:
        """The payout roster (劳务补贴发放表), the signing sheet: ID numbers and bank
        accounts masked for everyone (the bank file keeps them whole)."""
        return export_file(request, batch_id, 0, "此批次没有发放表")

    @downloads("/{batch_id:int}/bank.xlsx", "batch.bank_file")
    def batch_bank_file(self, request: Request[User, Any, Any], batch_id: Id) -> File:
        """The bank bulk-payment file (批量代发): approved, or a marked copy after payment."""
        return export_file(request, batch_id, 1, "此批次没有批量代发文件")


EXPORT_ACTIONS: Final = ("batch.roster", "batch.bank_file")


def export_file(request: Request[User, Any, Any], batch_id: int, which: int, missing: str) -> File:
    """The batch's 发放表 (``which`` 0) or 批量代发 (1) for the request's user, with its
    audit entry (who took which file, from which request); the API and the console send it."""

    def produce(folder: Path) -> Path:
        by = request.user.name
        with UnitOfWork(engine_of(request)) as uow:
            handed = (attachments.ROSTER, attachments.BANK_FILE)[which]
            exported = payout_files.export(uow, batch_id, by, folder, handed=(handed,))
            if len(exported.files) <= which:
                raise ValidationError("batch", exported.notes[0] if exported.notes else missing)
            audit_log.record(
                uow,
                by,
                EXPORT_ACTIONS[which],
                f"batch:{batch_id}",
                request_id(request),
                {"file": exported.files[which].name},
            )
            uow.commit()
        return exported.files[which]

    return download("studio-ledger-export-", produce)
