"""The batch lifecycle: create, approve, reject, cancel, confirm, reissue, return, close.

Every function works in the caller's unit of work and never commits. Money
moves in two phases through the ledger (SPEC §3):

- approval posts ONE voucher: for every line and source,
  ``studio:<id>:fund:<source>`` → ``studio:<id>:payable:<person>``, all lines or
  none (an overdraft anywhere refuses the lot);
- confirmation posts one voucher for the lines paid: payable →
  ``bank:disbursed`` (net) and payable → ``tax:withheld`` (tax); a failed line
  stays payable until it is reissued in a later batch or returned to the fund;
- a return to the fund posts one voucher reversing just that line's approval
  postings (a line remembers their positions in the approval voucher).

One voucher per business action, as 记账凭证 are kept: its 摘要 says what it is
(``2024年度劳务补贴审批转应付（批次#3，154人）``) and each posting carries its
line's memo (payee, studio). The batch row is locked before any change, so two
approvers racing produce one voucher; the ledger's idempotency keys
(``batch:<id>:approve``, ``batch:<id>:pay``) make a repeated action a no-op too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final, Protocol

from ledger import program
from ledger.batches.bank_answer import ResultRow, read_answer
from ledger.batches.batch import (
    ACTION_LABELS,
    STATE_LABELS,
    TRANSITIONS,
    Batch,
    BatchEvent,
    BatchLine,
    BatchState,
    LineStatus,
    LineTally,
    Payee,
    PlannedLine,
    approvals_needed,
    check_approver,
    check_cashier,
    check_not_own_pay,
    chosen_lines,
    planned_taxes,
)
from ledger.batches.entitlements import EntitlementLine, entitlements
from ledger.books import attachments, book
from ledger.books.accounts import FUNDING_SOURCES, WITHHELD_TAX, studio_fund, studio_payable
from ledger.books.periods import Period
from ledger.books.postings import JsonValue, NewTransaction, Posting, utc_now
from ledger.clock import check_not_before, check_year_begun
from ledger.errors import (
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
    text_errors,
)
from ledger.funds.expenses import SOURCE_LABELS
from ledger.money import Fen, format_plain
from ledger.permissions import allows, roles_for
from ledger.privacy import mask_account, mask_id_number
from ledger.registry import roster_services
from ledger.registry.policy import Policy
from ledger.registry.roster import MAX_REASON, ROLE_LABELS, Studio
from ledger.registry.roster_services import policy
from ledger.tax.withholding import MonthIncome, month_income, resettle, withhold
from ledger.users import ROLE_LABELS as USER_ROLE_LABELS
from ledger.users import User, acting


class BatchStore(Protocol):
    """What the batch services need from storage; ``schema.batch_store`` implements it."""

    def paid_keys(self, year: int, studios: Collection[str] | None = None) -> dict[str, int]:
        """:func:`paid_key` → the batch paying it, of ``year``'s lines (of ``studios``
        only, when given)."""

    def paid_keys_of(self, studio: str) -> set[str]:
        """The stipends of ``studio`` already in a batch that pays them (any year)."""

    def draft_commitments(
        self, studios: Collection[str] | None = None
    ) -> dict[tuple[str, str], Fen]:
        """What batches not yet posted would take from each (studio, source) fund (of
        ``studios`` only, when given)."""

    def paid_lines(
        self, people: Sequence[str] | None, month: Period
    ) -> list[tuple[date, BatchLine]]:
        """The lines of ``people`` (everyone's when ``None``) a payment voucher dated in
        ``month`` paid, with its date."""

    def lines_of(
        self, *, studio: str | None = None, person: str | None = None, limit: int
    ) -> list[tuple[int, date | None, BatchLine]]:
        """Up to ``limit`` lines of a studio or of a person, the newest batch first, each
        with its batch's number and the day its payment voucher is dated (``None`` while
        unpaid)."""

    def unanswered(
        self, people: Sequence[str], *, excluding: int | None = None
    ) -> list[tuple[BatchState, BatchLine]]:
        """The lines of ``people`` in drafts and approved batches the bank has not answered
        for yet (``pending``), with their batch's state; none of batch ``excluding``."""

    def waiting_batches(self) -> list[tuple[int, str]]:
        """(batch, pay month) of every batch sent to the bank with lines it has not
        answered for yet."""

    def refunds(self, people: Sequence[str] | None, month: Period) -> dict[str, Fen]:
        """Tax given back to each of ``people`` (everyone, when ``None``) by re-settlements
        of ``month``
        (:attr:`BatchLine.refund` of the lines whose ``refund_month`` it is)."""

    def insert_batch(
        self, batch: Batch, lines: Sequence[PlannedLine], reissues: Sequence[BatchLine]
    ) -> int: ...
    def add_lines(self, batch_id: int, first: int, lines: Iterable[PlannedLine]) -> None:
        """Add ``lines`` to a draft, numbered from ``first``."""

    def save_planned_taxes(self, lines: Iterable[BatchLine]) -> None:
        """Store each line's planned ``tax`` and ``net`` (a draft's, once every line of
        its payees is in)."""

    def set_totals(self, batch_id: int, gross: Fen, tax: Fen, approvals_needed: int) -> None:
        """Store a draft's totals and the approvals it needs, once its lines are in."""

    def batch(self, batch_id: int, *, lock: bool = False, lines: bool = True) -> Batch | None:
        """The batch, with its lines; without them when not ``lines`` (``lines`` empty,
        ``tally`` an empty :class:`LineTally` for the service to add the lines up into)."""

    def line_chunks(
        self, batch_id: int, size: int, *, by_payee: bool = False
    ) -> Iterator[list[BatchLine]]:
        """The batch's lines in number order — or by payee, then number — ``size`` at a
        time, each chunk read as it is asked for (none held beyond it)."""

    def batches(self, year: int | None = None, *, lines: bool = True) -> list[Batch]:
        """The batches of ``year`` (every year's when ``None``) in id order; without
        their lines when not ``lines``."""

    def state_counts(self) -> dict[str, int]:
        """How many batches stand in each state (those with any)."""

    def unresolved_failures(self, year: int) -> list[BatchLine]: ...
    def unsettled_lines(self, studio: str) -> list[tuple[int, int, str]]:
        """(batch, line number, status) of the studio's lines waiting for approval or
        payment, or returned by the bank and not yet settled."""

    def add_approval(self, batch_id: int, approver: str, at: datetime) -> None: ...
    def set_state(self, batch_id: int, state: str) -> None: ...
    def add_event(self, event: BatchEvent) -> None: ...
    def events(self, batch_id: int) -> list[BatchEvent]: ...
    def lines_by_id(self, ids: Collection[int]) -> list[BatchLine]:
        """The stored lines with these ids (of any batch)."""

    def save_lines(self, lines: Iterable[BatchLine]) -> None:
        """Store each line's status, vouchers, final tax and bank failure as the aggregate
        left them (:class:`ledger.batches.batch.BatchLine`'s steps); its figures and payee
        never change."""

    def release_paid_keys(self, batch_id: int) -> None: ...


