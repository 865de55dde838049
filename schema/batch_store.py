"""Batches and users on SQLAlchemy: implements :class:`ledger.disbursement.BatchStore`.

A batch line's ``paid_key`` (unique) is what makes a stipend payable once:
it is set when the line is created and cleared only when its batch is
rejected or cancelled, so the database itself refuses a second payment.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from ledger.batches.batch import (
    LINE_STEP_FIELDS,
    Batch,
    BatchEvent,
    BatchLine,
    BatchState,
    LineStatus,
    LineTally,
    Payee,
    PlannedLine,
    paid_key,
)
from ledger.books.periods import Period
from ledger.money import Fen
from schema.bulk import insert_rows, update_rows
from schema.ledger_store import chunks
from schema.tables import (
    Base,
    BatchApprovalRow,
    BatchEventRow,
    BatchLineRow,
    BatchRow,
    TransactionRow,
)

_LINES: Final = Base.metadata.tables[BatchLineRow.__tablename__]
"""Lines are written with Core statements on the table: one executemany, no ORM objects."""


def _months(months: tuple[int, ...]) -> str:
    return ",".join(map(str, months))


_LINE_COLUMNS: Final = select(
    _LINES.c.id,
    _LINES.c.number,
    _LINES.c.year,
    _LINES.c.studio_code,
    _LINES.c.person_code,
    _LINES.c.role,
    _LINES.c.months,
    _LINES.c.grade,
    _LINES.c.ratio,
    _LINES.c.gross,
    _LINES.c.split,
    _LINES.c.tax,
    _LINES.c.net,
    _LINES.c.explanation,
    _LINES.c.status,
    _LINES.c.failure_reason,
    _LINES.c.reissue_of,
    _LINES.c.approval_seq,
    _LINES.c.payment_seq,
    _LINES.c.return_seq,
    _LINES.c.approval_positions,
    _LINES.c.final_tax,
    _LINES.c.final_net,
    _LINES.c.batch_id,
    _LINES.c.payee_name,
    _LINES.c.payee_id_number,
    _LINES.c.payee_bank_name,
    _LINES.c.payee_bank_account,
    _LINES.c.refund,
    _LINES.c.refund_month,
)
"""A batch line's columns, read as a plain row (no ORM object): a national batch has
900,000 lines."""


def _line(row: Any) -> BatchLine:
    (id_, number, year, studio, person, role, months, grade, ratio, gross, split) = row[:11]
    return BatchLine(
        id_,
        number,
        year,
        studio,
        person,
        role,
        tuple(int(m) for m in months.split(",") if m),
        grade,
        ratio,
        gross,
        dict(split),
        row.tax,
        row.net,
        row.explanation,
        LineStatus(row.status),
        row.failure_reason,
        row.reissue_of,
        row.approval_seq,
        row.payment_seq,
        row.return_seq,
        tuple(row.approval_positions or ()),
        row.final_tax,
        row.final_net,
        None
        if row.payee_name is None
        else Payee(
            row.payee_name, row.payee_id_number, row.payee_bank_name, row.payee_bank_account
        ),
        row.refund,
        row.refund_month,
    )


_STEP_COLUMNS: Final = (
    *(f for f in LINE_STEP_FIELDS if f != "payee"),
    "payee_name",
    "payee_id_number",
    "payee_bank_name",
    "payee_bank_account",
)


def _payee(row: Any) -> Payee | None:
    if row.payee_name is None:
        return None
    return Payee(row.payee_name, row.payee_id_number, row.payee_bank_name, row.payee_bank_account)


def _payee_columns(payee: Payee | None) -> dict[str, str | None]:
    return {
        "payee_name": None if payee is None else payee.name,
        "payee_id_number": None if payee is None else payee.id_number,
        "payee_bank_name": None if payee is None else payee.bank_name,
        "payee_bank_account": None if payee is None else payee.bank_account,
    }


def _step_row(x: BatchLine) -> dict[str, Any]:
    """A line's id and what a step may have changed on it, by column: exactly
    :data:`_STEP_COLUMNS` (one missing here is a KeyError, never a column left as it
    was)."""
    changed = {
        **_payee_columns(x.payee),
        "status": x.status.value,
        "failure_reason": x.failure_reason,
        "approval_seq": x.approval_seq,
        "approval_positions": list(x.approval_positions),
        "payment_seq": x.payment_seq,
        "return_seq": x.return_seq,
        "final_tax": x.final_tax,
        "final_net": x.final_net,
        "refund": x.refund,
        "refund_month": x.refund_month,
    }
    return {"id": x.id, **{c: changed[c] for c in _STEP_COLUMNS}}


def _reissue_explanation(failed: BatchLine) -> str:
    text = f"重新发放（原行退回：{failed.failure_reason}）：{failed.explanation}"
    return text[:300]


class SqlBatchStore:
    """Batch storage in the unit of work's session (which it never commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- planning inputs --------------------------------------------------------

    def paid_keys(self, year: int, studios: Collection[str] | None = None) -> dict[str, int]:
        query = select(BatchLineRow.paid_key, BatchLineRow.batch_id).where(
            BatchLineRow.year == year, BatchLineRow.paid_key.is_not(None)
        )
        found: dict[str, int] = {}
        for chunk in [None] if studios is None else chunks(sorted(set(studios))):
            rows = self.session.execute(
                query if chunk is None else query.where(BatchLineRow.studio_code.in_(chunk))
            )
            found.update((key, batch) for key, batch in rows if key is not None)
        return found

    def paid_keys_of(self, studio: str) -> set[str]:
        """The stipends of ``studio`` already in a batch that pays them (any year)."""
        rows = self.session.execute(
            select(BatchLineRow.paid_key).where(
                BatchLineRow.studio_code == studio, BatchLineRow.paid_key.is_not(None)
            )
        )
        return {key for (key,) in rows if key is not None}

    def state_counts(self) -> dict[str, int]:
        rows = self.session.execute(select(BatchRow.state, func.count()).group_by(BatchRow.state))
        return {state: int(count) for state, count in rows}

    def draft_commitments(
        self, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], Fen]:
        query = (
            select(BatchLineRow.studio_code, BatchLineRow.split)
            .join(BatchRow, BatchRow.id == BatchLineRow.batch_id)
            .where(
                BatchRow.state.in_([s.value for s in BatchState if s.commits_funds]),
                BatchLineRow.reissue_of.is_(None),
            )
        )
        committed: dict[tuple[str, str], Fen] = {}
        for chunk in [None] if studios is None else chunks(sorted(set(studios))):
            rows = self.session.execute(
                query if chunk is None else query.where(BatchLineRow.studio_code.in_(chunk))
            )
            for studio, split in rows:
                for source, amount in split.items():
                    committed[(studio, source)] = committed.get((studio, source), 0) + amount
        return committed

    def paid_lines(
        self, people: Sequence[str] | None, month: Period
    ) -> list[tuple[date, BatchLine]]:
        """The lines of ``people`` (everyone's when ``None``) a payment voucher dated in
        ``month`` paid, with that date (what counts as the month's income is the domain's
        to say)."""
        found: list[tuple[date, BatchLine]] = []
        query = (
            _LINE_COLUMNS.add_columns(TransactionRow.effective_date.label("paid_on"))
            .join(TransactionRow, TransactionRow.seq == _LINES.c.payment_seq)
            .where(
                TransactionRow.effective_date >= month.first_day,
                TransactionRow.effective_date <= month.last_day,
            )
        )
        for chunk in [None] if people is None else chunks(list(people)):
            rows = self.session.execute(
                query if chunk is None else query.where(_LINES.c.person_code.in_(chunk))
            )
            found.extend((row.paid_on, _line(row)) for row in rows)
        return found

    def lines_of(
        self, *, studio: str | None = None, person: str | None = None, limit: int
    ) -> list[tuple[int, date | None, BatchLine]]:
        query = _LINE_COLUMNS.add_columns(TransactionRow.effective_date.label("paid_on")).join(
            TransactionRow, TransactionRow.seq == _LINES.c.payment_seq, isouter=True
        )
        if studio is not None:
            query = query.where(_LINES.c.studio_code == studio)
        if person is not None:
            query = query.where(_LINES.c.person_code == person)
        rows = self.session.execute(
            query.order_by(_LINES.c.batch_id.desc(), _LINES.c.number).limit(limit)
        )
        return [(row.batch_id, row.paid_on, _line(row)) for row in rows]

    def unanswered(
        self, people: Sequence[str], *, excluding: int | None = None
    ) -> list[tuple[BatchState, BatchLine]]:
        waiting = [s.value for s in BatchState if s in (BatchState.DRAFT, BatchState.APPROVED)]
        found: list[tuple[BatchState, BatchLine]] = []
        for chunk in chunks(list(people)):
            rows = self.session.execute(
                _LINE_COLUMNS.add_columns(BatchRow.state.label("batch_state"))
                .join(BatchRow, BatchRow.id == _LINES.c.batch_id)
                .where(
                    _LINES.c.person_code.in_(chunk),
                    _LINES.c.status == LineStatus.PENDING.value,
                    BatchRow.state.in_(waiting),
                    BatchRow.id != (excluding or 0),
                )
            )
            found.extend((BatchState(row.batch_state), _line(row)) for row in rows)
        return found

    def waiting_batches(self) -> list[tuple[int, str]]:
        rows = self.session.execute(
            select(BatchRow.id, BatchRow.pay_month)
            .where(
                BatchRow.state == BatchState.APPROVED.value,
                select(_LINES.c.id)
                .where(
                    _LINES.c.batch_id == BatchRow.id,
                    _LINES.c.status == LineStatus.PENDING.value,
                )
                .exists(),
            )
            .order_by(BatchRow.id)
        )
        return [(batch_id, pay_month) for batch_id, pay_month in rows]

    def refunds(self, people: Sequence[str] | None, month: Period) -> dict[str, Fen]:
        given: dict[str, Fen] = {}
        query = (
            select(_LINES.c.person_code, func.sum(_LINES.c.refund))
            .where(_LINES.c.refund_month == str(month))
            .group_by(_LINES.c.person_code)
        )
        for chunk in [None] if people is None else chunks(list(people)):
            rows = self.session.execute(
                query if chunk is None else query.where(_LINES.c.person_code.in_(chunk))
            )
            given.update({person: int(total) for person, total in rows})
        return given

    # -- writing ----------------------------------------------------------------

    def insert_batch(
        self, batch: Batch, lines: Sequence[PlannedLine], reissues: Sequence[BatchLine]
    ) -> int:
        row = BatchRow(
            year=batch.year,
            state=batch.state,
            policy_version=batch.policy_version,
            prepared_by=batch.prepared_by,
            created_at=batch.created_at,
            pay_month=batch.pay_month,
            approvals_needed=batch.approvals_needed,
            gross=batch.gross,
            tax=batch.tax,
        )
        self.session.add(row)
        self.session.flush()
        self.add_lines(row.id, 1, lines)
        self._insert_lines(
            row.id,
            len(lines) + 1,
            (
                {
                    "year": failed.year,
                    "studio_code": failed.studio,
                    "person_code": failed.person,
                    "role": failed.role,
                    "months": _months(failed.months),
                    "grade": failed.grade,
                    "ratio": failed.ratio,
                    "gross": failed.gross,
                    "split": dict(failed.split),
                    "tax": failed.tax,
                    "net": failed.net,
                    "explanation": _reissue_explanation(failed),
                    "paid_key": None,
                    "reissue_of": failed.id,
                    "refund": failed.refund,
                }
                for failed in reissues
            ),
        )
        return row.id

    def add_lines(self, batch_id: int, first: int, lines: Iterable[PlannedLine]) -> None:
        self._insert_lines(
            batch_id,
            first,
            (
                {
                    "year": (e := planned.entitlement).year,
                    "studio_code": e.studio,
                    "person_code": e.person,
                    "role": e.role,
                    "months": _months(e.months),
                    "grade": e.grade or "",
                    "ratio": e.ratio,
                    "gross": planned.gross,
                    "split": dict(planned.split),
                    "tax": planned.tax,
                    "net": planned.net,
                    "explanation": e.explanation,
                    "paid_key": paid_key(e.year, e.studio, e.person, e.role),
                    "reissue_of": None,
                    "refund": 0,
                }
                for planned in lines
            ),
        )

    def _insert_lines(self, batch_id: int, first: int, values: Iterable[dict[str, Any]]) -> None:
        insert_rows(  # in one go (schema.bulk), not an ORM object per line
            self.session.connection(),
            _LINES,
            (
                {"batch_id": batch_id, "number": n, "status": LineStatus.PENDING.value, **v}
                for n, v in enumerate(values, start=first)
            ),
        )

    def save_planned_taxes(self, lines: Iterable[BatchLine]) -> None:
        update_rows(
            self.session.connection(),
            _LINES,
            ("id",),
            ({"id": x.id, "tax": x.tax, "net": x.net} for x in lines),
        )

    def set_totals(self, batch_id: int, gross: Fen, tax: Fen, approvals_needed: int) -> None:
        self.session.execute(
            update(BatchRow)
            .where(BatchRow.id == batch_id)
            .values(gross=gross, tax=tax, approvals_needed=approvals_needed)
        )

    def add_approval(self, batch_id: int, approver: str, at: datetime) -> None:
        self.session.add(BatchApprovalRow(batch_id=batch_id, approver=approver, approved_at=at))
        self.session.flush()

    def set_state(self, batch_id: int, state: str) -> None:
        self.session.execute(update(BatchRow).where(BatchRow.id == batch_id).values(state=state))

    def add_event(self, event: BatchEvent) -> None:
        self.session.add(
            BatchEventRow(
                batch_id=event.batch_id,
                action=event.action,
                actor=event.actor,
                at=event.at,
                from_state=event.from_state,
                to_state=event.to_state,
                reason=event.reason,
            )
        )
        self.session.flush()

    def save_lines(self, lines: Iterable[BatchLine]) -> None:
        """The columns a step changes (:data:`_STEP_COLUMNS`, the domain's
        ``LINE_STEP_FIELDS``), for every line in one go (:func:`schema.bulk.update_rows`,
        a part at a time), not a statement per line."""
        update_rows(self.session.connection(), _LINES, ("id",), (_step_row(x) for x in lines))

    def lines_by_id(self, ids: Collection[int]) -> list[BatchLine]:
        found: list[BatchLine] = []
        for chunk in chunks(list(ids)):
            rows = self.session.execute(_LINE_COLUMNS.where(_LINES.c.id.in_(chunk)))
            found += [_line(r) for r in rows]
        return sorted(found, key=lambda x: x.id)

    def release_paid_keys(self, batch_id: int) -> None:
        self.session.execute(
            update(BatchLineRow).where(BatchLineRow.batch_id == batch_id).values(paid_key=None)
        )

    # -- reading ----------------------------------------------------------------

    def batch(self, batch_id: int, *, lock: bool = False, lines: bool = True) -> Batch | None:
        # Lines and states are changed with Core updates: always read them afresh.
        query = (
            select(BatchRow)
            .where(BatchRow.id == batch_id)
            .execution_options(populate_existing=True)
        )
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).scalar_one_or_none()
        return None if row is None else self._assemble([row], lines=lines)[0]

    def line_chunks(
        self, batch_id: int, size: int, *, by_payee: bool = False
    ) -> Iterator[list[BatchLine]]:
        """Keyset pages by line number, or by payee and line number: each chunk one
        indexed range read (the unique ``(batch_id, number)``, or
        ``ix_batch_lines_batch_person``), no cursor held open between chunks."""
        after: tuple[str, int] = ("", 0)
        while True:
            query = _LINE_COLUMNS.where(_LINES.c.batch_id == batch_id)
            if by_payee:
                query = query.where(tuple_(_LINES.c.person_code, _LINES.c.number) > after).order_by(
                    _LINES.c.person_code, _LINES.c.number
                )
            else:
                query = query.where(_LINES.c.number > after[1]).order_by(_LINES.c.number)
            chunk = [_line(r) for r in self.session.execute(query.limit(size))]
            if not chunk:
                return
            yield chunk
            after = (chunk[-1].person, chunk[-1].number)

    def batches(self, year: int | None = None, *, lines: bool = True) -> list[Batch]:
        query = select(BatchRow).order_by(BatchRow.id).execution_options(populate_existing=True)
        if year is not None:
            query = query.where(BatchRow.year == year)
        return self._assemble(list(self.session.scalars(query)), lines=lines)

    def _assemble(self, rows: list[BatchRow], *, lines: bool = True) -> list[Batch]:
        ids = [r.id for r in rows]
        read: dict[int, list[BatchLine]] = {i: [] for i in ids}
        for chunk in chunks(ids if lines else []):
            for row in self.session.execute(
                _LINE_COLUMNS.where(_LINES.c.batch_id.in_(chunk)).order_by(
                    _LINES.c.batch_id, _LINES.c.number
                )
            ):
                read[row.batch_id].append(_line(row))
        approvers: dict[int, list[str]] = {i: [] for i in ids}
        for batch_id, approver in self.session.execute(
            select(BatchApprovalRow.batch_id, BatchApprovalRow.approver)
            .where(BatchApprovalRow.batch_id.in_(ids))
            .order_by(BatchApprovalRow.approved_at)
        ):
            approvers[batch_id].append(approver)
        return [
            Batch(
                r.id,
                r.year,
                BatchState(r.state),
                r.policy_version,
                r.prepared_by,
                r.created_at,
                r.pay_month,
                r.approvals_needed,
                r.gross,
                r.tax,
                tuple(read[r.id]),
                tuple(approvers[r.id]),
                None if lines else LineTally(),
            )
            for r in rows
        ]

    def unsettled_lines(self, studio: str) -> list[tuple[int, int, str]]:
        """(batch, line number, status) of every line of ``studio`` not settled: waiting
        in a draft or approved batch, or returned by the bank and neither reissued nor
        returned to the fund."""
        rows = self.session.execute(
            select(_LINES.c.batch_id, _LINES.c.number, _LINES.c.status)
            .join(BatchRow, BatchRow.id == _LINES.c.batch_id)
            .where(
                _LINES.c.studio_code == studio,
                _LINES.c.status.in_([s.value for s in LineStatus if s.unsettled]),
                BatchRow.state.in_([s.value for s in BatchState if s.active]),
            )
            .order_by(_LINES.c.batch_id, _LINES.c.number)
        )
        return [(int(b), int(n), str(status)) for b, n, status in rows]

    def unresolved_failures(self, year: int) -> list[BatchLine]:
        rows = self.session.execute(
            _LINE_COLUMNS.where(
                _LINES.c.year == year, _LINES.c.status == LineStatus.FAILED.value
            ).order_by(_LINES.c.batch_id, _LINES.c.number)
        )
        return [_line(r) for r in rows]

    def events(self, batch_id: int) -> list[BatchEvent]:
        rows = self.session.scalars(
            select(BatchEventRow)
            .where(BatchEventRow.batch_id == batch_id)
            .order_by(BatchEventRow.id)
        )
        return [
            BatchEvent(
                r.batch_id,
                r.action,
                r.actor,
                r.at,
                BatchState(r.from_state),
                BatchState(r.to_state),
                r.reason,
            )
            for r in rows
        ]
