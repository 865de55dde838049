"""The service's contract: one typed shape per resource, for HTTP and ``--json`` alike.

Every answer the HTTP service sends and every ``--json`` the command line prints
is one of these msgspec Structs, so the OpenAPI document describes each body and a
script reading either surface sees the same keys. Amounts are integer fen named
``*_fen``, with a formatted ``*`` string beside them where a person reads them;
coded values (grades, kinds, roles, states) are codes with a ``*_label`` in
Chinese beside them. ID numbers and bank accounts here are always masked.

Each ``*_out`` function builds one shape from the domain's records.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import msgspec

from jobs.runner import RunOutcome
from jobs.schedule import JobSchedule
from jobs.work import JOB_TITLES
from ledger.audit import AuditEntry
from ledger.batches.batch import (
    LINE_STATUS_LABELS,
    STATE_LABELS,
    Batch,
    BatchEvent,
    BatchLine,
    BatchState,
    LineStatus,
    Reconciliation,
    Tally,
)
from ledger.batches.disbursement import CreatedBatch, EntitlementReport, Outcome
from ledger.batches.entitlements import EntitlementLine
from ledger.books import book
from ledger.books.accounts import support_source, unit_source
from ledger.books.attachments import Attachment
from ledger.books.book import KeyRingView
from ledger.books.closing import Closed
from ledger.books.periods import PeriodState
from ledger.books.postings import Transaction
from ledger.books.statements import AccountBalance
from ledger.books.vouchers import VoucherSummary, VoucherView
from ledger.clock import local_time
from ledger.codes import (
    CancellationCause,
    CycleState,
    FundingSource,
    Grade,
    MemberRole,
    StudioKind,
    StudioStatus,
    UserRole,
)
from ledger.funds.appropriation import FundingDecision
from ledger.funds.fund_services import AppropriationReport
from ledger.money import format_amount, to_uppercase
from ledger.privacy import mask_account, mask_id_number
from ledger.program import SaveReport
from ledger.registry.cycle_services import OUTCOME_LABELS, CycleClosed, CycleView, Renewed
from ledger.registry.cycles import CYCLE_STATES
from ledger.registry.policy import GRADE_LABELS, NOTICE_2024, STUDIO_KINDS, Policy
from ledger.registry.roster import (
    CANCELLATION_CAUSES,
    ROLE_LABELS,
    STATUS_LABELS,
    Person,
    Studio,
    round_label,
)
from ledger.registry.roster_services import StudioRoster
from ledger.registry.units import Unit
from ledger.tax.remittance import Remittance
from ledger.users import ROLE_LABELS as USER_ROLE_LABELS
from ledger.users import UserRecord
from ledger.workbooks.imports import ImportReport
from schema.job_store import JobRun

log = logging.getLogger(__name__)


class Shape(msgspec.Struct, kw_only=True):
    """Base of every answer: keyword-only, fields in declaration order."""


def utc(recorded: datetime) -> datetime:
    """A recorded time (naive UTC, as stored) with its zone written, as RFC 3339 wants."""
    return recorded.replace(tzinfo=UTC) if recorded.tzinfo is None else recorded


def encode(value: Any) -> bytes:
    """A shape (or a list of them) as indented JSON, as ``--json`` prints it."""
    return msgspec.json.format(msgspec.json.encode(value), indent=2)


# -- registry ------------------------------------------------------------------


class StudioOut(Shape):
    code: str
    name: str
    kind: StudioKind
    kind_label: str
    host_unit: str
    round: int
    """轮次: the round it was named in."""
    round_label: str
    cycle_start_year: int
    cycle_end_year: int | None
    """The last year of its latest cycle (a renewal adds a cycle)."""
    status: StudioStatus
    status_label: str
    cancelled_on: date | None
    cancellation_cause: CancellationCause | None
    cancellation_cause_label: str | None
    cancellation_reason: str | None
    """撤销说明: what the record says of the cancellation."""
    current_people: int
    """People in its roster today (host, members and trainees)."""


class MembershipOut(Shape):
    person: str
    name: str
    role: MemberRole
    role_label: str
    joined_on: date
    left_on: date | None


class FundOut(Shape):
    """One of a studio's funds: what it holds now and what it can still pay."""

    source: FundingSource
    source_label: str
    available_fen: int
    """Its balance now less what draft batches would take on approval."""


class StudioDetail(StudioOut):
    memberships: list[MembershipOut]
    funds: list[FundOut] = msgspec.field(default_factory=list)


def _cause_label(s: Studio) -> str | None:
    """The cause of a cancellation in Chinese; 未登记 for one recorded before causes were
    coded whose reason named none."""
    if s.cancelled_on is None:
        return None
    return "未登记" if s.cancellation_cause is None else CANCELLATION_CAUSES[s.cancellation_cause]