class Stores(attachments.Stores, Protocol):
    @property
    def batches(self) -> BatchStore: ...


def _batch(stores: Stores, batch_id: int, *, lock: bool = False, lines: bool = True) -> Batch:
    found = stores.batches.batch(batch_id, lock=lock, lines=lines)
    if found is None:
        raise NotFoundError(f"批次 #{batch_id} 不存在")
    return found


LINES_AT_A_TIME: Final = 5_000
"""Lines a step that works through a whole batch holds at once (:meth:`BatchStore.line_chunks`)."""


def _chunks(stores: Stores, batch_id: int) -> Iterator[list[BatchLine]]:
    return stores.batches.line_chunks(batch_id, LINES_AT_A_TIME)


def with_lines(stores: Stores, batch: Batch) -> Batch:
    """``batch`` with its lines: as it is, or read afresh when an action returned it
    without them (:func:`approve` works through a batch a chunk at a time)."""
    return batch if batch.tally is None else _batch(stores, batch.id)


def _by_payee(stores: Stores, batch_id: int) -> Iterator[list[BatchLine]]:
    """The batch's lines a payee at a time: all the lines of one payee together, in payee
    order, read a chunk at a time (a payee's count, their month: never the batch held)."""
    group: list[BatchLine] = []
    for chunk in stores.batches.line_chunks(batch_id, LINES_AT_A_TIME, by_payee=True):
        for line in chunk:
            if group and group[0].person != line.person:
                yield group
                group = []
            group.append(line)
    if group:
        yield group


def _tallied(stores: Stores, batch: Batch) -> Batch:
    """A batch read without its lines, with what they add up to (read a chunk at a time)."""
    tally = LineTally()
    for chunk in _chunks(stores, batch.id):
        tally += LineTally.of(chunk)
    return replace(batch, tally=tally)


def _record(
    stores: Stores,
    batch: Batch,
    action: str,
    actor: str,
    to_state: BatchState,
    reason: str | None = None,
) -> None:
    stores.batches.add_event(
        BatchEvent(batch.id, action, actor, utc_now(), batch.state, to_state, reason)
    )
    if to_state != batch.state:
        stores.batches.set_state(batch.id, to_state)


class NothingToPayError(ValidationError):
    """No entitlement line of the year can be paid now; ``left_out`` says why for each."""

    def __init__(self, year: int, left_out: list[tuple[EntitlementLine, str]]) -> None:
        super().__init__(
            "year",
            f"{year}年度没有可发放的劳务补贴：{len(left_out)} 条应发记录均为暂缓发放、"
            "应发金额为零或已发放",
        )
        self.left_out = left_out


@dataclass(frozen=True)
class CreatedBatch:
    batch: Batch
    left_out: list[tuple[EntitlementLine, str]]


def create(stores: Stores, year: int, by: str, on: date) -> CreatedBatch:
    """A draft batch paying the year's entitlements not yet paid; refused when empty.

    Planned :data:`roster_services.STUDIOS_AT_A_TIME` studios at a time (their
    entitlements, what is already paid, what their funds hold: :func:`chosen_lines`),
    its lines written as they are chosen; then taxed :data:`LINES_AT_A_TIME` lines at a
    time, every line of a payee together (:func:`planned_taxes`, against their other
    income of the month), and its totals set. The batch comes back without its lines
    (:func:`with_lines` reads them), so no step holds the year."""
    acting(stores, by, "batch.create")
    check_year_begun(year, on=on)
    program.require_dated(stores, on)
    governing = policy(stores, year)
    batch_id = count = gross = 0
    left_out: list[tuple[EntitlementLine, str]] = []
    for studios in roster_services.studio_pages(stores):
        codes = [s.code for s in studios]
        chosen, passed_over = chosen_lines(
            _entitlements_of(stores, year, governing, studios),
            already_paid=stores.batches.paid_keys(year, codes),
            available=available_funds(stores, codes),
        )
        left_out += passed_over
        if not chosen:
            continue
        if not batch_id:  # written once it has a line to pay: with none, nothing is
            batch_id = stores.batches.insert_batch(_draft(year, governing, by, on), [], [])
        stores.batches.add_lines(
            batch_id, count + 1, (PlannedLine(x, dict(x.split), 0) for x in chosen)
        )
        count += len(chosen)
        gross += sum(x.gross for x in chosen)
    if not batch_id:
        raise NothingToPayError(year, left_out)
    tally = _taxed(stores, batch_id, governing, on)
    stores.batches.set_totals(
        batch_id, gross, tally.current_tax, approvals_needed(gross, governing)
    )
    _record_created(stores, batch_id, by)
    return CreatedBatch(replace(_batch(stores, batch_id, lines=False), tally=tally), left_out)


def _entitlements_of(
    stores: Stores, year: int, governing: Policy, studios: Sequence[Studio]
) -> list[EntitlementLine]:
    """The stipend lines of ``studios`` for ``year`` (:func:`entitlements`), from their
    places, people and grades alone."""
    registry = stores.registry
    codes = [s.code for s in studios]
    places = registry.memberships_of(codes)
    return entitlements(
        year,
        governing,
        studios=studios,
        people=registry.people_of({m.person for m in places}),
        memberships=places,
        studio_grades=registry.studio_grades(year, codes),
        person_grades=registry.person_grades(year, codes),
    )


