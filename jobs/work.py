"""The scheduled jobs (SPEC §5): one function each, working in the unit of work it is
given and returning counts. They neither commit nor decide when they run: the
runner (:mod:`jobs.runner`) owns the transaction and the run record, the scheduler
(:mod:`jobs.schedule`) only decides when.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, Final

from ledger import program
from ledger.batches import disbursement
from ledger.books import attachments
from ledger.errors import LedgerError
from ledger.funds import fund_services
from ledger.money import format_plain
from ledger.registry import cycle_services
from ledger.registry.cycles import POOL_LABELS
from schema.backup import backup, backup_folder, kept_copies, nightly_name, prune
from schema.db import UnitOfWork

SCHEDULER_USER: Final = "scheduler"
"""The clerk the scheduled jobs act as: it appropriates and prepares the year-end batch
(created by the migrations)."""

Counts = dict[str, Any]

DAILY_JOBS: Final = frozenset({"integrity-check", "backup"})
"""Jobs that run for a date; the others run for a year."""

READS_ONLY: Final = frozenset({"backup"})
"""Jobs that write nothing through their unit of work (the backup reads in its own
snapshot): it does not take SQLite's write lock up front, so a long backup never holds
the service's writes off."""

LAST_YEAR_JOBS: Final = frozenset({"cycle-close"})
"""Yearly jobs that serve the year before the day they run: cycle-close runs in January
for the cycles that ended the December before, once their last payout is settled."""


def period_for(job: str, day: date) -> str:
    """The period a run on ``day`` serves: the date for a daily job, the year before for a
    job of :data:`LAST_YEAR_JOBS`, else the year."""
    if job in DAILY_JOBS:
        return day.isoformat()
    return str(day.year - 1 if job in LAST_YEAR_JOBS else day.year)


COUNT_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "studios_funded": "拨款工作室",
        "already_funded": "此前已拨款",
        "total_fen": "合计（元）",
        "policy_version": "政策版本",
        "held": "暂缓",
        "batch": "批次",
        "lines": "行数",
        "gross_fen": "应发（元）",
        "tax_fen": "代扣个税（元）",
        "studios_short": "配套不足工作室",
        "shortfalls": "配套不足",
        "transactions": "凭证笔数",
        "last_hash": "末笔哈希",
        "closed": "结算周期",
        "returned_fen": "退回（元）",
        "returned": "退回明细",
        "not_renamed": "未续期",
        "refused": "未能结算",
        "file": "备份文件",
        "sha256": "校验和",
        "rows": "备份行数",
        "anchor": "账链末端",
        "removed": "删除的旧备份",
    }
)
"""Each count a job run records, by its name for a person (the 作业 page)."""


class IntegrityFailure(Exception):  # noqa: N818 (named for what the check found)
    """The integrity check found a broken link, a mismatched balance or an overdraft."""


def appropriation(uow: UnitOfWork, period: str) -> Counts:
    """Post each studio's budget for the year by its grade of the year before (once per
    studio-year); list every studio held back and why."""
    report = fund_services.appropriate(uow, int(period), by=SCHEDULER_USER)
    return {
        "studios_funded": len(report.posted),
        "already_funded": len(report.already),
        "total_fen": report.total,
        "policy_version": report.policy_version,
        "held": [{"studio": code, "reason": why} for code, why in report.held],
    }


def year_end_payout(uow: UnitOfWork, period: str) -> Counts:
    """Build the draft batch of the year from the recorded grades; list who is held back."""
    year = int(period)
    try:
        created = disbursement.create(uow, year, SCHEDULER_USER, program.today())
    except disbursement.NothingToPayError as nothing:
        return {"batch": None, "lines": 0, "gross_fen": 0, "held": _held(nothing.left_out)}
    batch = created.batch
    return {
        "batch": batch.id,
        "lines": batch.line_count,
        "gross_fen": batch.gross,
        "tax_fen": batch.tax,
        "held": _held(created.left_out),
    }


def _held(left_out: list[Any]) -> dict[str, list[str]]:
    """Studios held back and why (one reason per distinct cause)."""
    held: dict[str, list[str]] = {}
    for line, reason in left_out:
        if line.held is not None or "资金不足" in reason:
            reasons = held.setdefault(line.studio, [])
            if reason not in reasons:
                reasons.append(reason)
    return held