def studio_out(s: Studio, current_people: int) -> StudioOut:
    cause = s.cancellation_cause
    return StudioOut(
        code=s.code,
        name=s.name,
        kind=StudioKind(s.kind),
        kind_label=STUDIO_KINDS[s.kind],
        host_unit=s.host_unit,
        round=s.round,
        round_label=round_label(s.round),
        cycle_start_year=s.cycle_start_year,
        cycle_end_year=s.cycle_end_year,
        status=StudioStatus(s.status),
        status_label=STATUS_LABELS[s.status],
        cancelled_on=s.cancelled_on,
        cancellation_cause=None if cause is None else CancellationCause(cause),
        cancellation_cause_label=_cause_label(s),
        cancellation_reason=s.cancellation_reason or None,
        current_people=current_people,
    )


def studio_detail(
    roster: StudioRoster, today: date, available: Mapping[tuple[str, str], int]
) -> StudioDetail:
    """A studio, its roster and its funds (``available``: by (studio, source), from
    :func:`ledger.disbursement.available_funds`)."""
    members, names = roster.memberships, roster.names
    current = sum(1 for m in members if m.active_on(today))
    code = roster.studio.code
    return StudioDetail(
        **msgspec.structs.asdict(studio_out(roster.studio, current)),
        funds=[
            FundOut(
                source=FundingSource(source),
                source_label=FundingSource(source).label,
                available_fen=fen,
            )
            for (studio, source), fen in available.items()
            if studio == code
        ],
        memberships=[
            MembershipOut(
                person=m.person,
                name=names.get(m.person, m.person),
                role=MemberRole(m.role),
                role_label=ROLE_LABELS[m.role],
                joined_on=m.joined_on,
                left_on=m.left_on,
            )
            for m in members
        ],
    )


class PersonOut(Shape):
    code: str
    name: str
    unit: str
    id_number: str
    """Masked: ``150102********1234``."""
    bank_name: str
    bank_account: str
    """Masked: the last four digits."""


class UnitOut(Shape):
    code: str
    """单位编码: what its accounts are addressed by."""
    name: str
    matching_account: str
    """Where its matching for a studio it hosts comes from (``source:unit:<code>``)."""
    support_account: str
    """Where its support for a studio of its members comes from."""


def unit_out(u: Unit) -> UnitOut:
    return UnitOut(
        code=u.code,
        name=u.name,
        matching_account=unit_source(u.code),
        support_account=support_source(u.code),
    )


def person_out(p: Person) -> PersonOut:
    return PersonOut(
        code=p.code,
        name=p.name,
        unit=p.unit,
        id_number=mask_id_number(p.id_number),
        bank_name=p.bank_name,
        bank_account=mask_account(p.bank_account),
    )


class RosterWarning(Shape):
    studio: str
    rule: str
    message: str


class SavedOut(Shape):
    """What a save changed (0 when every record was already as given) and its warnings."""

    changed: int
    warnings: list[RosterWarning] = []


def saved_out(report: SaveReport) -> SavedOut:
    return SavedOut(
        changed=report.changed,
        warnings=[
            RosterWarning(studio=w.studio, rule=w.rule, message=w.message) for w in report.warnings
        ],
    )


class ImportOut(Shape):
    kind: str
    rows: int
    changed: int
    warnings: list[str]


def import_out(report: ImportReport) -> ImportOut:
    return ImportOut(
        kind=report.kind, rows=report.rows, changed=report.changed, warnings=report.warnings
    )


class PolicyDoc(Shape, forbid_unknown_fields=True):
    """A year's funding policy; amounts in fen, shares and ratios in percent."""

    version: str
    year: int
    annual_budget: int
    source_shares: dict[str, int]
    host_stipend: int
    member_stipend: int
    grade_ratios: dict[str, int]
    proration_day: int
    max_paid_members: int
    min_external_members: int
    max_trainees: int
    matching_minimum: int
    quotas: dict[str, int]
    cycle_years: int
    host_forfeits_on_cancellation: bool
    withholding: str
    approval_threshold: int
    funding_ratios: dict[str, int] = msgspec.field(
        default_factory=lambda: dict(NOTICE_2024.funding_ratios)
    )
    """考核发放: grade of year Y → percent of year Y+1's appropriation."""
    renewal_grades: list[str] = msgspec.field(
        default_factory=lambda: list(NOTICE_2024.renewal_grades)
    )
    """Final grades with which a studio may be renamed for a new cycle."""
    travel_included: bool = True
    """含差旅费: a paid member's travel is in their stipend, not claimed as an expense."""