def _taxed(stores: Stores, batch_id: int, governing: Policy, on: date) -> LineTally:
    """Plan the tax of a draft's lines, every line of a payee together on top of their
    other income of ``on``'s month (:func:`_expected_income`, this draft's own lines
    left out), a chunk of payees at a time; what the lines add up to."""
    tally = LineTally()
    for lines in _payee_chunks(stores, batch_id):
        before = _expected_income(stores, [x.person for x in lines], on, excluding=batch_id)
        taxes = planned_taxes(governing, [(x.person, x.gross) for x in lines], before)
        taxed = [replace(x, tax=t, net=x.gross - t) for x, t in zip(lines, taxes, strict=True)]
        stores.batches.save_planned_taxes(taxed)
        tally += LineTally.of(taxed)
    return tally


def _payee_chunks(stores: Stores, batch_id: int) -> Iterator[list[BatchLine]]:
    """The batch's lines by payee, about :data:`LINES_AT_A_TIME` at a time, never a
    payee's lines split between two chunks."""
    chunk: list[BatchLine] = []
    for lines in _by_payee(stores, batch_id):
        chunk += lines
        if len(chunk) >= LINES_AT_A_TIME:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _month_income(stores: Stores, people: Sequence[str], on: date) -> dict[str, MonthIncome]:
    """What each payee was paid in ``on``'s month, by confirmed payments, and the tax
    withheld from it less what re-settlements gave back."""
    month = Period.of(on)
    wanted = sorted(set(people))
    paid = month_income(
        (line.payment(on) for on, line in stores.batches.paid_lines(wanted, month)), month
    )
    refunded = stores.batches.refunds(wanted, month)
    return {
        person: MonthIncome(income.paid, income.withheld - refunded.get(person, 0))
        for person, income in paid.items()
    }


def _expected_income(
    stores: Stores, people: Sequence[str], on: date, *, excluding: int | None = None
) -> dict[str, MonthIncome]:
    """What a new batch's tax is planned against: each payee's income of ``on``'s month
    (:func:`_month_income`) and the lines of other batches (not ``excluding``) the bank
    has yet to pay them, as if paid in that month — so two batches planned before either
    is paid do not both plan the lowest bracket."""
    income = _month_income(stores, people, on)
    for _, line in stores.batches.unanswered(sorted(set(people)), excluding=excluding):
        had = income.get(line.person, MonthIncome())
        income[line.person] = MonthIncome(had.paid + line.gross, had.withheld + line.tax)
    return income


def _month_taxes(stores: Stores, rule: str, lines: Sequence[BatchLine], on: date) -> list[Fen]:
    """The tax on each of ``lines`` if paid on ``on``, with each payee's other income of
    that month (:func:`_expected_income`, :func:`ledger.tax.withholding.withhold`)."""
    before = _expected_income(stores, [x.person for x in lines], on)
    return withhold(rule, [(x.person, x.gross) for x in lines], before)


def _policy_of(stores: Stores, batch: Batch) -> Policy:
    """The policy the batch was computed with (a later policy never changes it)."""
    return next(p for p in stores.registry.policies() if p.version == batch.policy_version)


def _draft(year: int, governing: Policy, by: str, on: date, gross: Fen = 0, tax: Fen = 0) -> Batch:
    """A new draft's header, to be paid in ``on``'s month (its lines go in after it)."""
    return Batch(
        0,
        year,
        BatchState.DRAFT,
        governing.version,
        by,
        utc_now(),
        f"{on:%Y-%m}",
        approvals_needed(gross, governing),
        gross,
        tax,
        (),
        (),
    )


def _record_created(stores: Stores, batch_id: int, by: str) -> None:
    draft = BatchState.DRAFT
    stores.batches.add_event(BatchEvent(batch_id, "create", by, utc_now(), draft, draft))


def available_funds(stores: Stores, studios: Collection[str]) -> dict[tuple[str, str], Fen]:
    """What each of ``studios``' funds can still pay, by (studio, source): its balance
    now less what draft batches would take from it on approval. The one home of the
    rule: the draft batch, the console, the API and the command line all read it."""
    committed = stores.batches.draft_commitments(studios)
    wanted = [(studio, source) for studio in sorted(studios) for source in FUNDING_SOURCES]
    kept = stores.ledger.current_balances([studio_fund(*pair) for pair in wanted])
    return {pair: kept.get(studio_fund(*pair), 0) - committed.get(pair, 0) for pair in wanted}


@dataclass(frozen=True)
class Outcome:
    """What an action did, in words, and the batch after it."""

    batch: Batch
    message: str
    changed: bool = True
    notes: tuple[str, ...] = ()
    """What else the action did, in words for a person (a tax re-settlement)."""
    voucher_seq: int | None = None
    """The payment voucher the bank's answer posted, if it paid any line."""


def approve(stores: Stores, batch_id: int, by: str, on: date) -> Outcome:
    """Record an approval; the last one needed posts every line fund → payable.

    The batch is worked through a chunk of lines at a time (:data:`LINES_AT_A_TIME`),
    never held whole: the first approval keeps whom each line pays; the last posts the
    one approval voucher a chunk at a time (:func:`book.post_in_chunks`) and then marks
    each line moved with its postings' positions."""
    acting(stores, by, "batch.approve")
    program.require_dated(stores, on)
    batch = _batch(stores, batch_id, lock=True, lines=False)
    if batch.state.sent:
        return Outcome(
            _tallied(stores, batch),
            f"批次 #{batch.id} 状态为{batch.state.label}，无需再审批",
            changed=False,
        )
    batch.after("approve")
    check_not_before(on, batch.first_day, field="on", what=f"批次 #{batch.id} 的发放月份")
    check_approver(by, batch.prepared_by, batch.approved_by)
    approver = stores.users.record(by)
    id_number = None if approver is None else approver.id_number
    own = stores.registry.payee_code(id_number) if id_number else None
    paying = (
        ((x.number, x.person) for chunk in _chunks(stores, batch.id) for x in chunk)
        if own is not None
        else ()
    )
    check_not_own_pay(by, id_number, own, paying)
    stores.batches.add_approval(batch.id, by, utc_now())
    if not batch.approved_by:  # whom each line pays, as approved
        for chunk in _chunks(stores, batch.id):
            stores.batches.save_lines(_frozen(stores, chunk))
    approved_by = (*batch.approved_by, by)
    if len(approved_by) < batch.approvals_needed:
        _record(stores, batch, "approve", by, BatchState.DRAFT)
        return Outcome(
            _tallied(stores, batch).changed(BatchState.DRAFT, approved_by=approved_by),
            f"批次 #{batch.id} 已有 {len(approved_by)} 位审批人审批通过，"
            f"共需 {batch.approvals_needed} 位，还需另一位审批人审批",
        )
    moving, people = _moving_headcount(stores, batch.id)
    voucher = ""
    if moving:
        request, postings = approval_voucher(stores, batch, (moving, people), on, approved_by)
        posted = book.post_in_chunks(stores.ledger, request, postings, date_field="on", by=by)
        tallied = replace(batch, tally=_mark_moved(stores, batch.id, posted.seq))
        voucher = f"（凭证 {posted.voucher}）"
    else:
        tallied = _tallied(stores, batch)
    to_state = batch.after("approve")
    _record(stores, batch, "approve", by, to_state)
    approved = tallied.changed(to_state, approved_by=approved_by)
    already = approved.line_count - moving
    return Outcome(
        approved,
        f"批次 #{batch.id} 已审批通过：{moving} 行转入应付{voucher}"
        + (f"，另有 {already} 行重新发放的款项此前已在应付中" if already else ""),
    )