def matching_check(uow: UnitOfWork, period: str) -> Counts:
    """Studios whose host unit matched less than the minimum, with the shortfall."""
    short = fund_services.matching_check(uow, int(period))
    return {
        "studios_short": len(short),
        "shortfalls": [
            {
                "studio": s.studio,
                "host_unit": s.host_unit,
                "received_fen": s.received,
                "shortfall_fen": s.shortfall,
                "message": f"{s.studio} {s.host_unit} 配套{format_plain(s.received)}元，"
                f"低于{format_plain(s.minimum)}元，差{format_plain(s.shortfall)}元",
            }
            for s in short
        ],
    }


def integrity_check(uow: UnitOfWork, period: str) -> Counts:
    """Kept balances equal the postings; the hash chain is intact. Raises if not."""
    date.fromisoformat(period)
    report = attachments.verified(uow)
    if not report.ok:
        raise IntegrityFailure("; ".join(report.problems()))
    return {"transactions": report.transactions, "last_hash": report.last_hash}


def nightly_backup(uow: UnitOfWork, period: str) -> Counts:
    """The whole ledger to ``LEDGER-DATE.zip`` in the backup folder
    (:func:`schema.backup.backup_folder`), then all but the newest copies removed
    (``STUDIO_LEDGER_BACKUP_KEEP``, default 14); a copy is removed only after the new one
    is whole."""
    day = date.fromisoformat(period)
    keep = kept_copies()  # a setting that is wrong is refused before anything is written
    url = uow.engine.url
    folder = backup_folder(url)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = backup(uow.engine, folder / nightly_name(url, day))
    removed = prune(folder, url, keep, made.path)
    return {
        "file": str(made.path),
        "sha256": made.sha256,
        "rows": made.manifest.rows,
        "anchor": made.manifest.anchor,
        "removed": [p.name for p in removed],
    }


def cycle_close(uow: UnitOfWork, period: str) -> Counts:
    """Close every cycle that ended with the year (and of studios cancelled since): each
    returns its unspent funds to their sources in one voucher. A studio whose stipends
    are not settled yet is listed with why and left open (`cycles close` closes it
    later); the others close regardless, each on its own."""
    on = program.today()
    closed: list[cycle_services.CycleClosed] = []
    refused: list[dict[str, str]] = []
    for code in cycle_services.cycles_due(uow, int(period), on):
        try:
            with uow.savepoint():
                closed.append(cycle_services.close_cycle(uow, code, on, by=SCHEDULER_USER))
        except LedgerError as error:
            refused.append({"studio": code, "reason": str(error)})
    return {
        "closed": len(closed),
        "returned_fen": sum(c.returned for c in closed),
        "returned": [
            {
                "studio": c.studio.code,
                "cycle": c.cycle.number,
                "voucher": None if c.voucher is None else str(c.voucher.voucher),
                **{f"{pool}_fen": fen for pool, fen in c.cycle.returned.items()},
                "message": f"{c.studio.code} {c.cycle.label}退回"
                + "、".join(
                    f"{POOL_LABELS[pool]}{format_plain(fen)}元"
                    for pool, fen in c.cycle.returned.items()
                )
                if c.cycle.returned
                else f"{c.studio.code} {c.cycle.label}无结余",
            }
            for c in closed
        ],
        "not_renamed": [c.studio.code for c in closed if c.not_renamed],
        "refused": refused,
    }


JOB_TITLES: Final = {
    "appropriation": "年度拨款",
    "year-end-payout": "年终劳务补贴发放",
    "matching-check": "单位配套资金检查",
    "integrity-check": "账簿完整性校验",
    "cycle-close": "周期终结结算",
    "backup": "账簿备份",
}

JOBS: Final[dict[str, Callable[[UnitOfWork, str], Counts]]] = {
    "appropriation": appropriation,
    "year-end-payout": year_end_payout,
    "matching-check": matching_check,
    "integrity-check": integrity_check,
    "cycle-close": cycle_close,
    "backup": nightly_backup,
}
