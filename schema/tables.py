"""The database tables, with the ledger's invariants repeated as constraints.

The domain enforces these rules in code; the database enforces them again so
that they hold for data that never passed through the code:
- posting amounts are positive and a posting moves between two accounts;
- an idempotency key and a (year, month, voucher number) are unique;
- a posting is reversed at most once (unique original seq and position);
- a guarded account's kept balance is never below zero;
- postings and transactions are never updated or deleted (triggers, created by
  the migrations);
- there is exactly one chain head row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.registry.roster import (
    CANCELLATION_CAUSES,
    MAX_BANK_ACCOUNT,
    MAX_BANK_NAME,
    MAX_NAME,
    MAX_PHONE,
    MAX_REASON,
    MAX_UNIT,
)

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AccountRow(Base):
    """An account and its kept balance (updated with every posting that touches it)."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance >= 0 OR may_go_negative", name="overdraft_guard"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    may_go_negative: Mapped[bool]
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))


class ChainHeadRow(Base):
    """The single row every writer locks: last sequence number and hash."""

    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(12))
    """The id of the chain key that sealed the last transaction (none if plain SHA-256,
    or written before migration 0019)."""
    attachments_last_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    attachments_last_hash: Mapped[str] = mapped_column(String(64), server_default="0" * 64)
    """The originals' chain head (:mod:`ledger.books.attachments`): their last record."""


class VoucherCounterRow(Base):
    """The last voucher number used in a month; numbers continue without gaps."""

    __tablename__ = "voucher_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer)