def _moving_headcount(stores: Stores, batch_id: int) -> tuple[int, int]:
    """How many lines the approval moves fund → payable, and to how many people."""
    lines = people = 0
    for group in _by_payee(stores, batch_id):
        moving = sum(1 for line in group if line.moves_on_approval)
        lines += moving
        people += moving > 0
    return lines, people


def _mark_moved(stores: Stores, batch_id: int, seq: int) -> LineTally:
    """Each moving line as the approval voucher ``seq`` moved it, with its postings'
    positions (a line's postings follow one another, in line order: :func:`approval_voucher`);
    what the batch's lines add up to, read on the way (moving changes no amount)."""
    position = 0
    tally = LineTally()
    for chunk in _chunks(stores, batch_id):
        tally += LineTally.of(chunk)
        moved = []
        for line in chunk:
            if line.moves_on_approval:
                count = len(_moving_split(line))
                moved.append(line.moved(seq, tuple(range(position, position + count))))
                position += count
        stores.batches.save_lines(moved)
    return tally


def _frozen(stores: Stores, lines: Sequence[BatchLine]) -> list[BatchLine]:
    """The lines with whom they pay as the roster says now (a reissue takes the payee's
    current account: it is approved again)."""
    people = {p.code: p for p in stores.registry.people_of({line.person for line in lines})}
    return [line.frozen(Payee.of(people[line.person])) for line in lines]


def payees(stores: Stores, batch: Batch) -> dict[int, Payee]:
    """Whom each line pays, by line number: as approved once the batch has an approval;
    for a draft, as the roster says now (only the people on its lines are read)."""
    lines = batch.whole_lines if batch.approved_by else _frozen(stores, batch.whole_lines)
    return {x.number: x.payee for x in lines if x.payee is not None}


def roster_changes(stores: Stores, batch: Batch) -> dict[int, str]:
    """A warning for each approved line not yet settled whose payee the roster now
    describes differently (line number → the change, masked): the line still pays whom
    it was approved for, unless it is returned and reissued (approved again)."""
    waiting = [x for x in batch.whole_lines if x.payee is not None and x.status.unsettled]
    if not waiting:
        return {}
    now = {p.code: p for p in stores.registry.people_of({x.person for x in waiting})}
    return {
        x.number: "花名册已变更：" + "；".join(changed) + "。本行仍按审批时的信息发放，"
        "如需改付，请在银行退回后重新发放（重新审批）"
        for x in waiting
        if x.payee is not None and (changed := x.payee.changes_in(now[x.person]))
    }


def payee_names(stores: Stores, batch: Batch) -> dict[str, str]:
    """The names of the batch's payees by payee code, as :func:`payees` gives them."""
    return names_of(batch, payees(stores, batch))


def names_of(batch: Batch, paying: Mapping[int, Payee]) -> dict[str, str]:
    """The names of the batch's payees by payee code, from :func:`payees` already read."""
    return {x.person: paying[x.number].name for x in batch.whole_lines}


def _headcount(lines: int, people: int) -> str:
    """``154人``, or ``153人154笔`` when someone is paid by two studios."""
    return f"{people}人" if people == lines else f"{people}人{lines}笔"


def _line_memo(batch: Batch, line: BatchLine, what: str) -> str:
    """A line's 摘要 in a voucher: its payee by name as kept on the line at the first
    approval, studio, role, and what the posting does."""
    name = line.person if line.payee is None else line.payee.name
    return f"{name}（{line.studio} {ROLE_LABELS[line.role]}）{what} 批次#{batch.id}-{line.number}"


def approval_voucher(
    stores: Stores,
    batch: Batch,
    headcount: tuple[int, int],
    on: date,
    approved_by: Sequence[str],
) -> tuple[NewTransaction, Callable[[], Iterator[list[Posting]]]]:
    """The one voucher moving the batch's lines fund → payable — ``headcount``: how many
    lines it moves, to how many people — without its postings, and its postings a chunk
    of lines at a time, read as they are asked for (:func:`book.post_in_chunks`), each
    line's payee by the name kept at the first approval; it seals who prepared the batch
    and who approved it (:func:`signed`)."""

    def postings() -> Iterator[list[Posting]]:
        for chunk in _chunks(stores, batch.id):
            yield [
                Posting(
                    studio_fund(line.studio, source),
                    studio_payable(line.studio, line.person),
                    amount,
                    _line_memo(batch, line, f"{SOURCE_LABELS[source]}转应付"),
                )
                for line in chunk
                if line.moves_on_approval
                for source, amount in _moving_split(line)
            ]

    lines, people = headcount
    voucher = NewTransaction(
        idempotency_key=f"batch:{batch.id}:approve",
        effective_date=on,
        memo=f"{batch.year}年度劳务补贴审批转应付（批次#{batch.id}，{_headcount(lines, people)}）",
        postings=(),
        metadata={
            "kind": "stipend_approval",
            "batch": batch.id,
            "year": batch.year,
            "lines": lines,
            **signed(batch.prepared_by, approved_by),
        },
    )
    return voucher, postings


def _moving_split(line: BatchLine) -> list[tuple[str, Fen]]:
    """What the approval moves of ``line``, by source: one posting each, in this order."""
    return [(source, amount) for source, amount in line.split.items() if amount > 0]


