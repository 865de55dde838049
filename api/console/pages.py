"""The console's pages: each reads through the same services and shapes as the API,
and each form acts through :func:`api.console.common.act` as the same action, with
the same permission check and audit entry.

Which buttons a batch page shows is :func:`ledger.disbursement.offered`; the
server refuses a forbidden action anyway (the guard and the service both check).
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template

from api.console.auth import BAD_SIGN_IN, SESSION_COOKIE, checked_password, client_address
from api.console.common import act, page, refusal_text, refused_back
from api.http.base import XLSX, Id, QueryYear, download, engine_of, read, request_id, upload_name
from api.http.batches import export_file
from api.http.statements import (
    ledger_file,
    logged,
    summary_file,
    trial_balance_file,
    withholding_file,
)
from api.shapes import (
    audit_entry_out,
    batch_history,
    batch_summary,
    cycle_out,
    job_out,
    job_run_out,
    outcome_of_job,
    studio_out,
    user_out,
)
from jobs import runner, schedule, timetable
from jobs.work import COUNT_LABELS, DAILY_JOBS, JOB_TITLES, JOBS
from ledger import audit as audit_log
from ledger import clock, lookups, program, users
from ledger.audit import AuditEntry
from ledger.batches import disbursement
from ledger.batches.availability import availability
from ledger.batches.batch import ACTION_LABELS, STATE_LABELS
from ledger.books import book, statements
from ledger.books.periods import Period
from ledger.codes import FundingSource, MemberRole, UserRole, labels
from ledger.errors import InvalidInputError, LedgerError, ValidationError, digits
from ledger.funds import fund_services
from ledger.funds.appropriation import FULL, FundingDecision
from ledger.funds.expenses import SOURCE_LABELS
from ledger.money import Fen, format_amount, to_uppercase
from ledger.permissions import allows, sees_in_full
from ledger.privacy import mask_account, mask_id_number
from ledger.registry import cycle_services, roster_services
from ledger.registry.roster import FIRST_YEAR, LAST_YEAR, MAX_REASON
from ledger.registry.search import MAX_SEARCH, Search
from ledger.tax import remittance
from ledger.users import User
from ledger.workbooks import bank_results
from ledger.workbooks.audit_log import HEADINGS as AUDIT_HEADINGS
from ledger.workbooks.audit_log import export_audit
from ledger.workbooks.audit_log import row as audit_row
from ledger.workbooks.sheets import text_value
from schema.db import UnitOfWork

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE: Final = 100
EVENT_LABELS: Final = {**ACTION_LABELS, "create": "准备批次", "results": "读入银行结果"}


def view(path: str, action: str) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A page (GET) for the roles allowed ``action``."""
    return get(path, opt={"action": action}, sync_to_thread=True, include_in_schema=False)


def form(
    path: str, action: str, **options: Any
) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A form's target (POST) for the roles allowed ``action``."""
    return post(
        path, opt={"action": action}, sync_to_thread=True, include_in_schema=False, **options
    )


def export(path: str, action: str) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
    """A download that is audit-logged (who took which personal data): a POST with the
    form's CSRF token, so no page of another site can make a signed-in browser take one;
    answered 200 with the file."""
    return post(
        path, opt={"action": action}, sync_to_thread=True, include_in_schema=False, status_code=200
    )


# -- reading a form's fields, refusing in words ---------------------------------------------


def text(data: Mapping[str, Any], name: str, label: str, *, required: bool = True) -> str:
    value = data.get(name, "")
    value = (value[-1] if isinstance(value, list) and value else value) or ""
    value = str(value).strip()
    if required and not value:
        raise ValidationError(label, "必须填写")
    if len(value) > MAX_REASON:
        raise ValidationError(label, f"不能超过 {MAX_REASON} 个字")
    return value


def year_field(data: Mapping[str, Any], name: str = "year") -> int:
    value = text(data, name, "年度")
    if not digits(value) or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        raise ValidationError("年度", f"应为 {FIRST_YEAR}–{LAST_YEAR} 之间的年份：{value!r}")
    return int(value)


def percent_field(data: Mapping[str, Any], name: str, label: str) -> int:
    """A whole percent from 1 to 100."""
    value = text(data, name, label)
    if not digits(value) or not 1 <= int(value) <= FULL:
        raise ValidationError(label, f"应为 1–100 之间的整数百分比：{value!r}")
    return int(value)


def date_field(data: Mapping[str, Any], name: str, label: str, *, required: bool = False) -> date:
    """The date of a write the form gave, or today when left blank (unless ``required``:
    a payment's date is the bank's, said every time); never after today (refused naming
    the field by its label)."""
    value = text(data, name, label, required=required)
    if not value:
        return program.today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(label, f"应为日期 YYYY-MM-DD：{value!r}") from None
    clock.check_not_future(day, field=label)
    return day


