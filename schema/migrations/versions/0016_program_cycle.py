"""The whole program cycle (issue 18): cycles, funding decisions, rounds, coded causes.

- ``studio_cycles``: each studio's cycles (工作周期) and their close (终结). Every
  studio already registered gets its first cycle: ``cycle_years`` from its start
  year, under the policy governing that year.
- ``funding_decisions``: a 领导小组 decision restoring a held studio's funding.
- ``studios.round`` (轮次, 1 for every studio so far) and ``studios.cancellation_cause``,
  coded from the notice's causes. A cancellation recorded before keeps its reason as
  its 说明; its cause is read from the reason where the reason names one of them
  (调离 → transferred_out, 事故 → major_accident, 处分 → disciplined, 不合格/不再命名 →
  not_renamed), else left unrecorded (shown 未登记) rather than guessed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAUSES = ("transferred_out", "major_accident", "disciplined", "not_renamed")
KEYWORDS = (
    ("调离", "transferred_out"),
    ("事故", "major_accident"),
    ("处分", "disciplined"),
    ("不合格", "not_renamed"),
    ("不再命名", "not_renamed"),
)


def upgrade() -> None:
    causes = ", ".join(f"'{c}'" for c in CAUSES)
    with op.batch_alter_table("studios") as batch:
        batch.add_column(sa.Column("cancellation_cause", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("round", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_constraint(op.f("ck_studios_cancellation_reason"), type_="check")
        batch.create_check_constraint(
            op.f("ck_studios_cancellation"),
            "cancelled_on IS NOT NULL OR (cancellation_reason IS NULL AND "
            "cancellation_cause IS NULL)",
        )
        batch.create_check_constraint(
            op.f("ck_studios_cancellation_cause"), f"cancellation_cause IN ({causes})"
        )
        batch.create_check_constraint(op.f("ck_studios_round"), "round >= 1")
    op.create_table(
        "studio_cycles",
        sa.Column("studio_code", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_year", sa.Integer(), nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closed_by", sa.String(length=50), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("close_seq", sa.BigInteger(), nullable=True),
        sa.Column("returned", sa.JSON(), nullable=True),
        sa.CheckConstraint("number >= 1", name=op.f("ck_studio_cycles_number")),
        sa.CheckConstraint("last_year >= first_year", name=op.f("ck_studio_cycles_years_in_order")),
        sa.CheckConstraint(
            "(closed_on IS NULL) = (closed_by IS NULL)", name=op.f("ck_studio_cycles_closed_by")
        ),
        sa.ForeignKeyConstraint(
            ["studio_code"], ["studios.code"], name=op.f("fk_studio_cycles_studio_code_studios")
        ),
        sa.ForeignKeyConstraint(
            ["close_seq"],
            ["transactions.seq"],
            name=op.f("fk_studio_cycles_close_seq_transactions"),
        ),
        sa.PrimaryKeyConstraint("studio_code", "number", name=op.f("pk_studio_cycles")),
    )
    op.create_table(
        "funding_decisions",
        sa.Column("studio_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("percent", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=False), nullable=False),
        sa.CheckConstraint("percent BETWEEN 1 AND 100", name=op.f("ck_funding_decisions_percent")),
        sa.ForeignKeyConstraint(
            ["studio_code"],
            ["studios.code"],
            name=op.f("fk_funding_decisions_studio_code_studios"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.name"], name=op.f("fk_funding_decisions_decided_by_users")
        ),
        sa.PrimaryKeyConstraint("studio_code", "year", name=op.f("pk_funding_decisions")),
    )
    # a cycle closes only when none of its studio's lines waits: found by studio
    op.create_index(
        op.f("ix_batch_lines_studio"), "batch_lines", ["studio_code", "status"], unique=False
    )
    connection = op.get_bind()
    _code_causes(connection)
    _first_cycles(connection)


def _code_causes(connection: Any) -> None:
    rows = connection.execute(
        sa.text("SELECT code, cancellation_reason FROM studios WHERE cancelled_on IS NOT NULL")
    ).all()
    for code, reason in rows:
        cause = next((c for word, c in KEYWORDS if word in (reason or "")), None)
        if cause is not None:
            connection.execute(
                sa.text("UPDATE studios SET cancellation_cause = :cause WHERE code = :code"),
                {"cause": cause, "code": code},
            )


def _first_cycles(connection: Any) -> None:
    """Every studio's first cycle, as long as the policy governing its start year says."""
    policies = sorted(
        (year, body if isinstance(body, dict) else _json(body))
        for year, body in connection.execute(sa.text("SELECT year, body FROM policies")).all()
    )
    studios = connection.execute(sa.text("SELECT code, cycle_start_year FROM studios")).all()
    rows = []
    for code, start in studios:
        governing = [body for year, body in policies if year <= start]
        years = int((governing[-1] if governing else policies[0][1])["cycle_years"])
        rows.append({"code": code, "first": start, "last": start + years - 1})
    if rows:
        connection.execute(
            sa.text(
                "INSERT INTO studio_cycles (studio_code, number, first_year, last_year) "
                "VALUES (:code, 1, :first, :last)"
            ),
            rows,
        )


def _json(body: str) -> dict[str, Any]:
    """A policy body as SQLite hands it back here (text)."""
    loaded: dict[str, Any] = json.loads(body)
    return loaded


LABELS = {
    "transferred_out": "调离本旗",
    "major_accident": "重大责任事故",
    "disciplined": "受到纪律处分",
    "not_renamed": "考核不合格不再命名",
}


def downgrade() -> None:
    op.drop_index(op.f("ix_batch_lines_studio"), table_name="batch_lines")
    op.drop_table("funding_decisions")
    op.drop_table("studio_cycles")
    connection = op.get_bind()
    for cause, label in LABELS.items():  # the old rule wants a reason on every cancellation
        connection.execute(
            sa.text(
                "UPDATE studios SET cancellation_reason = :label "
                "WHERE cancellation_cause = :cause AND cancellation_reason IS NULL"
            ),
            {"label": label, "cause": cause},
        )
    connection.execute(
        sa.text(
            "UPDATE studios SET cancellation_reason = '未登记' "
            "WHERE cancelled_on IS NOT NULL AND cancellation_reason IS NULL"
        )
    )
    with op.batch_alter_table("studios") as batch:
        batch.drop_constraint(op.f("ck_studios_round"), type_="check")
        batch.drop_constraint(op.f("ck_studios_cancellation_cause"), type_="check")
        batch.drop_constraint(op.f("ck_studios_cancellation"), type_="check")
        batch.drop_column("round")
        batch.drop_column("cancellation_cause")
        batch.create_check_constraint(
            op.f("ck_studios_cancellation_reason"),
            "(cancelled_on IS NULL) = (cancellation_reason IS NULL)",
        )
