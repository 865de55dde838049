"""Disbursement batches (劳务补贴发放): the batch aggregate — its states, its lines and
every rule about them — maker-checker, and planning.

A batch is computed from a year's entitlements. Planning is pure: which lines a
batch pays (:func:`chosen_lines`, from the entitlement lines, what was already paid
and the studios' available balances, studio by studio) and their tax
(:func:`planned_taxes`, from the payees' earlier income in the payment month, payee
by payee); :func:`plan_batch` is the two for a batch held whole, and the service
applies them a chunk at a time.

States (:data:`TRANSITIONS`, one table; every set of states is a property of
:class:`BatchState`)::

    draft ──approve──▶ approved ──pay──▶ paid ──close──▶ closed
      │                 ↺ answer (the bank answers for some lines; more files follow)
      │                    └──pay_partially──▶ partially_paid ──close──▶ closed
      ├──reject──▶ rejected
      └──cancel──▶ cancelled

A line is ``pending`` until the bank answers: ``paid``, or ``failed`` (returned by
the bank) and then ``reissued`` in a later batch or ``returned`` to the fund
(:class:`LineStatus`).

Invariants:
- a line's gross = tax + net, and its split sums to its gross;
- one payee is paid at most once per (year, studio, role);
- a studio's lines never exceed its available balance per source;
- the preparer never approves; above the policy threshold two distinct
  approvers are needed; nobody approves twice.

Stores load and save batches (:class:`Batch`); they decide nothing: which states
commit funds, count as paid or sent, and which lines are unsettled are said here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Final

from ledger.batches.entitlements import EntitlementLine
from ledger.codes import Coded, FundingSource, documented, labels
from ledger.errors import InvalidTransitionError, MakerCheckerError, ValidationError
from ledger.money import Fen, format_plain
from ledger.privacy import mask_account, mask_id_number
from ledger.registry.policy import Policy
from ledger.registry.roster import Person
from ledger.tax.withholding import MonthIncome, Payment, withhold


@documented
class BatchState(Coded):
    """A disbursement batch's state (:data:`ledger.batches.TRANSITIONS`)."""

    DRAFT = ("draft", "草稿")
    APPROVED = ("approved", "已审批")
    PAID = ("paid", "已发放")
    PARTIALLY_PAID = ("partially_paid", "部分发放")
    CLOSED = ("closed", "已关闭")
    REJECTED = ("rejected", "已驳回")
    CANCELLED = ("cancelled", "已作废")

    @property
    def active(self) -> bool:
        """Its lines count as paid or being paid (a rejected or cancelled batch's do not)."""
        return self not in (BatchState.REJECTED, BatchState.CANCELLED)

    @property
    def commits_funds(self) -> bool:
        """A draft: its first-time lines claim the funds they will take on approval."""
        return self is BatchState.DRAFT

    @property
    def sent(self) -> bool:
        """Approved or later: its money is payable and its bank file may be taken."""
        return self.active and self is not BatchState.DRAFT

    @property
    def final(self) -> bool:
        """No action leads anywhere from it."""
        return not any(state is self for state, _ in TRANSITIONS)

    def after(self, action: str) -> BatchState:
        """The state ``action`` leads to, or :class:`InvalidTransitionError`."""
        try:
            return TRANSITIONS[(self, action)]
        except KeyError:
            allowed = dict.fromkeys(_ACTION_WORDS[a] for (s, a) in TRANSITIONS if s is self)
            raise InvalidTransitionError(
                f"批次{self.label}，不能{_ACTION_WORDS.get(action, action)}"
                + (f"（当前可以：{'、'.join(allowed)}）" if allowed else "（已是最终状态）")
            ) from None


@documented
class LineStatus(Coded):
    """A batch line's payment status."""

    PENDING = ("pending", "待发放")
    PAID = ("paid", "已支付")
    FAILED = ("failed", "退回")
    REISSUED = ("reissued", "已重新发放")
    RETURNED = ("returned", "已退回资金")

    @property
    def unsettled(self) -> bool:
        """Waiting for the bank, or returned by it and neither reissued nor returned to
        the fund: a studio's cycle does not close over it."""
        return self in (LineStatus.PENDING, LineStatus.FAILED)