def policy_out(p: Policy) -> PolicyDoc:
    return msgspec.convert(p.to_json(), PolicyDoc)


class UserOut(Shape):
    name: str
    role: str
    role_label: str
    disabled: bool
    created_at: datetime
    token_issued_at: datetime | None = None
    """When the current API token was issued; it expires a set time after."""
    token_last_used_at: datetime | None = None
    """When the token last let a request in (to the minute); null if never."""
    created_by: str | None = None
    """The admin who added the user; null for the operator who set up."""
    awaiting_confirmation: bool = False
    """An approver or admin waiting for a second admin to confirm them."""
    confirmed_by: str | None = None
    id_number: str | None = None
    """The person the user is (身份证号), masked; an approver has one."""


def user_out(u: UserRecord) -> UserOut:
    return UserOut(
        name=u.name,
        role=u.role,
        role_label=USER_ROLE_LABELS[u.role],
        disabled=u.disabled,
        created_at=utc(u.created_at),
        token_issued_at=None if u.token_issued_at is None else utc(u.token_issued_at),
        token_last_used_at=None if u.token_last_used_at is None else utc(u.token_last_used_at),
        created_by=u.created_by,
        awaiting_confirmation=u.awaiting_confirmation,
        confirmed_by=u.confirmed_by,
        id_number=None if u.id_number is None else mask_id_number(u.id_number),
    )


class TokenOut(Shape):
    """A user's new API token: shown this once, stored only as its hash."""

    name: str
    role: str
    token: str
    """The token, in the first answer only; empty when the same ``Idempotency-Key`` is
    replayed (no plaintext token is ever stored: ask for a new one if it was lost)."""


# -- the books -------------------------------------------------------------------


class BalanceOut(Shape):
    """``balance_fen`` is the raw ledger balance (inflows − outflows); ``direction`` and
    ``amount_fen`` read it as the books do (借或贷, 余额)."""

    address: str
    code: str
    name: str
    normal_side: str
    as_of: date | None
    balance_fen: int
    direction: str
    amount_fen: int
    balance: str


def balance_out(b: AccountBalance, as_of: date | None) -> BalanceOut:
    return BalanceOut(
        address=b.address,
        code=b.account.code,
        name=b.account.name,
        normal_side=b.account.side,
        as_of=as_of,
        balance_fen=b.balance,
        direction=b.direction,
        amount_fen=b.amount,
        balance=format_amount(b.amount),
    )


class PostingOut(Shape):
    source: str
    destination: str
    amount_fen: int
    amount: str
    memo: str
    reverses_position: int | None


class TransactionOut(Shape):
    seq: int
    voucher: str
    effective_date: date
    recorded_at: datetime
    memo: str
    reverses: int | None
    metadata: dict[str, Any]
    hash: str
    postings: list[PostingOut]


def transaction_out(t: Transaction) -> TransactionOut:
    return TransactionOut(
        seq=t.seq,
        voucher=str(t.voucher),
        effective_date=t.request.effective_date,
        recorded_at=utc(t.recorded_at),
        memo=t.request.memo,
        reverses=t.request.reverses,
        metadata=dict(t.request.metadata),
        hash=t.hash,
        postings=[
            PostingOut(
                source=p.source,
                destination=p.destination,
                amount_fen=p.amount,
                amount=format_amount(p.amount),
                memo=p.memo,
                reverses_position=p.reverses,
            )
            for p in t.postings
        ],
    )


class VoucherSummaryOut(Shape):
    number: str
    """凭证号: 记-2024-03-0002, numbered per month."""
    seq: int
    date: date
    memo: str
    total_fen: int
    """合计: the 借方 total, equal to the 贷方 total."""
    total: str
    postings: int
    reverses: str | None
    """The voucher it reverses (红字冲销), if it is a reversal."""


def voucher_summary_out(v: VoucherSummary) -> VoucherSummaryOut:
    return VoucherSummaryOut(
        number=str(v.number),
        seq=v.seq,
        date=v.on,
        memo=v.memo,
        total_fen=v.total,
        total=format_amount(v.total),
        postings=v.postings,
        reverses=v.reverses,
    )


class VoucherLineOut(Shape):
    memo: str
    code: str
    """科目编码."""
    title: str
    """科目名称."""
    item: str
    """辅助核算: 工作室, 人员 or 收支项目, or empty."""
    debit_fen: int
    credit_fen: int


