"""Money in and out of the studios' funds over HTTP: appropriations, matching receipts,
activity expenses, and the stipends owed (entitlements)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response
from litestar.params import JSONBody

from api.http.base import Code, IdempotencyKey, QueryYear, Year, read, reads, write, writes
from api.shapes import (
    AppropriationOut,
    EntitlementsOut,
    RecordedOut,
    appropriation_out,
    entitlements_out,
    recorded_out,
)
from ledger.batches import disbursement
from ledger.books import book
from ledger.books.postings import MAX_MEMO_LENGTH, Transaction
from ledger.codes import ExpenseCategory, FundingSource, ReceiptKind
from ledger.funds import fund_services
from ledger.funds.expenses import Expense, Receipt
from ledger.money import MAX_AMOUNT
from ledger.registry.roster import MAX_NAME, MAX_UNIT
from ledger.users import User
from schema.db import UnitOfWork

Fen = Annotated[int, msgspec.Meta(gt=0, le=MAX_AMOUNT, description="amount in fen (分)")]
Memo = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MEMO_LENGTH)]


class AppropriationIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Year
    on: date | None = None
    """The effective date; default 2 January of ``year``."""


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    """Money a unit gave the studio: its host unit's matching (单位配套, which alone counts
    toward the minimum) or a member's unit's support (成员单位支持, kept apart)."""

    on: date
    studio: Code
    amount_fen: Fen
    memo: Memo
    kind: ReceiptKind = ReceiptKind.MATCHING
    unit: Annotated[str, msgspec.Meta(max_length=MAX_UNIT)] = ""
    """The unit that paid: required for support; for matching, blank or the host unit."""


class ExpenseIn(msgspec.Struct, forbid_unknown_fields=True):
    """An activity expense paid from one of the studio's funds, within its plan. A travel
    expense (差旅费) names its claimant and their 身份证号; a paid member's is refused
    (their stipend includes their travel, 含差旅费)."""

    on: date
    studio: Code
    source: FundingSource
    category: ExpenseCategory
    amount_fen: Fen
    memo: Memo
    claimant: Annotated[str, msgspec.Meta(max_length=MAX_NAME)] = ""
    claimant_id_number: Annotated[str, msgspec.Meta(max_length=18)] = ""


def _record(
    request: Request[User, Any, Any],
    action: str,
    data: Any,
    key: str | None,
    post: Callable[[UnitOfWork], list[Transaction]],
) -> Response[RecordedOut]:
    """Post receipts or expenses; the answer counts the transactions new to the ledger."""
    return write(
        request,
        action=action,
        data=data,
        key=key,
        status=201,
        run=lambda uow: (book.chain_end(uow.ledger)[0], post(uow)),
        answer=lambda _, r: recorded_out(r[1], r[0]),
        target=lambda _: action.partition(".")[0] + "s",
    )


class AppropriationController(Controller):
    path = "/appropriations"
    tags = ("funds",)

    @writes("/", "appropriation.post")
    def appropriate(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[AppropriationIn],
        key: IdempotencyKey = None,
    ) -> Response[AppropriationOut]:
        """Post each studio's budget for the year by its grade of the year before (考核发放),
        once per studio-year; ``held`` lists every studio held back and why."""
        return write(
            request,
            action="appropriation.post",
            data=data,
            key=key,
            run=lambda uow: fund_services.appropriate(
                uow, data.year, data.on, by=request.user.name
            ),
            answer=lambda _, r: appropriation_out(r),
            target=lambda r: f"appropriation:{r.year}",
        )


class ReceiptController(Controller):
    path = "/receipts"
    tags = ("receipts",)

    @writes("/", "receipt.record", status=201)
    def record_receipts(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[list[ReceiptIn]],
        key: IdempotencyKey = None,
    ) -> Response[RecordedOut]:
        """Record matching receipts, all or none; the same receipt twice posts once."""
        receipts = [
            Receipt(r.on, r.studio, r.amount_fen, r.memo, r.kind.value, r.unit) for r in data
        ]
        return _record(
            request,
            "receipt.record",
            data,
            key,
            lambda uow: fund_services.receive_matching(uow, receipts, by=request.user.name),
        )


class ExpenseController(Controller):
    path = "/expenses"
    tags = ("expenses",)

    @writes("/", "expense.record", status=201)
    def record_expenses(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[list[ExpenseIn]],
        key: IdempotencyKey = None,
    ) -> Response[RecordedOut]:
        """Record activity expenses, all or none, within each category's plan and each
        fund's balance (专款专用); the same expense twice posts once."""
        expenses = [
            Expense(
                e.on,
                e.studio,
                e.source.value,
                e.category.value,
                e.amount_fen,
                e.memo,
                e.claimant,
                e.claimant_id_number,
            )
            for e in data
        ]
        return _record(
            request,
            "expense.record",
            data,
            key,
            lambda uow: fund_services.spend(uow, expenses, by=request.user.name),
        )


class EntitlementController(Controller):
    path = "/entitlements"
    tags = ("funds",)

    @reads("/", "registry.read")
    def list_entitlements(
        self, request: Request[User, Any, Any], year: QueryYear
    ) -> EntitlementsOut:
        """Every stipend owed for ``year``; held lines carry their reason."""
        return entitlements_out(
            read(request, lambda uow: disbursement.compute_entitlements(uow, year))
        )