TRANSITIONS: Final[Mapping[tuple[BatchState, str], BatchState]] = {
    (BatchState.DRAFT, "approve"): BatchState.APPROVED,
    (BatchState.DRAFT, "reject"): BatchState.REJECTED,
    (BatchState.DRAFT, "cancel"): BatchState.CANCELLED,
    (BatchState.APPROVED, "answer"): BatchState.APPROVED,
    (BatchState.APPROVED, "pay"): BatchState.PAID,
    (BatchState.APPROVED, "pay_partially"): BatchState.PARTIALLY_PAID,
    (BatchState.PAID, "close"): BatchState.CLOSED,
    (BatchState.PARTIALLY_PAID, "close"): BatchState.CLOSED,
}
"""The one transition table: (state, action) → state."""

ACTION_LABELS: Final[Mapping[str, str]] = {
    "approve": "审批通过",
    "reject": "驳回",
    "cancel": "作废",
    "confirm": "确认支付",
    "return": "退回资金",
    "reissue": "重新发放",
    "close": "关闭",
}
"""What a person presses to take each action on a batch (the console's buttons); the
transitions' ``pay`` and ``pay_partially`` are both 确认支付."""

_ACTION_WORDS: Final = {
    **ACTION_LABELS,
    "pay": "确认支付",
    "pay_partially": "确认支付",
    "answer": "确认支付",
}

STATE_LABELS: Final = labels(BatchState)
_SOURCE_LABELS: Final = labels(FundingSource)
LINE_STATUS_LABELS: Final = labels(LineStatus)


@dataclass(frozen=True, slots=True)
class Payee:
    """Whom a line pays, as its approvers saw it: 姓名, 身份证号, 开户银行 and 银行账号.

    Recorded on every line of a batch at its first approval; the 发放表, the bank file,
    the console and the API read it from the line, never from the roster as it is
    later, so a roster change cannot redirect an approved payment."""

    name: str
    id_number: str
    bank_name: str
    bank_account: str

    @classmethod
    def of(cls, person: Person) -> Payee:
        return cls(person.name, person.id_number, person.bank_name, person.bank_account)

    def changes_in(self, now: Person) -> list[str]:
        """What the roster says differently now, in words, masked as screens show it."""
        changed = []
        if now.name != self.name:
            changed.append(f"姓名 {self.name} → {now.name}")
        if now.id_number != self.id_number:
            changed.append(
                f"身份证号 {mask_id_number(self.id_number)} → {mask_id_number(now.id_number)}"
            )
        if now.bank_name != self.bank_name:
            changed.append(f"开户银行 {self.bank_name or '—'} → {now.bank_name or '—'}")
        if now.bank_account != self.bank_account:
            changed.append(
                f"银行账号 {mask_account(self.bank_account) or '—'} → "
                f"{mask_account(now.bank_account) or '—'}"
            )
        return changed