class VoucherOut(Shape):
    """A 记账凭证: its lines (each account once per side, 借 before 贷) and 合计."""

    number: str
    seq: int
    date: date
    memo: str
    reverses: str | None
    lines: list[VoucherLineOut]
    total_fen: int
    total: str
    total_uppercase: str
    """合计 in 人民币大写."""
    maker: str
    """制单: a batch's preparer, else who recorded it ('' where the ledger does not know)."""
    checkers: list[str]
    """审核: a batch's approvers."""
    bookkeeper: str
    """记账: who recorded it."""
    cashier: str
    """出纳: who recorded a payment out of the bank."""
    attachments: int
    """附单据: how many originals are attached."""


class AttachmentOut(Shape):
    """An original attached to a voucher (its bytes: ``GET /attachments/{id}``)."""

    id: int
    voucher: str
    filename: str
    kind: str
    """What its bytes are: PDF, OFD, JPEG, PNG, xlsx (or CSV, the bank's answer)."""
    media_type: str
    size: int
    sha256: str
    note: str
    origin: str
    """'' for an upload; for a file the ledger made or received, what it is."""
    added_by: str
    added_at: datetime
    """When it was attached (UTC)."""


def attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        voucher=str(a.voucher),
        filename=a.filename,
        kind=a.kind,
        media_type=a.media_type,
        size=a.size,
        sha256=a.sha256,
        note=a.note,
        origin=a.origin,
        added_by=a.added_by,
        added_at=utc(a.added_at),
    )


def voucher_out(v: VoucherView) -> VoucherOut:
    return VoucherOut(
        number=str(v.number),
        seq=v.seq,
        date=v.on,
        memo=v.memo,
        reverses=v.reverses,
        lines=[
            VoucherLineOut(
                memo=x.memo,
                code=x.code,
                title=x.title,
                item=x.item,
                debit_fen=x.debit,
                credit_fen=x.credit,
            )
            for x in v.lines
        ],
        total_fen=v.total,
        total=format_amount(v.total),
        total_uppercase=to_uppercase(v.total),
        maker=v.signers.maker,
        checkers=list(v.signers.checkers),
        bookkeeper=v.signers.bookkeeper,
        cashier=v.signers.cashier,
        attachments=v.attachments,
    )


class RecordedOut(Shape):
    """Receipts or expenses posted: ``changed`` new transactions (a repeat posts none)."""

    changed: int
    transactions: list[TransactionOut]


def recorded_out(posted: Sequence[Transaction], before: int) -> RecordedOut:
    return RecordedOut(
        changed=sum(1 for t in posted if t.seq > before),
        transactions=[transaction_out(t) for t in posted],
    )


class BrokenLinkOut(Shape):
    seq: int
    voucher: str
    reason: str


class MismatchOut(Shape):
    address: str
    kept_fen: int
    derived_fen: int


class VerifyOut(Shape):
    """The hash chain and the kept balances checked; ``ok`` when nothing is wrong."""

    ok: bool
    transactions: int
    last_hash: str
    broken_link: BrokenLinkOut | None
    balance_mismatches: list[MismatchOut]
    guard_violations: list[str]
    anchor: str | None = None
    """``SEQ:HASH`` of the last transaction: keep it to check the ledger later."""
    head_mismatch: str | None = None
    anchor_failures: list[str] = msgspec.field(default_factory=list)
    key_problem: str | None = None
    """Why the chain key could not check the chain: missing, unreadable, or written for a
    longer ledger (a truncation or an older copy)."""
    keyed_from: int | None = None
    """The first transaction sealed with a chain key (HMAC-SHA-256); earlier ones are
    plain SHA-256."""
    negative_days: list[str] = msgspec.field(default_factory=list)
    """``NEG:`` the first day each guarded account closed below zero, in words."""
    early_vouchers: list[str] = msgspec.field(default_factory=list)
    """``DATE:`` each voucher dated after the day it was recorded (Beijing), in words."""
    missing_guards: list[str] = msgspec.field(default_factory=list)
    """``GUARD:`` each trigger or constraint the books rely on that is gone or disabled."""
    attachment_problems: list[str] = msgspec.field(default_factory=list)
    """``ATT:`` each original whose bytes changed or went missing, or whose record no
    longer matches its seal, in words."""


KEY_TROUBLE: Final = "账链密钥不可用或与账簿不符，账簿不能写入；请联系管理员，原因记在服务器日志中"


def key_trouble_for(role: str | None, words: str) -> str:
    """What a reader is told of the chain key's trouble: ``words`` name the key file and
    where it is looked for, the operator's business — an admin reads them (and the
    command line, which is the operator's); anyone else is told to ask one, and the
    server log keeps them."""
    if role == UserRole.ADMIN:
        return words
    log.warning("chain key: %s", words)
    return KEY_TROUBLE