def signed(prepared_by: str, approved_by: Sequence[str]) -> dict[str, JsonValue]:
    """Who prepared a batch and who approved it, as its vouchers carry them in their
    sealed metadata: the 记账凭证's 制单 and 审核 (:mod:`ledger.books.vouchers`)."""
    return {"prepared_by": prepared_by, "approved_by": list(approved_by)}


def reject(stores: Stores, batch_id: int, by: str, reason: str) -> Outcome:
    """Refuse a draft: its lines become payable again in a later batch."""
    return _end_draft(stores, batch_id, by, reason, "reject")


def cancel(stores: Stores, batch_id: int, by: str, reason: str) -> Outcome:
    """Withdraw a draft (its preparer or an admin)."""
    return _end_draft(stores, batch_id, by, reason, "cancel")


def _end_draft(stores: Stores, batch_id: int, by: str, reason: str, action: str) -> Outcome:
    if not reason.strip():
        raise ValidationError("reason", f"{ACTION_LABELS[action]}批次须填写原因")
    if refused := text_errors("reason", reason, MAX_REASON):
        raise refused[0]
    batch = _batch(stores, batch_id, lock=True)
    to_state = batch.after(action)
    acting(stores, by, f"batch.{action}")
    stores.batches.release_paid_keys(batch.id)
    paid_again = [line.reissue_of for line in batch.lines if line.reissue_of is not None]
    stores.batches.save_lines([x.reopened() for x in stores.batches.lines_by_id(paid_again)])
    _record(stores, batch, action, by, to_state, reason)
    return Outcome(_batch(stores, batch.id), f"批次 #{batch.id} {to_state.label}：{reason}")


def confirm(
    stores: Stores, batch_id: int, by: str, on: date, failed: Mapping[int, str] | None = None
) -> Outcome:
    """Record the bank's answer by hand: every line still waiting paid, except ``failed``
    (line number → reason). The bank's result file is read by :func:`read_results`.
    The batch is worked through a chunk of lines at a time, never held whole."""
    failed = failed or {}
    batch = _batch(stores, batch_id, lock=True, lines=False)
    answering = _answering(stores, batch, _waiting_unless(failed), failed)
    batch.after(answering.action)
    for number, reason in failed.items():
        line = answering.failed.get(number)
        if line is None:
            raise ValidationError("line", f"批次 #{batch.id} 没有第{number}行")
        if line.status != LineStatus.PENDING:
            raise InvalidTransitionError(
                f"批次 #{batch.id} 第{number}行已{line.status.label}，银行已答复过"
            )
        if not reason.strip():
            raise ValidationError(f"failed[{number}]", "银行退回须填写原因")
        if refused := text_errors(f"failed[{number}]", reason, MAX_REASON):
            raise refused[0]
    return _answer(
        stores, batch, answering, failed, by, on, key=f"batch:{batch.id}", event="confirm"
    )


def _waiting_unless(failed: Mapping[int, str]) -> Callable[[BatchLine], bool]:
    """Paid by a confirmation: every line still waiting, but those the bank returned."""
    return lambda x: x.status == LineStatus.PENDING and x.number not in failed


@dataclass
class _Answering:
    """What one pass over a batch's lines finds for the bank's answer to it."""

    pays: Callable[[BatchLine], bool]
    """Whether the answer pays a line."""
    action: str = "pay"
    """The transition the answer takes the batch by (:func:`_answered`)."""
    failed: dict[int, BatchLine] = field(default_factory=dict)
    """The lines the bank returned, by number (those the batch has)."""
    paying: int = 0
    paid_people: int = 0
    approved_in: set[int] = field(default_factory=set)
    """The approval vouchers of its lines (a reissue's lines have none)."""
    carriers: list[BatchLine] = field(default_factory=list)
    """Its lines returned before and carrying no refund yet."""


def _answering(
    stores: Stores, batch: Batch, pays: Callable[[BatchLine], bool], failed: Mapping[int, str]
) -> _Answering:
    found = _Answering(pays)
    waiting = settled = False
    for group in _by_payee(stores, batch.id):
        paid_here = 0
        for line in group:
            if line.number in failed:
                found.failed[line.number] = line
            if pays(line):
                paid_here += 1
            elif line.status == LineStatus.PENDING and line.number not in failed:
                waiting = True
            if line.status not in (LineStatus.PENDING, LineStatus.PAID):
                settled = True
            if line.approval_seq and line.moves_on_approval:
                found.approved_in.add(line.approval_seq)
            if line.status == LineStatus.FAILED and not line.refund:
                found.carriers.append(line)
        found.paying += paid_here
        found.paid_people += paid_here > 0
    found.action = _answered(waiting=waiting, failed=bool(failed), settled=settled)
    return found


def read_results(
    stores: Stores, batch_id: int, rows: Sequence[ResultRow], digest: str, by: str, on: date
) -> Outcome:
    """Read the bank's result file (its rows, and its content hash ``digest``): confirm
    every 成功 line and record every 失败 line with its reason, as one action; the same
    file read again, or a file repeating what the bank already said, changes nothing
    (:func:`ledger.batches.bank_answer.read_answer` says what a true file is)."""
    batch = _batch(stores, batch_id, lock=True)
    acting(stores, by, "batch.confirm")
    if not batch.state.sent:
        raise InvalidTransitionError(
            f"批次 #{batch.id} 状态为{STATE_LABELS[batch.state]}，尚未发送银行，没有银行结果可读"
        )
    read = [e for e in stores.batches.events(batch.id) if e.reason and digest in e.reason]
    if read:
        return Outcome(
            batch,
            f"银行结果文件已于 {read[0].at:%Y-%m-%d} 由 {read[0].actor} 读入，本次未作任何更改",
            changed=False,
        )
    answer = read_answer(batch, payees(stores, batch), rows)
    if not answer.news:
        return Outcome(
            batch,
            f"银行结果文件的 {answer.known} 行均已入账，本次未作任何更改",
            changed=False,
        )
    paid = set(answer.paid)
    return _answer(
        stores,
        batch,
        _answering(stores, batch, lambda x: x.number in paid, answer.failed),
        answer.failed,
        by,
        on,
        key=f"batch:{batch.id}:results:{digest[:16]}",
        event="results",
        note=f"银行结果文件 sha256:{digest}",
    )


def _answered(*, waiting: bool, failed: bool, settled: bool) -> str:
    """The transition the bank's answer takes: ``answer`` while lines still wait
    (``waiting``), else ``pay`` — or ``pay_partially`` when it returned any line
    (``failed``) or a line was settled otherwise before (``settled``: returned, reissued)."""
    if waiting:
        return "answer"
    return "pay_partially" if failed or settled else "pay"