@dataclass(frozen=True, slots=True)
class BatchLine:
    """A stored batch line: whom it pays, how much and why, and where its money is.

    Attributes:
      status: :class:`LineStatus`.
      reissue_of: the failed line it pays again (its money is payable already).
      approval_seq, approval_positions: the approval voucher and its postings that made
        this line's money payable (a return sends back just those).
      payment_seq, return_seq: the vouchers that paid it, or returned it to the fund.
      tax, net: what its approvers approved and the bank file sends: the tax planned for
        the month the batch was made in (:mod:`ledger.tax.withholding`), and the rest.
      final_tax, final_net: what the payment withheld and paid: ``tax``/``net`` (a line
        paid before the bank's amounts were kept exactly may differ).
      payee: whom it pays, recorded at the batch's first approval (``None`` before).
      refund, refund_month: tax withheld too much from the payee's income of
        ``refund_month`` (a re-settlement, :func:`ledger.tax.withholding.resettle`),
        waiting on this failed line's payable and paid to them with its reissue, which
        carries ``refund`` (and no month: the re-settlement is counted once).
    """

    id: int
    number: int
    year: int
    studio: str
    person: str
    role: str
    months: tuple[int, ...]
    grade: str
    ratio: int
    gross: Fen
    split: Mapping[str, Fen]
    tax: Fen
    net: Fen
    explanation: str
    status: LineStatus
    failure_reason: str | None = None
    reissue_of: int | None = None
    approval_seq: int | None = None
    payment_seq: int | None = None
    return_seq: int | None = None
    approval_positions: tuple[int, ...] = ()
    final_tax: Fen | None = None
    final_net: Fen | None = None
    payee: Payee | None = None
    refund: Fen = 0
    refund_month: str | None = None

    @property
    def current_tax(self) -> Fen:
        """The tax withheld once the line is paid, else the planned tax (a forecast)."""
        return self.tax if self.final_tax is None else self.final_tax

    @property
    def current_net(self) -> Fen:
        return self.gross - self.current_tax

    @property
    def sent(self) -> Fen:
        """What the bank file pays the payee for it: the net, and any tax refund it
        carries (:attr:`refund`)."""
        return self.current_net + self.refund

    def payment(self, paid_on: date) -> Payment:
        """The line as the income it was, paid on ``paid_on``: its gross, and the tax
        withheld from it (:attr:`current_tax`) — for the month's withholding."""
        return Payment(self.person, paid_on, self.gross, self.current_tax)

    @property
    def moves_on_approval(self) -> bool:
        """Its approval moves money fund → payable: a first-time line (a reissue's money
        is payable since the line it pays again was approved)."""
        return self.reissue_of is None

    # -- what each step leaves of a line; the store saves it as it is ---------------

    def frozen(self, payee: Payee) -> BatchLine:
        """Whom it pays, as approved: kept on the line from the first approval on."""
        return replace(self, payee=payee)

    def moved(self, seq: int, positions: tuple[int, ...]) -> BatchLine:
        """Its money moved fund → payable by the approval voucher ``seq`` (its postings
        at ``positions``, which a return sends back)."""
        return replace(self, approval_seq=seq, approval_positions=positions)

    def paid(self, seq: int) -> BatchLine:
        """Paid by the payment voucher ``seq``, as the bank file sent it: ``net`` to the
        payee (with its refund) and ``tax`` withheld."""
        return replace(
            self,
            status=LineStatus.PAID,
            payment_seq=seq,
            final_tax=self.tax,
            final_net=self.net,
        )

    def refunded(self, amount: Fen, month: str) -> BatchLine:
        """Carrying ``amount`` of tax withheld too much in ``month``, to be paid with its
        reissue (a failed line carries one refund)."""
        if self.refund:
            raise InvalidTransitionError(
                f"第{self.number}行已带有退还的多扣个税 {format_plain(self.refund)} 元，"
                "不能再带一笔"
            )
        return replace(self, refund=amount, refund_month=month)

    def bounced(self, reason: str) -> BatchLine:
        """Returned by the bank, for ``reason``; its money stays payable."""
        return replace(self, status=LineStatus.FAILED, failure_reason=reason)

    def reissued(self) -> BatchLine:
        """Paid again by a line of a reissue batch."""
        return replace(self, status=LineStatus.REISSUED)

    def reopened(self) -> BatchLine:
        """Waiting again: the reissue that would have paid it was rejected or cancelled."""
        return replace(self, status=LineStatus.FAILED)

    def returned(self, seq: int) -> BatchLine:
        """Its money sent back payable → fund by the reversal ``seq``."""
        return replace(self, status=LineStatus.RETURNED, return_seq=seq)


@dataclass(frozen=True, slots=True)
class Tally:
    """How many lines, and their net amount (fen)."""

    count: int = 0
    amount: Fen = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.count + other.count, self.amount + other.amount)

    def __str__(self) -> str:
        return f"{self.count} 笔 {format_plain(self.amount)} 元"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """对账: a batch's lines as the bank has answered for them, counts and net amounts.

    Every line of a batch sent to the bank is in ``sent`` and in exactly one of the
    others, so their amounts add up to ``sent``'s to the fen. A batch is reconciled
    when the bank has answered for every line and every line it returned is settled
    (reissued, or returned to the fund)."""

    sent: Tally
    succeeded: Tally
    failed: Tally
    pending: Tally
    reissued: Tally
    returned: Tally

    @property
    def reconciled(self) -> bool:
        return self.sent.count > 0 and self.pending.count == 0 and self.failed.count == 0

    def __str__(self) -> str:
        if not self.sent.count:
            return "对账：尚未发送银行"
        parts = (
            f"对账：已发送 {self.sent}；成功 {self.succeeded}，银行退回待处理 {self.failed}，"
            f"待银行答复 {self.pending}，已重新发放 {self.reissued}，已退回资金 {self.returned}"
        )
        return parts + ("；已全部对平" if self.reconciled else "；尚未对平")


LINE_STEP_FIELDS: Final = (
    "status",
    "failure_reason",
    "approval_seq",
    "approval_positions",
    "payment_seq",
    "return_seq",
    "final_tax",
    "final_net",
    "payee",
    "refund",
    "refund_month",
)
"""What a batch's steps change of a line (:class:`BatchLine`'s step methods); the rest of
a line (whom it pays, how much, why) is written once, when the batch is made."""