def verify_out(report: book.VerifyReport, role: str | None) -> VerifyOut:
    """``report`` for a reader of ``role`` (an admin, or the operator at the command
    line, reads the chain key's trouble whole)."""
    link = report.broken_link
    return VerifyOut(
        ok=report.ok,
        transactions=report.transactions,
        last_hash=report.last_hash,
        anchor=None if report.anchor is None else str(report.anchor),
        head_mismatch=report.head_mismatch,
        anchor_failures=list(report.anchor_failures),
        key_problem=None
        if report.key_problem is None
        else key_trouble_for(role, report.key_problem),
        keyed_from=report.keyed_from,
        broken_link=None
        if link is None
        else BrokenLinkOut(seq=link.seq, voucher=str(link.voucher), reason=link.reason),
        balance_mismatches=[
            MismatchOut(address=m.address, kept_fen=m.kept, derived_fen=m.derived)
            for m in report.mismatches
        ],
        guard_violations=list(report.guard_violations),
        negative_days=[str(n) for n in report.negative_days],
        early_vouchers=[str(v) for v in report.early_vouchers],
        missing_guards=list(report.missing_guards),
        attachment_problems=list(report.attachment_problems),
    )


class ChainKeyOut(Shape):
    """One chain key, by the sequence number it seals from and a printable id (never the
    key itself)."""

    from_seq: int
    key_id: str
    current: bool


class ChainKeysOut(Shape):
    """Where the chain key ring is kept, its keys, and where the chain ends."""

    source: str
    keyed_from: int
    chain_end: int
    keys: list[ChainKeyOut]


def chain_keys_out(view: KeyRingView) -> ChainKeysOut:
    ring = view.ring
    return ChainKeysOut(
        source=view.source,
        keyed_from=ring.keyed_from,
        chain_end=view.chain_end,
        keys=[
            ChainKeyOut(from_seq=k.from_seq, key_id=k.id, current=k is ring.current)
            for k in ring.keys
        ],
    )


class PeriodOut(Shape):
    """A month of the books: open or closed, by whom and when (Beijing time)."""

    period: str
    state: str
    label: str
    year_end: bool
    last_voucher: int
    closed_by: str | None
    closed_at: datetime | None


def period_out(state: PeriodState) -> PeriodOut:
    closing = state.closing
    return PeriodOut(
        period=str(state.period),
        state="closed" if state.closed else "open",
        label=state.label,
        year_end=state.year_end,
        last_voucher=state.last_voucher,
        closed_by=closing.by if closing else None,
        closed_at=local_time(closing.at) if closing else None,
    )


class ClosedOut(Shape):
    """What a close did, with the ledger's head at that moment (the anchor)."""

    period: str
    changed: bool
    message: str
    first_closed: str | None
    head_seq: int
    head_hash: str


def closed_out(closed: Closed) -> ClosedOut:
    return ClosedOut(
        period=str(closed.through),
        changed=closed.changed,
        message=closed.message,
        first_closed=str(closed.first) if closed.first else None,
        head_seq=closed.head.seq,
        head_hash=closed.head.hash,
    )


class HeldStudioOut(Shape):
    studio: str
    reason: str


class FundedStudioOut(Shape):
    studio: str
    percent: int
    """Share of the year's budget (考核发放)."""
    basis: str
    """Why that share, in Chinese."""
    amount_fen: int
    voucher: str


class AppropriationOut(Shape):
    year: int
    policy_version: str
    funded: list[str]
    already: list[str]
    total_fen: int
    total: str
    held: list[HeldStudioOut] = []
    """Studios held back this run and why (a missing or 不合格 grade of the year before)."""
    vouchers: list[FundedStudioOut] = []


def appropriation_out(r: AppropriationReport) -> AppropriationOut:
    funded = [str(t.request.metadata["studio"]) for t in r.posted]
    return AppropriationOut(
        year=r.year,
        policy_version=r.policy_version,
        funded=funded,
        already=r.already,
        total_fen=r.total,
        total=format_amount(r.total),
        held=[HeldStudioOut(studio=code, reason=why) for code, why in r.held],
        vouchers=[
            FundedStudioOut(
                studio=code,
                percent=r.shares[code].percent,
                basis=r.shares[code].basis,
                amount_fen=sum(p.amount for p in t.postings),
                voucher=str(t.voucher),
            )
            for code, t in zip(funded, r.posted, strict=True)
        ],
    )


class FundingDecisionOut(Shape):
    """A 领导小组 decision restoring a held studio's funding, and what it funded at once."""

    studio: str
    year: int
    percent: int
    reason: str
    decided_by: str
    decided_at: datetime
    appropriation: AppropriationOut | None = None