class TransactionRow(Base):
    """A recorded transaction, chained to the previous one by hash.

    Its voucher's year and month are those of its effective date; ``layout`` is the
    canonical layout it was hashed in (:data:`ledger.postings.LAYOUT`).
    """

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("voucher_year", "voucher_month", "voucher_number"),
        CheckConstraint("voucher_number > 0", name="voucher_positive"),
        CheckConstraint("voucher_month BETWEEN 1 AND 12", name="voucher_month"),
        CheckConstraint("layout IN (1, 2)", name="layout"),
        CheckConstraint("seq > 0", name="seq_positive"),
        Index("ix_transactions_effective_date", "effective_date"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    voucher_year: Mapped[int] = mapped_column(Integer)
    voucher_month: Mapped[int] = mapped_column(SmallInteger)
    voucher_number: Mapped[int] = mapped_column(Integer)
    effective_date: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    memo: Mapped[str] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reverses_seq: Mapped[int | None] = mapped_column(ForeignKey("transactions.seq"), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    layout: Mapped[int] = mapped_column(SmallInteger)
    recorded_by: Mapped[str | None] = mapped_column(String(50))


class AttachmentContentRow(Base):
    """An original's bytes, kept once by their SHA-256 (content-addressed)."""

    __tablename__ = "attachment_contents"
    __table_args__ = (CheckConstraint("size >= 0", name="size"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AttachmentRow(Base):
    """An original attached to a voucher: an append-only record chained by hash
    (:mod:`ledger.books.attachments`)."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("id > 0", name="id_positive"),
        Index("ix_attachments_origin", "origin"),
        # a file the ledger makes or receives goes with a voucher once
        Index(
            "uq_attachments_own",
            "transaction_seq",
            "origin",
            unique=True,
            sqlite_where=text("origin <> ''"),
            postgresql_where=text("origin <> ''"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transaction_seq: Mapped[int] = mapped_column(ForeignKey("transactions.seq"), index=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("attachment_contents.sha256"))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(String(50))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(12))


class PostingRow(Base):
    """One movement: ``amount`` fen from the source account to the destination account.

    A reversal's posting names the original posting it sends back
    (``reverses_seq``, ``reverses_position``); the pair is unique, so the database
    itself refuses to send a posting back twice.
    """

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("source_account_id <> destination_account_id", name="two_accounts"),
        CheckConstraint(
            "(reverses_seq IS NULL) = (reverses_position IS NULL)", name="reverses_whole"
        ),
        UniqueConstraint("transaction_seq", "position"),
        UniqueConstraint("reverses_seq", "reverses_position"),
        ForeignKeyConstraint(
            ["reverses_seq", "reverses_position"],
            ["postings.transaction_seq", "postings.position"],
        ),
        Index("ix_postings_source", "source_account_id", "transaction_seq"),
        Index("ix_postings_destination", "destination_account_id", "transaction_seq"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    transaction_seq: Mapped[int] = mapped_column(ForeignKey("transactions.seq"))
    position: Mapped[int] = mapped_column(Integer)
    source_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    destination_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    memo: Mapped[str] = mapped_column(String(200))
    reverses_seq: Mapped[int | None] = mapped_column(BigInteger)
    reverses_position: Mapped[int | None] = mapped_column(Integer)


class DailyBalanceRow(Base):
    """An account's day (:mod:`ledger.daily_balances`): the net its postings moved on an
    effective date and its balance at that day's end, kept with every posting so that
    a balance as of a date is one look-up."""

    __tablename__ = "daily_balances"

    account_id: Mapped[int] = mapped_column(
        Id, ForeignKey("accounts.id"), primary_key=True, autoincrement=False
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    moved: Mapped[int] = mapped_column(BigInteger)
    closing: Mapped[int] = mapped_column(BigInteger)


class PeriodClosingRow(Base):
    """A close of the books (结账) through a month's last day, by whom and when.

    Append-only (a closed period is never reopened). The migrations add a trigger
    that refuses any transaction dated on or before the latest ``closed_through``.
    """

    __tablename__ = "period_closings"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    closed_through: Mapped[date] = mapped_column(Date, unique=True)
    closed_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))


class PolicyRow(Base):
    """A stored policy version (SPEC §1). Never updated: a new year's policy is a new row."""

    __tablename__ = "policies"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    created_by: Mapped[str] = mapped_column(String(100))


_CAUSES = ", ".join(f"'{cause}'" for cause in CANCELLATION_CAUSES)


class StudioRow(Base):
    """A studio (工作室)."""

    __tablename__ = "studios"
    __table_args__ = (
        CheckConstraint("kind IN ('principal', 'homeroom', 'subject')", name="kind"),
        CheckConstraint(
            "cancelled_on IS NOT NULL OR (cancellation_reason IS NULL AND "
            "cancellation_cause IS NULL)",
            name="cancellation",
        ),
        CheckConstraint(f"cancellation_cause IN ({_CAUSES})", name="cancellation_cause"),
        CheckConstraint("round >= 1", name="round"),
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_UNIT))
    kind: Mapped[str] = mapped_column(String(20))
    host_unit: Mapped[str] = mapped_column(ForeignKey("units.name"))
    cycle_start_year: Mapped[int] = mapped_column(Integer)
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancellation_reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    """What the record says of the cancellation (说明); the cause is coded."""
    cancellation_cause: Mapped[str | None] = mapped_column(String(20))
    """One of the notice's causes; ``None`` on a cancellation recorded before causes were
    coded whose reason named none of them."""
    round: Mapped[int] = mapped_column(Integer, server_default="1")


class StudioCycleRow(Base):
    """One of a studio's cycles (工作周期): its years and, once closed (终结), when, by
    whom, the voucher that returned its money and how much went back per pool."""

    __tablename__ = "studio_cycles"
    __table_args__ = (
        CheckConstraint("number >= 1", name="number"),
        CheckConstraint("last_year >= first_year", name="years_in_order"),
        CheckConstraint("(closed_on IS NULL) = (closed_by IS NULL)", name="closed_by"),
    )

    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_by: Mapped[str | None] = mapped_column(String(50))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    close_seq: Mapped[int | None] = mapped_column(ForeignKey("transactions.seq"))
    returned: Mapped[dict[str, int] | None] = mapped_column(JSON)


class FundingDecisionRow(Base):
    """A 领导小组 decision restoring a held studio's funding for a year (考核发放)."""

    __tablename__ = "funding_decisions"
    __table_args__ = (CheckConstraint("percent BETWEEN 1 AND 100", name="percent"),)

    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    percent: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(MAX_REASON))
    decided_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))


class PersonRow(Base):
    """A person: host, member or trainee. ``code`` is the payee code used in accounts."""

    __tablename__ = "people"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))
    unit: Mapped[str] = mapped_column(ForeignKey("units.name"))
    bank_name: Mapped[str] = mapped_column(String(MAX_BANK_NAME), default="")
    bank_account: Mapped[str] = mapped_column(String(MAX_BANK_ACCOUNT), default="")
    phone: Mapped[str] = mapped_column(String(MAX_PHONE), default="")