def year_query(request: Request[Any, Any, Any], uow: UnitOfWork) -> int:
    """The year asked for, else the latest year the books have vouchers in (this
    year, once anything is posted in it)."""
    value = request.query_params.get("year", "")
    if digits(value) and FIRST_YEAR <= int(value) <= LAST_YEAR:
        return int(value)
    this_year = program.today().year
    booked = [p.year for p in book.last_vouchers(uow.ledger) if p.year <= this_year]
    return max(booked, default=this_year)


# -- 首页 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FundRow:
    """One studio's money from one source this year, as the home page shows it."""

    studio: str
    name: str
    source: str
    received: Fen  # carried over and received this year
    committed: Fen  # in draft batches, not yet approved
    paid: Fen  # approved stipends and activity expenses
    available: Fen  # now: the fund's balance less what drafts would take (one service)


def fund_rows(uow: UnitOfWork, year: int) -> list[FundRow]:
    lines = statements.summary_lines(uow, year)
    drafts = disbursement.draft_commitments(uow)
    available = disbursement.available_funds(uow, {s.studio for s in lines})
    return [
        FundRow(
            s.studio,
            s.name,
            FundingSource(s.source).label,
            s.opening + s.received,
            drafts.get((s.studio, s.source), 0),
            s.stipends + s.expenses,
            available[(s.studio, s.source)],
        )
        for s in lines
    ]


class HomeController(Controller):
    path = "/console"

    @view("/", "ledger.read")
    def home(self, request: Request[User, Any, Any]) -> Template:
        """首页: the year at a glance."""
        me = request.user

        def load(uow: UnitOfWork) -> dict[str, Any]:
            year = year_query(request, uow)
            waiting = [
                (batch_summary(b), [ACTION_LABELS[v] for v in offered])
                for b in disbursement.batches(uow)
                if (offered := disbursement.offered(b, me))
            ]
            try:
                held = disbursement.compute_entitlements(uow, year).held
                shortfalls = fund_services.matching_check(uow, year)
            except LedgerError:  # no policy for the year
                held, shortfalls = [], []
            last = runner.last_runs(uow)
            reasons: dict[str, int] = {}
            for line in held:
                reasons[line.held or ""] = reasons.get(line.held or "", 0) + 1
            return {
                "year": year,
                "funds": fund_rows(uow, year),
                "waiting": waiting,
                "held": held,
                "held_reasons": sorted(reasons.items(), key=lambda r: -r[1]),
                "shortfalls": shortfalls,
                "runs": [(JOB_TITLES[job], job_run_out(last[job])) for job in JOBS if job in last],
                "integrity": last.get("integrity-check"),
            }

        return page(request, "home.html", "首页", **read(request, load))


# -- 批次 -------------------------------------------------------------------------------------


def _left_out(left_out: Sequence[tuple[Any, str]]) -> str:
    """``，9 人未列入（应发金额为零 8 人；已在批次#2中发放 1 人）``: how many were left out
    of a new batch and why, by the reason's kind (its words before the first ：)."""
    if not left_out:
        return ""
    kinds = Counter(reason.split("：", 1)[0] for _, reason in left_out)
    why = "；".join(f"{kind} {count} 人" for kind, count in kinds.items())
    return f"，{len(left_out)} 人未列入（{why}）"


def _batch_back(batch_id: int) -> str:
    return f"/console/batches/{batch_id}"


def _outcome(verb: str) -> Callable[[UnitOfWork, disbursement.Outcome], tuple[str, str]]:
    """The message after ``verb``, in words: what was done and where the batch stands."""

    def said(uow: UnitOfWork, outcome: disbursement.Outcome) -> tuple[str, str]:
        batch = outcome.batch
        if verb in ("confirm", "results"):  # the bank's answer returns the batch unread
            batch = disbursement.with_lines(uow, batch)
        words = f"批次 #{batch.id}：已{EVENT_LABELS[verb]}"
        if verb == "approve":
            words += f"（审批进度 {len(batch.approved_by)} / {batch.approvals_needed}）"
        if verb == "confirm":
            failed = len(batch.failed)
            words += f"，{failed} 行银行退回" if failed else "，全部支付"
        if verb == "results":
            r = batch.reconciliation
            words += (
                f"：成功 {r.succeeded}，银行退回 {r.failed}，待银行答复 {r.pending}"
                if outcome.changed
                else "，文件所述均已入账，未作任何更改"
            )
        words += "".join(f"；{note}" for note in outcome.notes)
        return f"{words}；当前状态：{_state_label(batch.state)}。", _batch_back(batch.id)

    return said


def _state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