def funding_decision_out(
    d: FundingDecision, funded: AppropriationReport | None = None
) -> FundingDecisionOut:
    return FundingDecisionOut(
        studio=d.studio,
        year=d.year,
        percent=d.percent,
        reason=d.reason,
        decided_by=d.decided_by,
        decided_at=utc(d.decided_at),
        appropriation=None if funded is None else appropriation_out(funded),
    )


class CycleOut(Shape):
    """One of a studio's cycles: its years, where it stands, its close and its outcome."""

    studio: str
    studio_name: str
    round: int
    number: int
    label: str
    first_year: int
    last_year: int
    state: CycleState
    state_label: str
    final_grade: Grade | None
    """终结性考核: the grade of the cycle's last year, once recorded."""
    final_grade_label: str | None
    closed_on: date | None
    closed_by: str | None
    voucher: str | None
    """The close's 凭证号, when money went back."""
    returned_fen: dict[str, int]
    """Fen returned per pool (finance, edu_fund, matching, support) at the close."""
    returned_total_fen: int
    returned_total: str
    outcome: str
    """renewed, not_renamed, may_renew, awaiting_grade, cancelled; empty while open."""
    outcome_label: str


def cycle_out(v: CycleView) -> CycleOut:
    c = v.cycle
    total = sum(c.returned.values())
    return CycleOut(
        studio=c.studio,
        studio_name=v.studio.name,
        round=v.studio.round,
        number=c.number,
        label=c.label,
        first_year=c.first_year,
        last_year=c.last_year,
        state=CycleState(v.state),
        state_label=CYCLE_STATES[v.state],
        final_grade=None if v.final_grade is None else Grade(v.final_grade),
        final_grade_label=None if v.final_grade is None else GRADE_LABELS[v.final_grade],
        closed_on=c.closed_on,
        closed_by=c.closed_by,
        voucher=v.voucher,
        returned_fen=dict(c.returned),
        returned_total_fen=total,
        returned_total=format_amount(total),
        outcome=v.outcome,
        outcome_label=OUTCOME_LABELS[v.outcome],
    )


class CycleClosedOut(Shape):
    """A cycle's close (终结): its voucher and what went back where."""

    studio: str
    number: int
    label: str
    closed_on: date
    voucher: str | None
    returned_fen: dict[str, int]
    returned_total_fen: int
    returned_total: str
    not_renamed: bool
    """The final grade did not allow renewal: the studio is not renamed (不再命名)."""


def cycle_closed_out(c: CycleClosed) -> CycleClosedOut:
    return CycleClosedOut(
        studio=c.studio.code,
        number=c.cycle.number,
        label=c.cycle.label,
        closed_on=c.cycle.closed_on or date.min,
        voucher=None if c.voucher is None else str(c.voucher.voucher),
        returned_fen=dict(c.cycle.returned),
        returned_total_fen=c.returned,
        returned_total=format_amount(c.returned),
        not_renamed=c.not_renamed,
    )


class RenewedOut(Shape):
    """A renewal (继续命名): the new cycle and its first year's appropriation if it was due."""

    studio: str
    number: int
    label: str
    first_year: int
    last_year: int
    appropriation: AppropriationOut | None


def renewed_out(r: Renewed) -> RenewedOut:
    return RenewedOut(
        studio=r.studio.code,
        number=r.cycle.number,
        label=r.cycle.label,
        first_year=r.cycle.first_year,
        last_year=r.cycle.last_year,
        appropriation=None if r.appropriation is None else appropriation_out(r.appropriation),
    )


class EntitlementOut(Shape):
    studio: str
    person: str
    name: str
    role: MemberRole
    role_label: str
    months: list[int]
    grade: Grade | None
    grade_label: str | None
    ratio: int
    gross_fen: int
    split_fen: dict[str, int]
    explanation: str
    held: str | None


class EntitlementsOut(Shape):
    year: int
    policy_version: str
    total_fen: int
    total: str
    lines: list[EntitlementOut]


def _entitlement(x: EntitlementLine) -> EntitlementOut:
    return EntitlementOut(
        studio=x.studio,
        person=x.person,
        name=x.name,
        role=MemberRole(x.role),
        role_label=ROLE_LABELS[x.role],
        months=list(x.months),
        grade=Grade(x.grade) if x.grade else None,
        grade_label=GRADE_LABELS[x.grade] if x.grade else None,
        ratio=x.ratio,
        gross_fen=x.gross,
        split_fen=dict(x.split),
        explanation=x.explanation,
        held=x.held,
    )