class UnitRow(Base):
    """A unit (单位) by code: the code addresses its accounts, the name is shown
    (:mod:`ledger.registry.units`); a studio's host unit and a person's unit name one."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(MAX_UNIT), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_UNIT), unique=True)


class MembershipRow(Base):
    """A person's place in a studio from ``joined_on`` to ``left_on`` (inclusive)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("studio_code", "person_code", "joined_on"),
        CheckConstraint("role IN ('host', 'member', 'trainee')", name="role"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="dates_in_order"),
        Index("ix_memberships_person", "person_code"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"))
    person_code: Mapped[str] = mapped_column(ForeignKey("people.code"))
    role: Mapped[str] = mapped_column(String(10))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


_GRADE_CHECK = "grade IN ('excellent', 'qualified', 'unqualified')"


class StudioGradeRow(Base):
    """A studio's assessment result (考核等次) for a year."""

    __tablename__ = "studio_grades"
    __table_args__ = (CheckConstraint(_GRADE_CHECK, name="grade"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"), primary_key=True)
    grade: Mapped[str] = mapped_column(String(12))


class PersonGradeRow(Base):
    """A member's own assessment result for a year, where one is recorded."""

    __tablename__ = "person_grades"
    __table_args__ = (CheckConstraint(_GRADE_CHECK, name="grade"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"), primary_key=True)
    person_code: Mapped[str] = mapped_column(ForeignKey("people.code"), primary_key=True)
    grade: Mapped[str] = mapped_column(String(12))


class ExpensePlanRow(Base):
    """A studio's planned spending (计划使用) for a category in a year, fen."""

    __tablename__ = "expense_plans"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class UserRow(Base):
    """A user with one role; the API token is stored only as its SHA-256 hash, the
    password (if any) only as an Argon2id hash."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('clerk', 'approver', 'cashier', 'auditor', 'admin')", name="role"
        ),
    )

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    role: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    disabled: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    """Argon2id (``$argon2id$...``), for the console; ``None`` until one is set."""
    token_issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    """When the current token was issued (UTC, naive): it expires a set time after."""
    token_last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    """When the token last let a request in (UTC, naive, to the minute)."""
    created_by: Mapped[str | None] = mapped_column(String(50))
    """The admin who added the user; ``None`` for the operator setting up."""
    awaiting_confirmation: Mapped[bool] = mapped_column(default=False, server_default=false())
    """An approver or admin added by an admin, disabled until a second admin confirms."""
    confirmed_by: Mapped[str | None] = mapped_column(String(50))
    id_number: Mapped[str | None] = mapped_column(String(18))
    """The person the user is (身份证号): required of an approver, who may not approve a
    batch that pays that person."""


_BATCH_STATES = "'draft', 'approved', 'paid', 'partially_paid', 'closed', 'rejected', 'cancelled'"


class BatchRow(Base):
    """A disbursement batch (劳务补贴发放批次) for one program year."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint(f"state IN ({_BATCH_STATES})", name="state"),
        CheckConstraint("gross >= 0 AND tax >= 0 AND tax <= gross", name="totals"),
        CheckConstraint("approvals_needed IN (1, 2)", name="approvals_needed"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[str] = mapped_column(ForeignKey("policies.version"))
    prepared_by: Mapped[str] = mapped_column(ForeignKey("users.name"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    pay_month: Mapped[str] = mapped_column(String(7))
    approvals_needed: Mapped[int] = mapped_column(SmallInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)


class BatchLineRow(Base):
    """One payee's line in a batch; ``paid_key`` makes a stipend payable only once.

    ``tax``/``net`` are planned when the batch is made (a forecast); ``final_tax``/
    ``final_net`` are what the payment withheld and paid, set when it is confirmed.
    ``payee_*`` are whom it pays as approved, set at the batch's first approval.
    ``refund`` is tax withheld too much that the line pays back with it (re-settled in
    ``refund_month`` on the failed line; carried without a month by its reissue).
    """

    __tablename__ = "batch_lines"
    __table_args__ = (
        UniqueConstraint("batch_id", "number"),
        CheckConstraint(
            "gross > 0 AND tax >= 0 AND net >= 0 AND gross = tax + net", name="amounts"
        ),
        CheckConstraint(
            "status IN ('pending', 'paid', 'failed', 'reissued', 'returned')", name="status"
        ),
        CheckConstraint(
            "(final_tax IS NULL AND final_net IS NULL) OR (final_tax >= 0 AND final_net >= 0 "
            "AND final_tax + final_net = gross)",
            name="final_amounts",
        ),
        CheckConstraint(
            "(payee_name IS NULL AND payee_id_number IS NULL AND payee_bank_name IS NULL "
            "AND payee_bank_account IS NULL) OR (payee_name IS NOT NULL AND payee_id_number "
            "IS NOT NULL AND payee_bank_name IS NOT NULL AND payee_bank_account IS NOT NULL)",
            name="payee_whole",
        ),
        CheckConstraint("refund >= 0", name="refund"),
        Index("ix_batch_lines_person", "person_code"),
        Index("ix_batch_lines_batch_person", "batch_id", "person_code", "number"),
        Index("ix_batch_lines_studio", "studio_code", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    number: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    studio_code: Mapped[str] = mapped_column(ForeignKey("studios.code"))
    person_code: Mapped[str] = mapped_column(ForeignKey("people.code"))
    role: Mapped[str] = mapped_column(String(10))
    months: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(12))
    ratio: Mapped[int] = mapped_column(SmallInteger)
    gross: Mapped[int] = mapped_column(BigInteger)
    split: Mapped[dict[str, int]] = mapped_column(JSON)
    tax: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[str] = mapped_column(String(300))
    paid_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    reissue_of: Mapped[int | None] = mapped_column(ForeignKey("batch_lines.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    failure_reason: Mapped[str | None] = mapped_column(String(MAX_REASON))
    approval_seq: Mapped[int | None] = mapped_column(ForeignKey("transactions.seq"))
    approval_positions: Mapped[list[int] | None] = mapped_column(JSON)
    payment_seq: Mapped[int | None] = mapped_column(ForeignKey("transactions.seq"))
    return_seq: Mapped[int | None] = mapped_column(ForeignKey("transactions.seq"))
    final_tax: Mapped[int | None] = mapped_column(BigInteger)
    final_net: Mapped[int | None] = mapped_column(BigInteger)
    payee_name: Mapped[str | None] = mapped_column(String(MAX_NAME))
    payee_id_number: Mapped[str | None] = mapped_column(String(18))
    payee_bank_name: Mapped[str | None] = mapped_column(String(MAX_BANK_NAME))
    payee_bank_account: Mapped[str | None] = mapped_column(String(MAX_BANK_ACCOUNT))
    refund: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refund_month: Mapped[str | None] = mapped_column(String(7))


class BatchApprovalRow(Base):
    """An approval of a batch; the key makes a second approval by the same user impossible."""

    __tablename__ = "batch_approvals"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    approver: Mapped[str] = mapped_column(ForeignKey("users.name"), primary_key=True)
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))


class BatchEventRow(Base):
    """Every action on a batch: who, when, why, and the state before and after."""

    __tablename__ = "batch_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(ForeignKey("users.name"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(300))


class AuditRow(Base):
    """Every state change: who, what, on which object, when, from which request."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=False), index=True)
    actor: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(60))
    object: Mapped[str] = mapped_column(String(120))
    request_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotentRequestRow(Base):
    """The stored answer to a write that carried an ``Idempotency-Key``; a replay returns it."""

    __tablename__ = "idempotent_requests"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    actor: Mapped[str] = mapped_column(String(50))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))


class JobRunRow(Base):
    """One attempt at a job for a period. ``run_key`` (job:period) is unique and held
    only while the attempt is running or after it succeeded, so each (job, period)
    succeeds exactly once while failed attempts stay in the history."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="status"),
        CheckConstraint("trigger IN ('manual', 'scheduled', 'catch-up')", name="trigger"),
        CheckConstraint("(run_key IS NULL) = (status = 'failed')", name="key_while_live"),
        Index("ix_job_runs_job_period", "job", "period"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    run_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    trigger: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class ConsoleSessionRow(Base):
    """A signed-in console session, kept server-side: the browser holds only its
    random id and the row only that id's SHA-256, so signing out or an idle timeout
    ends it for good and a copy of the database signs nobody in."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        Index("ix_console_sessions_expires_at", "expires_at"),
        Index("ix_console_sessions_user_name", "user_name"),
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    user_name: Mapped[str | None] = mapped_column(String(50))


IMMUTABLE_TABLES = (
    "transactions",
    "postings",
    "period_closings",
    "attachments",
    "attachment_contents",
)
"""Tables the migrations protect with triggers refusing UPDATE and DELETE."""

LEDGER_TABLES = (
    "accounts",
    "transactions",
    "postings",
    "daily_balances",
    "period_closings",
    "chain_head",
    "voucher_counters",
)
"""The tables the books are: ``verify`` checks the database still keeps their rules."""

LEDGER_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        *(f"{t}_no_{action}" for t in IMMUTABLE_TABLES for action in ("update", "delete")),
        "transactions_closed_period",
        "transactions_dated_ahead",
        "daily_balances_guard_insert",
        "daily_balances_guard_update",
    ),
    "postgresql": (
        *(f"{t}_append_only" for t in IMMUTABLE_TABLES),
        "transactions_closed_period",
        "transactions_dated_ahead",
        "daily_balances_guard",
    ),
}
"""The triggers the migrations give the books, by database: append-only tables, no
write in a closed period, no voucher dated ahead, no guarded day below zero."""


def ledger_constraints() -> list[str]:
    """The CHECK and UNIQUE constraints of the books' tables, by name (the migrations
    name them as the metadata does): positive amounts, the overdraft guard, one
    idempotency key, one hash and one voucher number each, a posting reversed once."""
    return sorted(
        str(c.name)
        for name in LEDGER_TABLES
        for c in Base.metadata.tables[name].constraints
        if isinstance(c, CheckConstraint | UniqueConstraint) and c.name
    )