class BatchPages(Controller):
    path = "/console/batches"

    @view("/", "batch.read")
    def batches(self, request: Request[User, Any, Any]) -> Template:
        """批次: every batch with its state and totals; a clerk prepares one here."""
        found, year = read(
            request, lambda uow: (disbursement.batches(uow), year_query(request, uow))
        )
        return page(
            request,
            "batches.html",
            "批次",
            batches=[batch_summary(b) for b in reversed(found)],
            year=year,
        )

    @form("/", "batch.create")
    def create(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """准备发放批次 for a year."""
        me = request.user.name

        def run(uow: UnitOfWork) -> disbursement.CreatedBatch:
            return disbursement.create(
                uow, year_field(data), me, date_field(data, "on", "准备日期")
            )

        return act(
            request,
            action="batch.create",
            form=data,
            run=run,
            target=lambda c: f"batch:{c.batch.id}",
            done=lambda _, c: (
                f"已准备批次 #{c.batch.id}：{c.batch.line_count} 人" + _left_out(c.left_out),
                _batch_back(c.batch.id),
            ),
            back="/console/batches",
        )

    @form("/reissue", "batch.reissue")
    def reissue(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """重新发放: a batch paying the year's failed lines again."""
        me = request.user.name
        back = text(data, "back", "返回", required=False) or "/console/batches"
        return act(
            request,
            action="batch.reissue",
            form=data,
            run=lambda uow: disbursement.reissue(
                uow, year_field(data), me, date_field(data, "on", "准备日期")
            ),
            target=lambda b: f"batch:{b.id}",
            done=lambda _, b: (
                f"已准备重新发放批次 #{b.id}：{len(b.lines)} 人",
                _batch_back(b.id),
            ),
            back=back if back.startswith("/console/") else "/console/batches",
        )

    @view("/{batch_id:int}", "batch.read")
    def batch(self, request: Request[User, Any, Any], batch_id: Id) -> Template:
        """The batch as its reviewer reads it, with the buttons the user may press."""
        me = request.user
        whole_ids = sees_in_full(me.role, "batch.payees")

        def load(uow: UnitOfWork) -> dict[str, Any]:
            batch, events = disbursement.show(uow, batch_id)
            payees = disbursement.payees(uow, batch)  # read once: names, IDs, accounts
            shown = batch_history(
                batch,
                events,
                disbursement.names_of(batch, payees),
                disbursement.roster_changes(uow, batch),
            )
            ids = {
                number: payee.id_number if whole_ids else mask_id_number(payee.id_number)
                for number, payee in payees.items()
            }
            banks = {
                number: (
                    payee.bank_name,
                    payee.bank_account if whole_ids else mask_account(payee.bank_account),
                )
                for number, payee in payees.items()
            }
            try:
                held = disbursement.compute_entitlements(uow, batch.year).held
            except LedgerError:
                held = []
            return {
                "batch": shown,
                "ids": ids,
                "banks": banks,
                "funds": availability(uow, batch),
                "source_labels": SOURCE_LABELS,
                "offered": disbursement.offered(batch, me),
                "labels": ACTION_LABELS,
                "held": held,
                "gross_upper": to_uppercase(batch.gross),
                "tax": batch.current_tax,
                "net": batch.sent,
                "net_upper": to_uppercase(batch.sent),
                "event_labels": EVENT_LABELS,
                "state_labels": STATE_LABELS,
                "labels_role": labels(MemberRole),
                # sent to the bank: to send while approved, a marked copy for reconciliation after
                "bank_file": allows(me.role, "batch.bank_file") and batch.state.sent,
            }

        loaded = read(request, load)
        return page(request, "batch.html", f"批次 #{batch_id}", **loaded)

    def _act(
        self,
        request: Request[User, Any, Any],
        batch_id: int,
        verb: str,
        data: Mapping[str, Any],
        run: Callable[[UnitOfWork], disbursement.Outcome],
    ) -> Redirect:
        return act(
            request,
            action=f"batch.{verb}",
            form=data,
            run=run,
            target=lambda _: f"batch:{batch_id}",
            done=_outcome(verb),
            back=_batch_back(batch_id),
        )

    @form("/{batch_id:int}/approve", "batch.approve")
    def approve(self, request: Request[User, Any, Any], batch_id: Id, data: Form) -> Redirect:
        me = request.user.name
        return self._act(
            request,
            batch_id,
            "approve",
            data,
            lambda uow: disbursement.approve(uow, batch_id, me, program.today()),
        )

    @form("/{batch_id:int}/reject", "batch.reject")
    def reject(self, request: Request[User, Any, Any], batch_id: Id, data: Form) -> Redirect:
        me = request.user.name
        return self._act(
            request,
            batch_id,
            "reject",
            data,
            lambda uow: disbursement.reject(uow, batch_id, me, text(data, "reason", "驳回理由")),
        )

    @form("/{batch_id:int}/cancel", "batch.cancel")
    def cancel(self, request: Request[User, Any, Any], batch_id: Id, data: Form) -> Redirect:
        me = request.user.name
        return self._act(
            request,
            batch_id,
            "cancel",
            data,
            lambda uow: disbursement.cancel(uow, batch_id, me, text(data, "reason", "作废理由")),
        )

    @form("/{batch_id:int}/confirm", "batch.confirm")
    def confirm(self, request: Request[User, Any, Any], batch_id: Id, data: Form) -> Redirect:
        """确认支付: every line paid except those ticked as returned by the bank, each
        with the bank's reason."""
        me = request.user.name

        def run(uow: UnitOfWork) -> disbursement.Outcome:
            ticked = data.get("failed", [])
            ticked = ticked if isinstance(ticked, list) else [ticked]
            failed = {}
            for value in ticked:
                number = int(value) if digits(str(value)) else 0
                if number < 1:
                    raise ValidationError("退回行", f"不是行号：{value!r}")
                failed[number] = text(data, f"reason_{number}", f"第 {number} 行的退回原因")
            on = date_field(data, "on", "支付日期", required=True)
            return disbursement.confirm(uow, batch_id, me, on, failed)

        return self._act(request, batch_id, "confirm", data, run)

    @form("/{batch_id:int}/results", "batch.confirm")
    def results(
        self,
        request: Request[User, Any, Any],
        batch_id: Id,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Redirect:
        """读入银行结果文件: the bank's answer, all of the file or none of it."""
        me = request.user.name
        upload = data.get("file")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "results.xlsx"
            if isinstance(upload, UploadFile):
                if (upload.filename or "").lower().endswith(".csv"):
                    path = path.with_suffix(".csv")
                path.write_bytes(upload.file.read())
            fields = {k: v for k, v in data.items() if k != "file"}
            fields["file"] = bank_results.digest(path) if path.exists() else ""

            def run(uow: UnitOfWork) -> disbursement.Outcome:
                name = None
                if isinstance(upload, UploadFile):
                    name = upload_name(upload.filename, "结果文件") or None
                if not path.exists() or not path.stat().st_size:
                    raise ValidationError("结果文件", "请选择银行返回的结果文件")
                on = date_field(fields, "on", "银行付款日期", required=True)
                return bank_results.answer(
                    uow, batch_id, path, me, on, sha256=fields["file"], name=name
                )

            return self._act(request, batch_id, "results", fields, run)

    @form("/{batch_id:int}/lines/{line:int}/return", "batch.return")
    def return_line(
        self, request: Request[User, Any, Any], batch_id: Id, line: Id, data: Form
    ) -> Redirect:
        """退回资金: a failed line's money back to the studio's fund."""
        me = request.user.name
        return self._act(
            request,
            batch_id,
            "return",
            data,
            lambda uow: disbursement.return_to_fund(uow, batch_id, line, me, program.today()),
        )

    @form("/{batch_id:int}/close", "batch.close")
    def close(self, request: Request[User, Any, Any], batch_id: Id, data: Form) -> Redirect:
        me = request.user.name
        return self._act(
            request, batch_id, "close", data, lambda uow: disbursement.close(uow, batch_id, me)
        )

    @export("/{batch_id:int}/roster.xlsx", "batch.roster")
    def roster(self, request: Request[User, Any, Any], batch_id: Id) -> File:
        """发放表 download."""
        return export_file(request, batch_id, 0, "此批次没有发放表")

    @export("/{batch_id:int}/bank.xlsx", "batch.bank_file")
    def bank_file(self, request: Request[User, Any, Any], batch_id: Id) -> File:
        """批量代发 download (the cashier)."""
        return export_file(request, batch_id, 1, "此批次没有批量代发文件")


# -- 工作室, 人员 ------------------------------------------------------------------------------


class RegistryPages(Controller):
    path = "/console"

    @view("/studios", "registry.read")
    def studios(self, request: Request[User, Any, Any]) -> Template:
        """工作室 and their cycles (工作周期), with 结算 and 继续命名 for whoever may."""

        asked = request.query_params.get("funding", "")
        this_year = program.today().year
        year = int(asked) if digits(asked) and FIRST_YEAR <= int(asked) <= LAST_YEAR else None

        search = Search.of(request.query_params.get("q", ""))
        after = request.query_params.get("after", "")[:40]

        def load(uow: UnitOfWork) -> dict[str, Any]:
            today = program.today()
            counts = roster_services.roster_counts(uow, today)
            found = lookups.find_studios(uow, search, after)
            funding_year = year or this_year
            held = sorted(fund_services.held_back(uow, funding_year).items())
            decided = sorted(fund_services.funding_decisions(uow, funding_year).items())
            named = {code for code, _ in held} | {code for code, _ in decided}
            names = {s.code: s.name for s in uow.registry.studios_of(named)}
            shown = found[: lookups.PAGE]
            return {
                "studios": [studio_out(s, counts.get(s.code, 0)) for s in shown],
                "q": search.text,
                "after": after,
                "more": shown[-1].code if len(found) > lookups.PAGE else None,
                "max_search": MAX_SEARCH,
                "cycles": [cycle_out(v) for v in cycle_services.cycle_views(uow, today)],
                "funding_year": funding_year,
                "held": [(code, names.get(code, ""), share) for code, share in held],
                "decisions": [(d, names.get(d.studio, "")) for _, d in decided],
            }

        return page(request, "studios.html", "工作室", **read(request, load))

    @form("/studios/{code:str}/close", "cycle.close")
    def close_cycle(
        self, request: Request[User, Any, Any], code: FromPath[str], data: Form
    ) -> Redirect:
        """结算: the studio's ended cycle closes, its unspent funds going back."""
        me = request.user.name

        def done(_uow: UnitOfWork, closed: cycle_services.CycleClosed) -> tuple[str, str]:
            back = f"退回 {format_amount(closed.returned)}" if closed.voucher else "无结余"
            return f"{code} {closed.cycle.label}已结算：{back}", "/console/studios#cycles"

        return act(
            request,
            action="cycle.close",
            form=data,
            run=lambda uow: cycle_services.close_cycle(
                uow, code, date_field(data, "on", "结算日期"), by=me
            ),
            target=lambda c: f"cycle:{c.studio.code}:{c.cycle.number}",
            done=done,
            back="/console/studios#cycles",
        )

    @form("/studios/{code:str}/renew", "cycle.renew")
    def renew_cycle(
        self, request: Request[User, Any, Any], code: FromPath[str], data: Form
    ) -> Redirect:
        """继续命名: a new cycle for a studio whose final grade allows it."""
        me = request.user.name

        def done(_uow: UnitOfWork, renewed: cycle_services.Renewed) -> tuple[str, str]:
            return f"{code} 已继续命名：{renewed.cycle.label}", "/console/studios#cycles"

        return act(
            request,
            action="cycle.renew",
            form=data,
            run=lambda uow: cycle_services.renew_cycle(
                uow, code, date_field(data, "on", "命名日期"), by=me
            ),
            target=lambda r: f"cycle:{r.studio.code}:{r.cycle.number}",
            done=done,
            back="/console/studios#cycles",
        )

    @form("/studios/{code:str}/funding", "funding.decide")
    def restore_funding(
        self, request: Request[User, Any, Any], code: FromPath[str], data: Form
    ) -> Redirect:
        """考核发放: record the 领导小组's decision restoring a held studio's funding."""
        me = request.user.name
        asked = data.get("year")
        back = "/console/studios#funding"
        if isinstance(asked, str) and digits(asked) and len(asked) == 4:
            back = f"/console/studios?funding={asked}#funding"

        def done(
            _uow: UnitOfWork,
            result: tuple[FundingDecision, fund_services.AppropriationReport | None],
        ) -> tuple[str, str]:
            decision, funded = result
            year = decision.year
            message = f"{code} {year}年度经费经领导小组决定恢复拨付{decision.percent}%"
            if funded is None:
                message += f"，{year}年1月2日拨款时拨付"
            elif funded.posted:
                message += f"，已拨付 {format_amount(funded.total)}"
            return message, back

        return act(
            request,
            action="funding.decide",
            form=data,
            run=lambda uow: fund_services.restore_funding(
                uow,
                code,
                year_field(data),
                percent_field(data, "percent", "恢复比例"),
                text(data, "reason", "决定理由"),
                by=me,
                on=date_field(data, "on", "决定日期"),
            ),
            target=lambda r: f"funding:{r[0].studio}:{r[0].year}",
            done=done,
            back=back,
        )


# -- 报表 -------------------------------------------------------------------------------------


class StatementPages(Controller):
    path = "/console/statements"

    @view("/", "statement.export")
    def statements(self, request: Request[User, Any, Any]) -> Template:
        studios, year = read(
            request, lambda uow: (roster_services.studios(uow), year_query(request, uow))
        )
        return page(
            request,
            "statements.html",
            "报表",
            year=year,
            today=program.today(),
            studios=studios,
        )

    @view("/ledger.xlsx", "statement.export")
    def ledger(
        self,
        request: Request[User, Any, Any],
        year: QueryYear,
        studio: Annotated[str, QueryParameter(max_length=40)] = "",
    ) -> File:
        return ledger_file(request, year, studio or None)

    @view("/summary.xlsx", "statement.export")
    def summary(self, request: Request[User, Any, Any], year: QueryYear) -> File:
        return summary_file(request, year)

    @view("/trial-balance.xlsx", "statement.export")
    def trial_balance(
        self,
        request: Request[User, Any, Any],
        on: FromQuery[date],
        *,
        every: Annotated[bool, QueryParameter(name="all")] = False,
    ) -> File:
        return trial_balance_file(request, on, every=every)


# -- 个税: 扣缴申报 and 缴纳 ----------------------------------------------------------------------


class TaxPages(Controller):
    path = "/console/tax"

    @view("/", "statement.withholding")
    def tax(self, request: Request[User, Any, Any]) -> Template:
        """The month's 扣缴申报 to download, and (for the 出纳) its 缴纳."""
        last = program.today().replace(day=1) - timedelta(days=1)
        return page(
            request,
            "tax.html",
            "个税",
            month=f"{last:%Y-%m}",
            today=program.today(),
            remits=allows(request.user.role, "tax.remit"),
        )

    @export("/withholding.xlsx", "statement.withholding")
    def withholding(self, request: Request[User, Any, Any], data: Form) -> File:
        """扣缴申报 download."""
        month = Period.parse(text(data, "month", "所属月份"), field="所属月份")
        return withholding_file(request, month)

    @form("/remit", "tax.remit")
    def remit(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """缴纳: the month's declared tax paid over."""
        me = request.user.name

        def run(uow: UnitOfWork) -> remittance.Remittance:
            month = Period.parse(text(data, "month", "所属月份"), field="所属月份")
            return remittance.remit(uow, month, me, date_field(data, "on", "缴纳日期"))

        return act(
            request,
            action="tax.remit",
            form=data,
            run=run,
            target=lambda r: f"tax:{r.month}",
            done=lambda _, r: (
                f"已缴纳{r.month.year}年{r.month.month}月代扣个人所得税 "
                f"{format_amount(r.amount)}（{r.people}人，凭证 {r.voucher}）",
                "/console/tax",
            ),
            back="/console/tax",
        )


# -- 作业 -------------------------------------------------------------------------------------


class JobPages(Controller):
    path = "/console/jobs"

    @view("/", "job.read")
    def jobs(self, request: Request[User, Any, Any]) -> Template:
        settings = timetable.ScheduleSettings.from_env()

        def load(uow: UnitOfWork) -> tuple[Any, Any]:
            return runner.last_runs(uow), runner.history(uow, None, 100_000)

        last, runs = read(request, load)
        return page(
            request,
            "jobs.html",
            "作业",
            jobs=[
                (JOB_TITLES[s.job], job_out(s, settings.time_zone, last.get(s.job)))
                for s in schedule.schedules(settings, clock.now())
            ],
            runs=[(JOB_TITLES.get(r.job, r.job), job_run_out(r)) for r in reversed(runs[-50:])],
            titles=JOB_TITLES,
            daily="、".join(JOB_TITLES[job] for job in JOBS if job in DAILY_JOBS),
            count_labels=COUNT_LABELS,
            year=program.today().year,
            today=program.today(),
        )

    @form("/run", "job.run")
    def run(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """立即运行 a job for a period (admins); each (job, period) runs once."""
        job = text(data, "job", "作业")
        period = text(data, "period", "期间")
        if job not in JOBS:
            flash(request, f"输入有误：作业：没有这个作业 {job!r}", "error")
            return Redirect("/console/jobs")
        try:
            outcome = runner.run_now(
                engine_of(request), job, period, request.user.name, request_id(request)
            )
        except LedgerError as refused:
            flash(request, refusal_text(refused, request.user.role), "error")
            return Redirect("/console/jobs")
        shown = outcome_of_job(outcome)
        words = {"succeeded": "已完成", "failed": "失败", "already": "此前已运行过，未重复运行"}
        flash(
            request,
            f"{JOB_TITLES[job]}（{period}）：{words.get(shown.status, shown.status)}。"
            f"{shown.message}",
            "success" if shown.status != "failed" else "error",
        )
        return Redirect("/console/jobs")


# -- 审计日志 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    """What the 审计日志 page and its exports were asked for, read once."""

    filters: dict[str, str]
    dates: dict[str, str]
    start: datetime | None
    end: datetime | None
    problems: list[str]

    @classmethod
    def of(cls, request: Request[User, Any, Any]) -> AuditQuery:
        q = request.query_params
        filters = {k: q.get(k, "").strip()[:120] for k in ("actor", "action", "object")}
        days: dict[str, date | None] = {}
        problems = []
        for name, label in (("from", "起始日期"), ("to", "截止日期")):
            value = q.get(name, "").strip()
            try:
                days[name] = date.fromisoformat(value) if value else None
            except ValueError:
                days[name] = None
                problems.append(f"{label}应为 YYYY-MM-DD：{value!r}")
        try:
            start, end = clock.recorded_between(
                days["from"], days["to"], fields=("起始日期", "截止日期")
            )
        except ValidationError as refused:
            start = end = None
            problems.append(f"{refused.field}{refused.message}")
        dates = {k: q.get(k, "") for k in ("from", "to")}
        return cls(filters, dates, start, end, problems)

    @property
    def query(self) -> dict[str, str]:
        return {k: v for k, v in self.filters.items() if v} | {
            k: v for k, v in self.dates.items() if v
        }

    def entries(self, uow: UnitOfWork, limit: int, before: int | None) -> list[AuditEntry]:
        return audit_log.entries(
            uow,
            0,
            limit,
            actor=self.filters["actor"] or None,
            action=self.filters["action"] or None,
            target=self.filters["object"] or None,
            start=self.start,
            end=self.end,
            newest_first=True,
            before=before,
        )

    def every(self, uow: UnitOfWork) -> Iterator[AuditEntry]:
        """Every entry asked for, newest first, a page at a time."""
        before = None
        while found := self.entries(uow, EXPORT_PAGE, before):
            yield from found
            before = found[-1].id


EXPORT_PAGE: Final = 1_000


class AuditPages(Controller):
    path = "/console/audit"

    @view("/", "audit.read")
    def audit(self, request: Request[User, Any, Any]) -> Template:
        """审计日志, newest first, filtered by who, action, object and dates (北京时间 days),
        each action in words beside its code; exported whole as CSV or xlsx."""
        asked = AuditQuery.of(request)
        q = request.query_params
        before = (
            int(q["before"]) if digits(q.get("before", "")) and len(q["before"]) <= 18 else None
        )
        found = (
            []
            if asked.problems
            else read(request, lambda uow: asked.entries(uow, PAGE_SIZE + 1, before))
        )
        shown = [audit_entry_out(e) for e in found[:PAGE_SIZE]]
        return page(
            request,
            "audit.html",
            "审计日志",
            entries=shown,
            labels=audit_log.ACTION_LABELS,
            filters=asked.filters,
            dates=asked.dates,
            problems=asked.problems,
            more=shown[-1].id if len(found) > PAGE_SIZE else None,
            query=asked.query,
        )

    @export("/export.csv", "audit.read")
    def export_csv(self, request: Request[User, Any, Any]) -> File:
        """The entries asked for as CSV (UTF-8 with a BOM, as Excel opens it; no cell is
        read as a formula), the export itself logged."""
        return self._export(request, "csv")

    @export("/export.xlsx", "audit.read")
    def export_xlsx(self, request: Request[User, Any, Any]) -> File:
        """The entries asked for as a printed workbook, the export itself logged."""
        return self._export(request, "xlsx")

    def _export(self, request: Request[User, Any, Any], kind: str) -> File:
        asked = AuditQuery.of(request)
        if asked.problems:
            raise ValidationError("日期", "；".join(asked.problems))
        me = request.user

        def produce(folder: Path) -> Path:
            path = folder / f"审计日志-{program.today().isoformat()}.{kind}"
            with UnitOfWork(engine_of(request), write=False) as uow:
                if kind == "xlsx":
                    export_audit(asked.every(uow), path, me.name, UserRole(me.role).label)
                else:
                    with path.open("w", encoding="utf-8-sig", newline="") as out:
                        lines = csv.writer(out)
                        lines.writerow(AUDIT_HEADINGS)
                        for entry in asked.every(uow):
                            lines.writerow([text_value(str(v)) for v in audit_row(entry)])
            logged(request, "audit.export", "audit-log", path.name)
            return path

        media_type = "text/csv; charset=utf-8" if kind == "csv" else XLSX
        return download("studio-ledger-audit-", produce, media_type)


# -- 用户 ---------------------------------------------------------------------------------


class UserPages(Controller):
    path = "/console/users"

    @view("/", "user.read")
    def users(self, request: Request[User, Any, Any]) -> Template:
        found = read(request, lambda uow: users.users(uow, request.user.name))
        return page(
            request,
            "users.html",
            "用户",
            users=[user_out(u) for u in found],
            roles=list(UserRole),
        )

    def _with_token(
        self,
        request: Request[User, Any, Any],
        action: str,
        name: str,
        issue: Callable[[UnitOfWork], str],
        message: str,
    ) -> Template | Redirect:
        """Do ``issue`` (which returns a new API token) and show the token this once.

        No form key: the answer holds the token, and no answer holding a token may be
        stored; a second submission is refused by the service or issues another."""
        shown: dict[str, str] = {}

        def run(uow: UnitOfWork) -> str:
            shown["token"] = issue(uow)
            return name

        redirect = act(
            request,
            action=action,
            form={},
            run=run,
            target=lambda n: f"user:{n}",
            done=lambda _, __: (message, "/console/users"),
            back="/console/users",
        )
        if not shown:
            return redirect
        return page(request, "token.html", "API 令牌", name=name, token=shown["token"])

    @form("/", "user.add")
    def add(self, request: Request[User, Any, Any], data: Form) -> Template | Redirect:
        """添加用户; their API token is shown on the next page, this once."""
        name = text(data, "name", "用户名", required=False)
        role = text(data, "role", "角色", required=False)
        id_number = text(data, "id_number", "身份证号", required=False)
        label = UserRole(role).label if role in set(UserRole) else role
        return self._with_token(
            request,
            "user.add",
            name,
            lambda uow: users.add_user(uow, name, role, request.user.name, id_number),
            f"已添加用户 {name}（{label}）",
        )

    @form("/{name:str}/token", "user.token")
    def token(
        self, request: Request[User, Any, Any], name: FromPath[str], data: Form
    ) -> Template | Redirect:
        """更换令牌: the old token stops working; the new one is shown this once."""
        del data
        return self._with_token(
            request,
            "user.token",
            name,
            lambda uow: users.rotate_token(uow, name, request.user.name),
            f"已为 {name} 更换 API 令牌",
        )

    @form("/{name:str}/disable", "user.disable")
    def disable(
        self, request: Request[User, Any, Any], name: FromPath[str], data: Form
    ) -> Redirect:
        return act(
            request,
            action="user.disable",
            form=data,
            run=lambda uow: users.disable_user(uow, name, request.user.name),
            target=lambda _: f"user:{name}",
            done=lambda _, r: (f"已停用用户 {r.name}：其令牌和登录立即失效", "/console/users"),
            back="/console/users",
        )

    @form("/{name:str}/confirm", "user.confirm")
    def confirm(
        self, request: Request[User, Any, Any], name: FromPath[str], data: Form
    ) -> Redirect:
        return act(
            request,
            action="user.confirm",
            form=data,
            run=lambda uow: users.confirm_user(uow, name, request.user.name),
            target=lambda _: f"user:{name}",
            done=lambda _, r: (f"已确认用户 {r.name}（{r.role}），现可使用", "/console/users"),
            back="/console/users",
        )

    @form("/{name:str}/password", "user.password")
    def password(
        self, request: Request[User, Any, Any], name: FromPath[str], data: Form
    ) -> Redirect:
        """重设密码 (an admin for anyone). The form key is kept, the password is not:
        only the key and a hash of the form are stored with the answer."""
        password = str(data.get("password", ""))
        again = str(data.get("again", ""))

        def run(uow: UnitOfWork) -> str:
            if password != again:
                raise ValidationError("密码", "两次输入的密码不一致")
            users.set_password(uow, name, password, request.user.name)
            return name

        return act(
            request,
            action="user.password",
            form={"_key": data.get("_key", "")},
            run=run,
            target=lambda n: f"user:{n}",
            done=lambda _, n: (f"已为 {n} 设置新密码", "/console/users"),
            back="/console/users",
        )


class PasswordPages(Controller):
    """修改密码: every user's own, with the current one; their other sessions end."""

    path = "/console/password"

    @view("/", "password.own")
    def show(self, request: Request[User, Any, Any]) -> Template:
        return page(request, "password.html", "修改密码", min_password=users.MIN_PASSWORD)

    @form("/", "password.own")
    def change(self, request: Request[User, Any, Any], data: Form) -> Redirect:
        """The form key is kept with the answer, the passwords are not."""
        me = request.user.name
        current, password, again = (str(data.get(k, "")) for k in ("current", "password", "again"))
        here = request.cookies.get(SESSION_COOKIE)
        # the current password is checked as a sign-in is: throttled, and a wrong one
        # kept in the audit log (a session left open is no licence to guess it)
        source, rid = client_address(request), request_id(request)
        _, wrong = checked_password(engine_of(request), me, current, source, rid, success=None)
        if wrong is not None:
            why = "不正确，密码没有修改" if wrong == BAD_SIGN_IN else wrong
            return refused_back(request, ValidationError("当前密码", why), "/console/password")

        def run(uow: UnitOfWork) -> str:
            if password != again:
                raise ValidationError("再次输入新密码", "与新密码不一致")
            try:
                users.set_password(uow, me, password, me, session=here)
            except InvalidInputError as refused:
                raise InvalidInputError(
                    [ValidationError("新密码", e.message) for e in refused.errors]
                ) from None
            return me

        return act(
            request,
            action="password.own",
            form={"_key": data.get("_key", "")},
            run=run,
            target=lambda n: f"user:{n}",
            done=lambda _, __: ("密码已修改；其他电脑或浏览器上的登录已退出。", "/console"),
            back="/console/password",
        )


CONTROLLERS: Final = (
    HomeController,
    BatchPages,
    RegistryPages,
    StatementPages,
    TaxPages,
    JobPages,
    AuditPages,
    UserPages,
    PasswordPages,
)