def entitlements_out(report: EntitlementReport) -> EntitlementsOut:
    return EntitlementsOut(
        year=report.year,
        policy_version=report.policy.version,
        total_fen=report.total,
        total=format_amount(report.total),
        lines=[_entitlement(x) for x in report.lines],
    )


# -- batches -----------------------------------------------------------------------


class BatchSummary(Shape):
    """A batch: ``tax_fen``/``net_fen`` as planned when it was made; ``current_*`` with
    the final figures of the lines paid so far."""

    id: int
    year: int
    state: BatchState
    state_label: str
    policy_version: str
    prepared_by: str
    approved_by: list[str]
    approvals_needed: int
    pay_month: str
    lines_count: int
    gross_fen: int
    tax_fen: int
    net_fen: int
    current_tax_fen: int
    current_net_fen: int
    gross: str
    net: str


class BatchLineOut(Shape):
    """A payee's line; ``final_*`` are null until it is paid."""

    number: int
    studio: str
    person: str
    name: str
    role: MemberRole
    role_label: str
    months: list[int]
    grade: Grade
    grade_label: str
    ratio: int
    gross_fen: int
    split_fen: dict[str, int]
    tax_fen: int
    net_fen: int
    final_tax_fen: int | None
    final_net_fen: int | None
    refund_fen: int
    """Tax withheld too much from the payee that this line pays back to them (a
    re-settlement after a bank failure), on top of its net."""
    sent_fen: int
    """What the bank file pays the payee for this line: its net and its refund."""
    status: LineStatus
    status_label: str
    failure_reason: str | None
    reissue_of: int | None
    explanation: str
    roster_change: str | None = None
    """Set on an approved line not yet settled whose payee the roster now describes
    differently: the line still pays whom it was approved for."""


class TallyOut(Shape):
    count: int
    amount_fen: int


class ReconciliationOut(Shape):
    """对账: the lines sent to the bank by what became of them; the amounts of the five
    outcomes add up to ``sent``'s to the fen."""

    sent: TallyOut
    succeeded: TallyOut
    failed: TallyOut
    pending: TallyOut
    reissued: TallyOut
    returned: TallyOut
    reconciled: bool
    text: str


def reconciliation_out(r: Reconciliation) -> ReconciliationOut:
    def tally(t: Tally) -> TallyOut:
        return TallyOut(count=t.count, amount_fen=t.amount)

    return ReconciliationOut(
        sent=tally(r.sent),
        succeeded=tally(r.succeeded),
        failed=tally(r.failed),
        pending=tally(r.pending),
        reissued=tally(r.reissued),
        returned=tally(r.returned),
        reconciled=r.reconciled,
        text=str(r),
    )


class BatchOut(BatchSummary):
    lines: list[BatchLineOut]
    reconciliation: ReconciliationOut


class BatchEventOut(Shape):
    action: str
    actor: str
    at: datetime
    from_state: str
    to_state: str
    reason: str | None


class BatchHistory(BatchOut):
    events: list[BatchEventOut]


class LeftOutLine(Shape):
    studio: str
    person: str
    name: str
    role: MemberRole
    role_label: str
    reason: str


class CreatedBatchOut(BatchOut):
    """A new draft batch, and the entitlement lines left out of it with the reason."""

    left_out: list[LeftOutLine]


class OutcomeOut(Shape):
    """What a batch action did (``changed`` false when it was already done) and the batch."""

    message: str
    changed: bool
    batch: BatchOut


def batch_summary(b: Batch) -> BatchSummary:
    return BatchSummary(
        id=b.id,
        year=b.year,
        state=BatchState(b.state),
        state_label=STATE_LABELS[b.state],
        policy_version=b.policy_version,
        prepared_by=b.prepared_by,
        approved_by=list(b.approved_by),
        approvals_needed=b.approvals_needed,
        pay_month=b.pay_month,
        lines_count=b.line_count,
        gross_fen=b.gross,
        tax_fen=b.tax,
        net_fen=b.net,
        current_tax_fen=b.current_tax,
        current_net_fen=b.current_net,
        gross=format_amount(b.gross),
        net=format_amount(b.net),
    )


def _line(x: BatchLine, names: Mapping[str, str], change: str | None = None) -> BatchLineOut:
    return BatchLineOut(
        number=x.number,
        studio=x.studio,
        person=x.person,
        name=names.get(x.person, x.person),
        role=MemberRole(x.role),
        role_label=ROLE_LABELS[x.role],
        months=list(x.months),
        grade=Grade(x.grade),
        grade_label=GRADE_LABELS[x.grade],
        ratio=x.ratio,
        gross_fen=x.gross,
        split_fen=dict(x.split),
        tax_fen=x.tax,
        net_fen=x.net,
        final_tax_fen=x.final_tax,
        final_net_fen=x.final_net,
        refund_fen=x.refund,
        sent_fen=x.sent,
        status=LineStatus(x.status),
        status_label=LINE_STATUS_LABELS[x.status],
        failure_reason=x.failure_reason,
        reissue_of=x.reissue_of,
        explanation=x.explanation,
        roster_change=change,
    )