@dataclass(frozen=True, slots=True)
class LineTally:
    """What a batch's lines add up to, worked out a chunk of lines at a time for a batch
    too large to hold (a national batch has 900,000 lines): how many, the tax as it
    stands (:attr:`BatchLine.current_tax`), and what its bank file sends."""

    count: int = 0
    current_tax: Fen = 0
    sent: Fen = 0

    @classmethod
    def of(cls, lines: Iterable[BatchLine]) -> LineTally:
        count = tax = sent = 0
        for line in lines:
            count += 1
            tax += line.current_tax
            sent += line.sent
        return cls(count, tax, sent)

    def __add__(self, other: LineTally) -> LineTally:
        return LineTally(
            self.count + other.count,
            self.current_tax + other.current_tax,
            self.sent + other.sent,
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """A stored batch with its lines and approvers: the aggregate every batch rule
    reads (its state's sets, its lines' statuses) before a service changes it.

    A batch too large to hold is read without its lines (``lines`` empty) and carries
    their :class:`LineTally` instead (``tally``); a service works through its lines a
    chunk at a time. A rule that needs the lines themselves refuses such a batch rather
    than read an empty batch (:meth:`whole_lines`)."""

    id: int
    year: int
    state: BatchState
    policy_version: str
    prepared_by: str
    created_at: datetime
    pay_month: str
    approvals_needed: int
    gross: Fen
    tax: Fen
    lines: tuple[BatchLine, ...]
    approved_by: tuple[str, ...]
    tally: LineTally | None = None
    """``None`` when ``lines`` are all its lines; else what they add up to, unread."""

    @property
    def whole_lines(self) -> tuple[BatchLine, ...]:
        """Its lines; refused for a batch read without them."""
        if self.tally is not None:
            raise RuntimeError(f"batch #{self.id} was read without its lines")
        return self.lines

    @property
    def line_count(self) -> int:
        return len(self.lines) if self.tally is None else self.tally.count

    @property
    def net(self) -> Fen:
        return self.gross - self.tax

    @property
    def current_tax(self) -> Fen:
        """Tax of the lines as they stand: final where paid, planned elsewhere."""
        if self.tally is not None:
            return self.tally.current_tax
        return sum(line.current_tax for line in self.lines)

    @property
    def current_net(self) -> Fen:
        return self.gross - self.current_tax

    @property
    def sent(self) -> Fen:
        """What its bank file pays: every line's net and the tax refunds they carry."""
        if self.tally is not None:
            return self.tally.sent
        return sum(line.sent for line in self.lines)

    @property
    def first_day(self) -> date:
        """The first day of the month it pays in (its preparation's month)."""
        return date.fromisoformat(f"{self.pay_month}-01")

    @property
    def is_reissue(self) -> bool:
        return all(not line.moves_on_approval for line in self.whole_lines)

    @property
    def moving(self) -> list[BatchLine]:
        """The lines its approval moves fund → payable."""
        return [line for line in self.whole_lines if line.moves_on_approval]

    @property
    def failed(self) -> list[BatchLine]:
        """Lines the bank returned that are neither reissued nor returned to the fund."""
        return [line for line in self.whole_lines if line.status == LineStatus.FAILED]

    def after(self, action: str) -> BatchState:
        """The state ``action`` takes it to, or :class:`InvalidTransitionError`."""
        return self.state.after(action)

    def changed(
        self,
        state: BatchState,
        lines: Iterable[BatchLine] = (),
        approved_by: tuple[str, ...] | None = None,
    ) -> Batch:
        """The batch as a step leaves it, worked out rather than read back: in ``state``,
        with ``lines`` in place of the lines of the same id, and its approvers."""
        new = {line.id: line for line in lines}
        if new and self.tally is not None:
            raise RuntimeError(f"batch #{self.id} was read without its lines")
        return replace(
            self,
            state=state,
            lines=tuple(new.get(line.id, line) for line in self.lines),
            approved_by=self.approved_by if approved_by is None else approved_by,
        )

    @property
    def reconciliation(self) -> Reconciliation:
        """对账: the lines sent to the bank, by what became of them (nothing is sent
        before the batch is approved)."""
        if not self.state.sent:
            return Reconciliation(*[Tally()] * 6)
        by_status: dict[LineStatus, Tally] = {}
        for x in self.whole_lines:
            by_status[x.status] = by_status.get(x.status, Tally()) + Tally(1, x.sent)
        return Reconciliation(
            sent=Tally(len(self.lines), sum(x.sent for x in self.lines)),
            succeeded=by_status.get(LineStatus.PAID, Tally()),
            failed=by_status.get(LineStatus.FAILED, Tally()),
            pending=by_status.get(LineStatus.PENDING, Tally()),
            reissued=by_status.get(LineStatus.REISSUED, Tally()),
            returned=by_status.get(LineStatus.RETURNED, Tally()),
        )

    def line(self, number: int) -> BatchLine:
        return self.numbered([number])[0]

    def numbered(self, numbers: Iterable[int]) -> list[BatchLine]:
        """The lines of ``numbers``, in that order, found in one pass over the batch (a
        bank's answer names hundreds of thousands); refused at the first it does not
        have."""
        by_number = {line.number: line for line in self.whole_lines}
        found: list[BatchLine] = []
        for number in numbers:
            line = by_number.get(number)
            if line is None:
                raise ValidationError("line", f"批次 #{self.id} 没有第{number}行")
            found.append(line)
        return found


@dataclass(frozen=True, slots=True)
class BatchEvent:
    """One action on a batch: who, when, from which state to which, and why."""

    batch_id: int
    action: str
    actor: str
    at: datetime
    from_state: BatchState
    to_state: BatchState
    reason: str | None = None


def next_state(state: str, action: str) -> BatchState:
    """The state after ``action`` (:meth:`BatchState.after`)."""
    return BatchState(state).after(action)


def approvals_needed(total_gross: Fen, policy: Policy) -> int:
    """Two distinct approvers above the policy's threshold, else one."""
    return 2 if total_gross > policy.approval_threshold else 1


def check_approver(approver: str, prepared_by: str, approved_by: Iterable[str]) -> None:
    """Maker-checker: the preparer cannot approve, and nobody approves twice."""
    if approver == prepared_by:
        raise MakerCheckerError(f"{approver} 是本批次的经办人，不能审批本批次")
    if approver in set(approved_by):
        raise MakerCheckerError(f"{approver} 已审批过本批次，第二位审批人须由他人担任")


def check_not_own_pay(
    approver: str, id_number: str | None, own: str | None, lines: Iterable[tuple[int, str]]
) -> None:
    """Nobody approves their own pay: ``approver`` (whose ID number is ``id_number``, and
    who is the payee ``own`` in the registry, if they are a payee at all) may not approve
    a batch with a line — ``(number, payee)`` — paying them. An approver with no ID number
    recorded cannot be checked, so cannot approve."""
    if id_number is None:
        raise MakerCheckerError(
            f"审批人 {approver} 未登记身份证号，无法核对是否审批本人款项；请以 `users add … "
            "--id-number` 重新添加"
        )
    paying = sorted(number for number, payee in lines if payee == own)
    if paying:
        shown = "、".join(str(n) for n in paying[:10]) + ("等" if len(paying) > 10 else "")
        raise MakerCheckerError(f"本批次第 {shown} 行向审批人 {approver} 本人付款，须由他人审批")


def check_cashier(
    cashier: str, id_number: str | None, batch_id: int, approvers: Mapping[str, str | None]
) -> None:
    """审批与出纳分离: the 出纳 who records what the bank did with a batch is none of its
    ``approvers`` (name → ID number) — not by name, nor the same person under another
    account (an approver who later became the cashier). A cashier with no ID number
    recorded cannot be checked, so cannot pay."""
    if id_number is None:
        raise MakerCheckerError(
            f"出纳 {cashier} 未登记身份证号，无法核对是否为本批次审批人；请以 `users add … "
            "--id-number` 重新添加"
        )
    for name, approver_id in approvers.items():
        if name == cashier or approver_id == id_number:
            raise MakerCheckerError(
                f"出纳 {cashier} 与批次 #{batch_id} 的审批人 {name} 是同一人：出纳不得支付本人"
                "审批的批次"
            )


def paid_key(year: int, studio: str, person: str, role: str) -> str:
    """What makes a stipend unique: a payee is paid once per year, studio and role."""
    return f"{year}:{studio}:{person}:{role}"


@dataclass(frozen=True, slots=True)
class PlannedLine:
    """A batch line before it is stored.

    Attributes:
      entitlement: the entitlement line it pays (its months, grade, explanation).
      split: gross per funding source, fen.
      tax: income tax withheld, fen.
      reissue_of: the failed line this pays again, if it is a reissue.
    """

    entitlement: EntitlementLine
    split: Mapping[str, Fen]
    tax: Fen
    reissue_of: int | None = None

    @property
    def gross(self) -> Fen:
        return self.entitlement.gross

    @property
    def net(self) -> Fen:
        return self.gross - self.tax


@dataclass(frozen=True)
class BatchPlan:
    lines: list[PlannedLine]
    left_out: list[tuple[EntitlementLine, str]] = field(default_factory=list)

    @property
    def gross(self) -> Fen:
        return sum(line.gross for line in self.lines)

    @property
    def tax(self) -> Fen:
        return sum(line.tax for line in self.lines)


def plan_batch(
    lines: Sequence[EntitlementLine],
    policy: Policy,
    *,
    already_paid: Mapping[str, int],
    available: Mapping[tuple[str, str], Fen],
    month_income: Mapping[str, MonthIncome],
) -> BatchPlan:
    """The lines of a new batch, and the entitlement lines left out with why: the lines
    :func:`chosen_lines` keeps, each with the tax :func:`planned_taxes` forecasts. A batch
    too large to hold is planned the same, a chunk of studios at a time, then taxed a
    chunk of payees at a time (:func:`ledger.batches.disbursement.create`).

    ``month_income`` maps person → income already confirmed in the month the batch is
    planned to be paid in; the tax it gives is a forecast (:mod:`ledger.withholding`).
    """
    candidates, left_out = chosen_lines(lines, already_paid=already_paid, available=available)
    taxes = planned_taxes(policy, [(x.person, x.gross) for x in candidates], month_income)
    return BatchPlan(
        [PlannedLine(x, dict(x.split), tax) for x, tax in zip(candidates, taxes, strict=True)],
        left_out,
    )


def chosen_lines(
    lines: Sequence[EntitlementLine],
    *,
    already_paid: Mapping[str, int],
    available: Mapping[tuple[str, str], Fen],
) -> tuple[list[EntitlementLine], list[tuple[EntitlementLine, str]]]:
    """Of ``lines``, those a new batch pays, and those left out with why: held, already
    in a batch (``already_paid`` maps :func:`paid_key` → the batch that pays it), nothing
    to pay, or their studio's source short of what its lines need (``available`` maps
    (studio, source) → balance not yet committed). Studio by studio: the lines of one
    studio never decide another's."""
    left_out: list[tuple[EntitlementLine, str]] = []
    candidates: list[EntitlementLine] = []
    for line in lines:
        key = paid_key(line.year, line.studio, line.person, line.role)
        if line.held is not None:
            left_out.append((line, line.held))
        elif key in already_paid:
            left_out.append(
                (
                    line,
                    f"已在批次#{already_paid[key]}中发放",
                )
            )
        elif line.gross == 0:
            left_out.append((line, f"应发金额为零：{line.explanation}"))
        else:
            candidates.append(line)
    candidates, short = _within_balances(candidates, available)
    return candidates, left_out + short


def planned_taxes(
    policy: Policy, lines: Sequence[tuple[str, Fen]], month_income: Mapping[str, MonthIncome]
) -> list[Fen]:
    """The forecast tax of each (payee, gross) line if the batch is paid in the month it
    is planned in, every line of a payee taxed together on top of ``month_income``
    (:func:`ledger.tax.withholding.withhold`)."""
    return withhold(policy.withholding, lines, month_income)


def _within_balances(
    lines: list[EntitlementLine], available: Mapping[tuple[str, str], Fen]
) -> tuple[list[EntitlementLine], list[tuple[EntitlementLine, str]]]:
    """Hold every line of a studio whose lines need more than a source holds."""
    needed: dict[tuple[str, str], Fen] = {}
    for line in lines:
        for source, amount in line.split.items():
            needed[(line.studio, source)] = needed.get((line.studio, source), 0) + amount
    short = {
        studio: (source, amount, available.get((studio, source), 0))
        for (studio, source), amount in needed.items()
        if amount > available.get((studio, source), 0)
    }
    kept, held = [], []
    for line in lines:
        if line.studio in short:
            source, amount, balance = short[line.studio]
            held.append(
                (
                    line,
                    f"工作室{_SOURCE_LABELS[source]}资金不足：需 "
                    f"{format_plain(amount)} 元，可用 {format_plain(balance)} 元",
                )
            )
        else:
            kept.append(line)
    return kept, held
