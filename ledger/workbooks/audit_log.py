"""审计日志 exported as a printed workbook (issue 33): every entry asked for, newest first,
each action in words beside its code, each time in 北京时间."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from ledger.audit import AuditEntry, action_label
from ledger.clock import local_time
from ledger.workbooks.sheets import Column, Layout, PrintedSheet, new_workbook, stamp

HEADINGS: Final = ("编号", "时间（北京时间）", "办理人", "事项", "代码", "对象", "请求编号", "详情")
AUDIT_LAYOUT: Final = Layout(
    columns=(
        Column(8, "number"),
        Column(18, "centre"),
        Column(14),
        Column(16),
        Column(22),
        Column(22, wrap=True),
        Column(14),
        Column(48, wrap=True),
    ),
    title_rows=3,
)


def row(entry: AuditEntry) -> list[Any]:
    """One entry as a line of the export (the CSV's and the workbook's)."""
    return [
        entry.id,
        f"{local_time(entry.at):%Y-%m-%d %H:%M:%S}",
        entry.actor,
        action_label(entry.action),
        entry.action,
        entry.object,
        entry.request_id,
        "；".join(f"{k}: {v}" for k, v in entry.detail.items()),
    ]


def export_audit(entries: Iterable[AuditEntry], path: Path, exporter: str, role: str) -> int:
    """Write ``entries`` to ``path``; how many were written."""
    workbook = new_workbook()
    sheet = PrintedSheet(workbook, "审计日志", AUDIT_LAYOUT)
    sheet.title("审计日志")
    sheet.caption(stamp(exporter, role))
    sheet.header(HEADINGS)
    written = 0
    for entry in entries:
        sheet.row(row(entry))
        written += 1
    workbook.save(path)
    return written