def _answer(
    stores: Stores,
    batch: Batch,
    answering: _Answering,
    failed: Mapping[int, str],
    by: str,
    on: date,
    *,
    key: str,
    event: str,
    note: str | None = None,
) -> Outcome:
    """The bank paid the lines ``answering.pays`` and returned the ``failed`` ones: one
    payment voucher posted a chunk of lines at a time, the lines saved, and the payees'
    months re-settled."""
    to_state = batch.after(answering.action)
    acting(stores, by, "batch.confirm")
    _check_cashier(stores, batch, by)
    program.require_dated(stores, on)
    # the day its money became payable: its approval voucher's date (a reissue posts
    # none; its money has been payable since its month began, at the latest)
    approved_on = max([batch.first_day, *stores.ledger.dates_of(answering.approved_in).values()])
    check_not_before(on, approved_on, field="on", what=f"批次 #{batch.id} 的审批")
    bounced = [answering.failed[number].bounced(reason) for number, reason in failed.items()]
    paid_by: int | None = None
    if answering.paying:
        request, postings = payment_voucher(stores, batch, answering, on, key=f"{key}:pay")
        posted = book.post_in_chunks(stores.ledger, request, postings, date_field="on", by=by)
        for chunk in _chunks(stores, batch.id):
            stores.batches.save_lines([x.paid(posted.seq) for x in chunk if answering.pays(x)])
        paid_by = posted.seq
        sent = attachments.BANK_FILE
        attachments.link_own(
            stores,
            posted.seq,
            origin=attachments.origin(batch.id, sent),
            by=by,
            note=attachments.NOTES[sent],
        )
    stores.batches.save_lines(bounced)
    carriers = sorted([*answering.carriers, *bounced], key=lambda x: x.number)

    def answered_now(line: BatchLine) -> bool:
        return (paid_by is not None and line.payment_seq == paid_by) or line.number in failed

    refunds, settlements = _resettle(stores, batch, answered_now, carriers, on, key, by)
    stores.batches.save_lines(refunds)
    _record(
        stores,
        batch,
        event,
        by,
        to_state,
        "；".join(
            [
                *([note] if note else []),
                *(f"第{n}行：{r}" for n, r in sorted(failed.items())),
                *settlements,
            ]
        )
        or None,
    )
    tally, waiting = LineTally(), 0
    for chunk in _chunks(stores, batch.id):
        tally += LineTally.of(chunk)
        waiting += sum(1 for x in chunk if x.status == LineStatus.PENDING)
    answered = replace(batch, lines=(), tally=tally).changed(to_state)
    return Outcome(
        answered,
        f"批次 #{batch.id} 状态为{to_state.label}：{answering.paying} 行已支付，"
        f"{len(failed)} 行被银行退回"
        + (f"，{waiting} 行仍待银行答复" if waiting else "")
        + ("；" + "；".join(settlements) if settlements else ""),
        notes=tuple(settlements),
        voucher_seq=paid_by,
    )


def _resettle(
    stores: Stores,
    batch: Batch,
    answered_now: Callable[[BatchLine], bool],
    carriers: Sequence[BatchLine],
    on: date,
    key: str,
    by: str,
) -> tuple[list[BatchLine], list[str]]:
    """Re-settle the month of every payee of a line ``answered_now`` (paid or returned by
    this answer) the bank has answered for on all their lines sent to it
    (:func:`ledger.tax.withholding.resettle`), a chunk of payees at a time: tax withheld
    too much goes back tax → the payee's payable on their first returned line of the
    batch (``carriers``: returned, no refund yet, in number order), which carries it to
    its reissue; one voucher for the action. Returns the lines now carrying a refund, and
    what was re-settled, in words."""
    month = Period.of(on)
    rule = _policy_of(stores, batch).withholding
    carrying: dict[str, BatchLine] = {}
    for line in carriers:
        carrying.setdefault(line.person, line)
    refunded: list[BatchLine] = []
    postings: list[Posting] = []
    said: list[str] = []

    def settle(names: Mapping[str, str]) -> None:
        waiting = {x.person for state, x in stores.batches.unanswered(list(names)) if state.sent}
        answered = [person for person in names if person not in waiting]
        if not answered:
            return
        income = _month_income(stores, answered, on)
        for person in answered:
            settled = resettle(rule, person, month, income.get(person, MonthIncome()))
            if settled.over == 0:
                continue
            told = (
                f"{names[person]} {month.year}年{month.month}月实付收入 "
                f"{format_plain(settled.paid)} 元，应扣个税 {format_plain(settled.due)} 元，"
                f"已扣 {format_plain(settled.withheld)} 元"
            )
            if settled.over < 0:
                said.append(
                    f"{told}，少扣 {format_plain(-settled.over)} 元，未能补扣，见扣缴申报表"
                )
                continue
            carrier = carrying.get(person)
            if carrier is None:
                said.append(
                    f"{told}，多扣 {format_plain(settled.over)} 元，无待重新发放的行可随之退还，"
                    "见扣缴申报表"
                )
                continue
            postings.append(
                Posting(
                    WITHHELD_TAX,
                    studio_payable(carrier.studio, person),
                    settled.over,
                    _line_memo(batch, carrier, "多扣个税退回应付"),
                )
            )
            refunded.append(carrier.refunded(settled.over, str(month)))
            said.append(
                f"{told}，多扣 {format_plain(settled.over)} 元退回应付，"
                f"随第{carrier.number}行重新发放支付"
            )

    names: dict[str, str] = {}
    for group in _by_payee(stores, batch.id):
        if any(answered_now(line) for line in group):
            payee = next((x.payee for x in group if x.payee is not None), None)
            names[group[0].person] = group[0].person if payee is None else payee.name
        if len(names) == LINES_AT_A_TIME:
            settle(names)
            names = {}
    if names:
        settle(names)
    if postings:
        book.post(
            stores.ledger,
            [
                NewTransaction(
                    idempotency_key=f"{key}:resettle",
                    effective_date=on,
                    memo=f"劳务报酬个人所得税重算（批次#{batch.id}，银行退回后按实付收入"
                    f"重算{month.year}年{month.month}月，{len(postings)}人）",
                    postings=tuple(postings),
                    metadata={"kind": "tax_resettlement", "batch": batch.id, "month": str(month)},
                )
            ],
            date_field="on",
            by=by,
        )
    return refunded, said