def batch_out(
    b: Batch, names: Mapping[str, str], changes: Mapping[int, str] | None = None
) -> BatchOut:
    changed = changes or {}
    return BatchOut(
        **msgspec.structs.asdict(batch_summary(b)),
        lines=[_line(x, names, changed.get(x.number)) for x in b.lines],
        reconciliation=reconciliation_out(b.reconciliation),
    )


def batch_history(
    b: Batch,
    events: Sequence[BatchEvent],
    names: Mapping[str, str],
    changes: Mapping[int, str] | None = None,
) -> BatchHistory:
    """A batch with its history; ``changes`` warns of roster changes on its lines."""
    return BatchHistory(
        **msgspec.structs.asdict(batch_out(b, names, changes)),
        events=[
            BatchEventOut(
                action=e.action,
                actor=e.actor,
                at=utc(e.at),
                from_state=e.from_state,
                to_state=e.to_state,
                reason=e.reason,
            )
            for e in events
        ],
    )


def created_batch_out(created: CreatedBatch, names: Mapping[str, str]) -> CreatedBatchOut:
    return CreatedBatchOut(
        **msgspec.structs.asdict(batch_out(created.batch, names)), left_out=left_out_lines(created)
    )


def left_out_lines(created: CreatedBatch) -> list[LeftOutLine]:
    """The entitlement lines a new batch left out, each with why."""
    return [
        LeftOutLine(
            studio=x.studio,
            person=x.person,
            name=x.name,
            role=MemberRole(x.role),
            role_label=ROLE_LABELS[x.role],
            reason=reason,
        )
        for x, reason in created.left_out
    ]


def outcome_out(o: Outcome, names: Mapping[str, str]) -> OutcomeOut:
    return OutcomeOut(message=o.message, changed=o.changed, batch=batch_out(o.batch, names))


class RemittanceOut(Shape):
    """缴纳: a month's declared tax paid over, by which voucher."""

    month: str
    amount_fen: int
    amount: str
    people: int
    voucher: str


def remittance_out(r: Remittance) -> RemittanceOut:
    return RemittanceOut(
        month=str(r.month),
        amount_fen=r.amount,
        amount=format_amount(r.amount),
        people=r.people,
        voucher=r.voucher,
    )


# -- jobs and the audit log ------------------------------------------------------------


class JobRunOut(Shape):
    id: int
    job: str
    period: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None
    """The first line of the error, when the run failed."""


def job_run_out(r: JobRun) -> JobRunOut:
    return JobRunOut(
        id=r.id,
        job=r.job,
        period=r.period,
        trigger=r.trigger,
        status=r.status,
        started_at=utc(r.started_at),
        finished_at=utc(r.finished_at) if r.finished_at else None,
        counts=r.counts,
        error=r.error.splitlines()[0] if r.error else None,
    )


class JobOut(Shape):
    """A scheduled job: what it does, when it runs (Asia/Shanghai), its last run."""

    job: str
    description: str
    schedule: str
    cron: dict[str, str]
    time_zone: str
    next_run: datetime | None
    last_run: JobRunOut | None


def job_out(s: JobSchedule, time_zone: str, last: JobRun | None) -> JobOut:
    return JobOut(
        job=s.job,
        description=JOB_TITLES.get(s.job, s.job),
        schedule=s.when,
        cron={k: str(v) for k, v in s.cron.items()},
        time_zone=time_zone,
        next_run=s.next_run,
        last_run=job_run_out(last) if last else None,
    )


class JobOutcomeOut(Shape):
    """What running a job did: ``succeeded``, ``failed``, or ``already`` (with the id of
    the run that did it)."""

    job: str
    period: str
    status: str
    run: int
    counts: dict[str, Any]
    message: str


def outcome_of_job(o: RunOutcome) -> JobOutcomeOut:
    return JobOutcomeOut(
        job=o.job,
        period=o.period,
        status=o.status,
        run=o.run_id,
        counts=o.counts,
        message=o.message,
    )


class AuditEntryOut(Shape):
    id: int
    at: datetime
    actor: str
    action: str
    object: str
    request_id: str
    detail: dict[str, Any]


def audit_entry_out(e: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=e.id,
        at=utc(e.at),
        actor=e.actor,
        action=e.action,
        object=e.object,
        request_id=e.request_id,
        detail=e.detail,
    )
