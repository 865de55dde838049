"""How the domain's records look as JSON, for the HTTP service and ``--json`` alike.

One place owns each shape, so a script reading the command line's output and a
client reading the API see the same keys.
"""

from __future__ import annotations

from typing import Any

from ledger.closing import Closed
from ledger.disbursement import Batch, BatchEvent, CreatedBatch
from ledger.money import format_amount
from ledger.periods import PeriodState
from ledger.program import EntitlementReport, local_time
from ledger.registry import Studio
from ledger.statements import AccountBalance


def studio_json(s: Studio) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "kind": s.kind,
        "host_unit": s.host_unit,
        "cycle_start_year": s.cycle_start_year,
        "status": s.status,
        "cancelled_on": s.cancelled_on,
        "cancellation_reason": s.cancellation_reason or None,
    }


def batch_json(b: Batch, *, lines: bool = True) -> dict[str, Any]:
    """A batch: ``tax_fen``/``net_fen`` as planned when it was made; ``current_*`` with
    the final figures of the lines paid so far (``final_*`` per line, null until paid)."""
    shaped: dict[str, Any] = {
        "id": b.id,
        "year": b.year,
        "state": b.state,
        "policy_version": b.policy_version,
        "prepared_by": b.prepared_by,
        "approved_by": list(b.approved_by),
        "approvals_needed": b.approvals_needed,
        "pay_month": b.pay_month,
        "gross_fen": b.gross,
        "tax_fen": b.tax,
        "net_fen": b.net,
        "current_tax_fen": b.current_tax,
        "current_net_fen": b.current_net,
        "gross": format_amount(b.gross),
        "net": format_amount(b.net),
    }
    if lines:
        shaped["lines"] = [
            {
                "number": x.number,
                "studio": x.studio,
                "person": x.person,
                "role": x.role,
                "months": list(x.months),
                "grade": x.grade,
                "ratio": x.ratio,
                "gross_fen": x.gross,
                "split_fen": dict(x.split),
                "tax_fen": x.tax,
                "net_fen": x.net,
                "final_tax_fen": x.final_tax,
                "final_net_fen": x.final_net,
                "status": x.status,
                "failure_reason": x.failure_reason,
                "reissue_of": x.reissue_of,
                "explanation": x.explanation,
            }
            for x in b.lines
        ]
    return shaped


def created_batch_json(created: CreatedBatch) -> dict[str, Any]:
    """A new draft batch, and the entitlement lines left out of it with the reason."""
    return {
        **batch_json(created.batch),
        "left_out": [
            {"studio": x.studio, "person": x.person, "role": x.role, "reason": reason}
            for x, reason in created.left_out
        ],
    }


def batch_history_json(batch: Batch, events: list[BatchEvent]) -> dict[str, Any]:
    """A batch with its lines and every event of its life, oldest first."""
    return {
        **batch_json(batch),
        "events": [
            {
                "action": e.action,
                "actor": e.actor,
                "at": e.at,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "reason": e.reason,
            }
            for e in events
        ],
    }


def entitlements_json(year: int, report: EntitlementReport) -> dict[str, Any]:
    return {
        "year": year,
        "policy_version": report.policy.version,
        "total_fen": report.total,
        "total": format_amount(report.total),
        "lines": [
            {
                "studio": x.studio,
                "person": x.person,
                "name": x.name,
                "role": x.role,
                "months": list(x.months),
                "grade": x.grade,
                "ratio": x.ratio,
                "gross_fen": x.gross,
                "split_fen": dict(x.split),
                "explanation": x.explanation,
                "held": x.held,
            }
            for x in report.lines
        ],
    }


def period_json(state: PeriodState) -> dict[str, Any]:
    """A month of the books: open or closed, by whom and when (Beijing time)."""
    closing = state.closing
    return {
        "period": str(state.period),
        "state": "closed" if state.closed else "open",
        "label": state.label,
        "year_end": state.year_end,
        "last_voucher": state.last_voucher,
        "closed_by": closing.by if closing else None,
        "closed_at": local_time(closing.at) if closing else None,
    }


def closed_json(closed: Closed) -> dict[str, Any]:
    """What a close did, with the ledger's head at that moment (the anchor)."""
    return {
        "period": str(closed.through),
        "changed": closed.changed,
        "message": closed.message,
        "first_closed": str(closed.first) if closed.first else None,
        "head_seq": closed.head.seq,
        "head_hash": closed.head.hash,
    }


def balance_json(b: AccountBalance, as_of: object) -> dict[str, Any]:
    """An account's balance: ``balance_fen`` is the raw ledger balance (inflows −
    outflows); ``direction`` and ``amount`` read it as the books do (借或贷, 余额)."""
    return {
        "address": b.address,
        "code": b.account.code,
        "name": b.account.name,
        "normal_side": b.account.side,
        "as_of": as_of,
        "balance_fen": b.balance,
        "direction": b.direction,
        "amount_fen": b.amount,
        "balance": format_amount(b.amount),
    }