def _check_cashier(stores: Stores, batch: Batch, by: str) -> None:
    """The cashier is none of the batch's approvers, by name or by person
    (:func:`ledger.batches.batch.check_cashier`)."""
    cashier = stores.users.record(by)
    approvers = {name: stores.users.record(name) for name in batch.approved_by}
    check_cashier(
        by,
        None if cashier is None else cashier.id_number,
        batch.id,
        {name: None if r is None else r.id_number for name, r in approvers.items()},
    )


def payment_voucher(
    stores: Stores, batch: Batch, answering: _Answering, on: date, *, key: str
) -> tuple[NewTransaction, Callable[[], Iterator[list[Posting]]]]:
    """The one voucher paying the lines ``answering.pays`` as the bank file sent them —
    payable → bank (the net, with any refund a line carries) and → tax withheld (the
    approved tax) — without its postings, and its postings a chunk of lines at a time
    (:func:`book.post_in_chunks`)."""

    def postings() -> Iterator[list[Posting]]:
        for chunk in _chunks(stores, batch.id):
            yield [
                Posting(
                    studio_payable(line.studio, line.person),
                    account,
                    amount,
                    _line_memo(batch, line, what),
                )
                for line in chunk
                if answering.pays(line)
                for account, amount, what in (
                    (
                        "bank:disbursed",
                        line.sent,
                        "实发" if not line.refund else "实发（含退还多扣个税）",
                    ),
                    (WITHHELD_TAX, line.tax, "代扣个税"),
                )
                if amount
            ]

    voucher = NewTransaction(
        idempotency_key=key,
        effective_date=on,
        memo=f"{batch.year}年度劳务补贴发放（批次#{batch.id}，"
        f"{_headcount(answering.paying, answering.paid_people)}）",
        postings=(),
        metadata={
            "kind": "stipend_payment",
            "batch": batch.id,
            "year": batch.year,
            **signed(batch.prepared_by, batch.approved_by),
        },
    )
    return voucher, postings


def reissue(stores: Stores, year: int, by: str, on: date) -> Batch:
    """A draft batch paying again every failed line of ``year`` not yet reissued or returned.

    The money is still payable, so approving it posts nothing; confirming it
    pays from payable as usual, with any tax refund the failed line carries. Whom it
    pays is read from the roster anew at its first approval.
    """
    acting(stores, by, "batch.reissue")
    program.require_dated(stores, on)
    for source in stores.batches.batches(year, lines=False):  # in id order, as every path
        # locks one: a bank answer or a return still writing a line of theirs finishes
        # first, and the lines are read as it left them
        _batch(stores, source.id, lock=True, lines=False)
    failures = stores.batches.unresolved_failures(year)
    if not failures:
        raise ValidationError("year", f"{year}年度没有等待重新发放的银行退回付款")
    governing = roster_services.policy(stores, year)
    taxes = _month_taxes(stores, governing.withholding, failures, on)
    forecast = [
        replace(line, tax=tax, net=line.gross - tax, refund_month=None)
        for line, tax in zip(failures, taxes, strict=True)
    ]
    header = _draft(
        year, governing, by, on, sum(x.gross for x in forecast), sum(x.tax for x in forecast)
    )
    batch_id = stores.batches.insert_batch(header, [], forecast)
    batch = _batch(stores, batch_id)
    _record_created(stores, batch_id, by)
    stores.batches.save_lines([line.reissued() for line in failures])
    return batch


def return_to_fund(stores: Stores, batch_id: int, number: int, by: str, on: date) -> Outcome:
    """Send a failed line's money back from payable to the studio's fund (a reversal)."""
    batch = _batch(stores, batch_id, lock=True)
    acting(stores, by, "batch.return")
    _check_cashier(stores, batch, by)
    program.require_dated(stores, on)
    line = batch.line(number)
    if line.status != LineStatus.FAILED:
        raise InvalidTransitionError(
            f"批次 #{batch.id} 第{number}行状态为{line.status.label}，"
            "只有被银行退回的付款才能退回资金"
        )
    if line.refund:
        raise InvalidTransitionError(
            f"批次 #{batch.id} 第{number}行带有退还的多扣个税 {format_plain(line.refund)} 元，"
            "须重新发放以支付给本人，不能退回资金"
        )
    root = _root_line(stores, line)
    if root.approval_seq is None:
        raise InvalidTransitionError(f"批次 #{batch.id} 第{number}行从未转入应付，不能退回资金")
    reversal = book.reverse(
        stores.ledger,
        root.approval_seq,
        idempotency_key=f"batch:{batch.id}:line:{number}:return",
        effective_date=on,
        memo=f"劳务补贴退回资金 批次#{batch.id}-{number}：{line.failure_reason}",
        positions=root.approval_positions,
        date_field="on",
        by=by,
    )
    stores.batches.save_lines([line.returned(reversal.seq), root.returned(reversal.seq)])
    _record(stores, batch, "return", by, batch.state, f"第{number}行")
    return Outcome(
        _batch(stores, batch.id),
        f"批次 #{batch.id} 第{number}行已退回{line.studio}的资金（凭证 {reversal.voucher}）",
    )


def _root_line(stores: Stores, line: BatchLine) -> BatchLine:
    """The original line a reissue pays again (the one whose approval moved the money),
    one line read a step back: never the year's batches."""
    while line.reissue_of is not None:
        found = stores.batches.lines_by_id([line.reissue_of])
        if not found:
            raise NotFoundError(f"编号为 {line.reissue_of} 的批次行不存在")
        [line] = found
    return line


def close(stores: Stores, batch_id: int, by: str) -> Outcome:
    """Close a paid batch, or a partially paid one whose failed lines are all resolved."""
    batch = _batch(stores, batch_id, lock=True)
    to_state = batch.after("close")
    acting(stores, by, "batch.close")
    open_lines = [line.number for line in batch.failed]
    if open_lines:
        raise InvalidTransitionError(
            f"批次 #{batch.id} 第{'、'.join(map(str, open_lines))}行被银行退回，尚未处理："
            "请先重新发放（`batches reissue`）或退回资金"
        )
    _record(stores, batch, "close", by, to_state)
    return Outcome(_batch(stores, batch.id), f"批次 #{batch.id} 已关闭")


_STEPS: Final[Mapping[str, str]] = {
    "pay": "confirm",
    "pay_partially": "confirm",
    "answer": "confirm",
}
"""Transitions taken by another action's name: recording the bank's answer pays."""


def offered(batch: Batch, user: User) -> list[str]:
    """The actions ``user`` may take on ``batch`` now, in :data:`ACTION_LABELS` order:
    allowed for their role, possible in the batch's state, and not refused by
    maker-checker (the preparer is never offered 审批通过, nor is an approver twice).
    A screen shows a button for each; the services check everything again."""
    possible = {_STEPS.get(step, step) for state, step in TRANSITIONS if state == batch.state}
    failed = bool(batch.failed)
    if failed:
        possible -= {"close"}
        possible |= {"return", "reissue"}
    if user.name == batch.prepared_by or user.name in batch.approved_by:
        possible -= {"approve"}
    return [
        verb for verb in ACTION_LABELS if verb in possible and allows(user.role, f"batch.{verb}")
    ]


def show(stores: Stores, batch_id: int) -> tuple[Batch, list[BatchEvent]]:
    batch = _batch(stores, batch_id)
    return batch, stores.batches.events(batch_id)


@dataclass(frozen=True, slots=True)
class PayoutRow:
    """One payee line as the files show it (ID and account already masked if they must be)."""

    number: int
    studio: str
    name: str
    id_number: str
    role: str
    months: int
    grade: str
    gross: Fen
    tax: Fen
    net: Fen
    bank_name: str
    bank_account: str
    remark: str


@dataclass(frozen=True)
class Payout:
    """A batch's payout as its files show it: the 发放表 rows for everyone who may read
    it, and the bank file's rows only for the role that may send them.

    Attributes:
      rows: the signing sheet's, 身份证号 and bank account masked (it goes round the
        studios to be signed).
      bank_rows: the bank file's, whole (the bank pays on them); empty when no bank file
        is given.
      bank_title: the bank file's title, or ``None`` when no bank file is given (the
        reason is in ``notes``); a copy for reconciliation says so in its title.
    """

    batch: Batch
    exporter: User
    title: str
    described: str
    rows: list[PayoutRow]
    bank_rows: list[PayoutRow]
    bank_title: str | None
    purpose: str
    notes: list[str]


def payout(stores: Stores, batch_id: int, by: str) -> Payout:
    """The payout roster and, for the cashier and a batch sent to the bank, the bank file.

    The roster (发放表) is the signing sheet that goes round the studios: its 身份证号 and
    bank accounts are masked whoever exports it (SPEC §4). Only the 出纳 is given the bank
    file (``batch.bank_file``), which keeps them whole because the bank pays on them:
    approvers approve, the cashier pays. The bank file lists every line of the batch, as
    approved; given again after payment it is marked a copy for reconciliation, not to be
    sent twice. The entry points audit-log each export.
    """
    exporter = acting(stores, by, "batch.roster")
    batch = _batch(stores, batch_id)
    paying = payees(stores, batch)
    rows = [_payout_row(batch, x, paying[x.number], whole=False) for x in batch.lines]
    described = (
        f"批次 #{batch.id}　状态：{STATE_LABELS[batch.state]}　政策：{batch.policy_version}"
        f"　经办：{batch.prepared_by}　审批：{'、'.join(batch.approved_by) or '—'}"
    )
    notes, bank_title = [], None
    if not allows(exporter.role, "batch.bank_file"):
        notes.append(
            "未生成批量代发文件：文件含完整银行账号，仅"
            + "、".join(USER_ROLE_LABELS[r] for r in sorted(roles_for("batch.bank_file")))
            + "可以导出"
        )
    elif not batch.state.sent:
        notes.append(
            f"未生成批量代发文件：批次状态为{STATE_LABELS[batch.state]}，"
            "只有审批通过的批次才发送银行"
        )
    else:
        copy = "" if batch.state == BatchState.APPROVED else "（对账副本，请勿再次提交银行）"
        bank_title = f"杭锦旗名师工作室{batch.year}年度劳务补贴批量代发{copy}"
    return Payout(
        batch,
        exporter,
        f"杭锦旗名师工作室{batch.year}年度劳务补贴发放表",
        described,
        rows,
        []
        if bank_title is None
        else [_payout_row(batch, x, paying[x.number], whole=True) for x in batch.lines],
        bank_title,
        f"{batch.year}年度名师工作室劳务补贴",
        notes,
    )


def _payout_row(batch: Batch, line: BatchLine, payee: Payee, *, whole: bool) -> PayoutRow:
    return PayoutRow(
        number=line.number,
        studio=line.studio,
        name=payee.name,
        id_number=payee.id_number if whole else mask_id_number(payee.id_number),
        role=line.role,
        months=len(line.months),
        grade=line.grade,
        gross=line.gross,
        tax=line.current_tax,
        net=line.sent,
        bank_name=payee.bank_name,
        bank_account=payee.bank_account if whole else mask_account(payee.bank_account),
        remark=f"批次#{batch.id}-{line.number} {line.studio}",
    )


@dataclass(frozen=True)
class EntitlementReport:
    year: int
    policy: Policy
    lines: list[EntitlementLine]

    @property
    def payable(self) -> list[EntitlementLine]:
        return [line for line in self.lines if line.held is None]

    @property
    def held(self) -> list[EntitlementLine]:
        return [line for line in self.lines if line.held is not None]

    @property
    def total(self) -> Fen:
        return sum(line.gross for line in self.payable)


def compute_entitlements(stores: Stores, year: int) -> EntitlementReport:
    """Every stipend line for ``year`` under the policy governing it."""
    registry = stores.registry
    governing = policy(stores, year)
    people = registry.people()
    lines = entitlements(
        year,
        governing,
        studios=registry.studios(),
        people=people,
        memberships=registry.memberships(),
        studio_grades=registry.studio_grades(year),
        person_grades=registry.person_grades(year),
    )
    return EntitlementReport(year, governing, lines)


def batches(stores: Stores, year: int | None = None) -> list[Batch]:
    """The batches of ``year`` (every year's when ``None``), oldest first."""
    return stores.batches.batches(year)


def draft_commitments(stores: Stores) -> dict[tuple[str, str], Fen]:
    """What draft batches would take from each (studio, source) fund, not yet posted."""
    return stores.batches.draft_commitments()
