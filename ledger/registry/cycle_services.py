"""The cycle's services: close a studio's cycle (终结), rename it (继续命名), list cycles.

Every function works in the caller's unit of work and never commits. The rules are
:mod:`ledger.cycles` (which cycle closes, where its money goes, who may be renamed);
these functions gather their inputs, check that no stipend of the studio is still
waiting (a close must not strand money in a payable account), post the one voucher
through :func:`ledger.book.post` and record the close.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date

from ledger import program
from ledger.batches import disbursement
from ledger.batches.batch import paid_key
from ledger.batches.entitlements import entitlements
from ledger.books import book
from ledger.books.accounts import (
    SUPPORT_SOURCE_PREFIX,
    UNIT_SOURCE_PREFIX,
    Account,
    studio_fund,
)
from ledger.books.postings import NewTransaction, Transaction, utc_now
from ledger.clock import check_not_before
from ledger.errors import InvalidTransitionError
from ledger.funds import fund_services
from ledger.money import Fen, format_plain
from ledger.registry import roster_services
from ledger.registry.cycles import (
    POOLS,
    Cycle,
    close_voucher,
    cycle_to_close,
    next_cycle,
    renewal_refusal,
)
from ledger.registry.policy import GRADE_LABELS, policy_for_year
from ledger.registry.roster import Studio
from ledger.users import acting

Stores = disbursement.Stores

PREFIXES = {"matching": UNIT_SOURCE_PREFIX, "support": SUPPORT_SOURCE_PREFIX}
"""Where each unit pool's money comes from."""


@dataclass(frozen=True)
class CycleClosed:
    """What a close did: the cycle as closed, its voucher (``None`` when nothing was
    left), and whether the studio is not renamed (its final grade does not allow it)."""

    studio: Studio
    cycle: Cycle
    voucher: Transaction | None
    not_renamed: bool

    @property
    def returned(self) -> Fen:
        return sum(self.cycle.returned.values())


def close_cycle(stores: Stores, studio_code: str, on: date, *, by: str) -> CycleClosed:
    """Close the studio's first cycle not closed: every unspent fen of its funds goes
    back to where it came from in one voucher dated ``on``
    (:func:`ledger.cycles.close_voucher`), and the close is recorded. Refused before the
    cycle's last year has ended (unless the studio was cancelled), in a closed period,
    while a line of the studio waits in a batch or was returned by the bank unsettled,
    and while a stipend owed for a year of the cycle is in no batch (:func:`_refuse_owed`).
    A studio whose final grade does not allow renewal is marked not renamed
    (考核不合格不再命名)."""
    acting(stores, by, "cycle.close")
    program.require_dated(stores, on)
    studio = roster_services.studio(stores, studio_code)
    cycle = cycle_to_close(studio, stores.registry.cycles([studio.code]), on)
    _refuse_unsettled(stores, studio)
    _refuse_owed(stores, studio, cycle)
    pools = {
        pool: stores.ledger.balance(studio_fund(studio.code, pool), None) or 0 for pool in POOLS
    }
    voucher = close_voucher(studio, cycle, pools, _paid_in(stores, studio), on)
    posted = _post(stores, voucher, by)
    closed = replace(
        cycle,
        closed_on=on,
        closed_by=by,
        close_seq=None if posted is None else posted.seq,
        returned={pool: fen for pool, fen in pools.items() if fen},
    )
    stores.registry.close_cycle(closed, utc_now())
    final = stores.registry.studio_grades(cycle.last_year, [studio.code]).get(studio.code)
    governing = roster_services.policy(stores, cycle.last_year + 1)
    not_renamed = False
    if studio.cancelled_on is None and final is not None and final not in governing.renewal_grades:
        not_renamed = True
        studio = replace(
            studio,
            cancelled_on=on,
            cancellation_cause="not_renamed",
            cancellation_reason=f"{cycle.last_year}年度终结性考核{GRADE_LABELS[final]}，不再命名和授牌",
        )
        stores.registry.save_studios([studio])
    return CycleClosed(studio, closed, posted, not_renamed)


def _post(stores: Stores, voucher: NewTransaction | None, by: str) -> Transaction | None:
    if voucher is None:
        return None
    [posted] = book.post(stores.ledger, [voucher], date_field="on", by=by)
    return posted


def _refuse_unsettled(stores: Stores, studio: Studio) -> None:
    waiting = stores.batches.unsettled_lines(studio.code)
    if waiting:
        shown = "、".join(f"批次#{b}第{n}行（{_STATUS[s]}）" for b, n, s in waiting[:10])
        more = f"等{len(waiting)}行" if len(waiting) > 10 else ""
        raise InvalidTransitionError(
            f"{studio.code} 尚有劳务补贴未结清：{shown}{more}；"
            "先审批、确认支付、重新发放或退回资金，再结算周期"
        )


_STATUS: Mapping[str, str] = {"pending": "待审批或待支付", "failed": "银行退回未处理"}


def _refuse_owed(stores: Stores, studio: Studio, cycle: Cycle) -> None:
    """Refuse a close that would take away stipends owed for a year of the cycle and not
    yet in any batch, or not yet known for want of a grade: the close returns every fen,
    so they could not be paid afterwards."""
    places = stores.registry.memberships_of([studio.code])
    people = stores.registry.people_of({m.person for m in places})
    in_batches = stores.batches.paid_keys_of(studio.code)
    owed = []
    for year in cycle.years:
        if studio.cancelled_on is not None and year > studio.cancelled_on.year:
            break
        lines = entitlements(
            year,
            roster_services.policy(stores, year),
            studios=[studio],
            people=people,
            memberships=places,
            studio_grades=stores.registry.studio_grades(year, [studio.code]),
            person_grades=stores.registry.person_grades(year, [studio.code]),
        )
        owed += [
            line
            for line in lines
            if (line.held is not None or line.gross > 0)
            and paid_key(year, line.studio, line.person, line.role) not in in_batches
        ]
    if owed:
        shown = "、".join(
            f"{x.year}年{x.name}（{'考核结果未录入' if x.held else format_plain(x.gross) + '元'}）"
            for x in owed[:5]
        )
        more = f"等{len(owed)}笔" if len(owed) > 5 else ""
        raise InvalidTransitionError(
            f"{studio.code} 尚有应发劳务补贴未列入批次：{shown}{more}；先录入考核结果并发放，"
            "再结算周期"
        )


def _paid_in(stores: Stores, studio: Studio) -> dict[str, dict[Account, Fen]]:
    """What each unit paid, net, into the studio's matching and support pools."""
    funds = {studio_fund(studio.code, pool): pool for pool in PREFIXES}
    paid: dict[str, dict[Account, Fen]] = {pool: {} for pool in PREFIXES}
    for source, destination, amount in stores.ledger.movements_of(list(funds)):
        for fund, unit, sign in ((destination, source, 1), (source, destination, -1)):
            pool = funds.get(fund)
            if pool is not None and unit.startswith(PREFIXES[pool]):
                paid[pool][unit] = paid[pool].get(unit, 0) + sign * amount
    return paid


@dataclass(frozen=True)
class Renewed:
    """A renewal: the new cycle, and its first year's appropriation when that was due."""

    studio: Studio
    cycle: Cycle
    appropriation: fund_services.AppropriationReport | None


def renew_cycle(stores: Stores, studio_code: str, on: date, *, by: str) -> Renewed:
    """Rename the studio for a new cycle (继续命名), starting the year after its last cycle;
    refused unless its last cycle is closed and its final grade is among the policy's
    ``renewal_grades``. When the new cycle's appropriation day has passed, its first
    year is funded at once (dated ``on``)."""
    acting(stores, by, "cycle.renew")
    program.require_dated(stores, on)
    studio = roster_services.studio(stores, studio_code)
    cycles = stores.registry.cycles([studio.code])
    last = max(cycles, key=lambda c: c.number) if cycles else None
    final = (
        stores.registry.studio_grades(last.last_year, [studio.code]).get(studio.code)
        if last is not None
        else None
    )
    governing = roster_services.policy(stores, (last.last_year if last else on.year) + 1)
    refused = renewal_refusal(studio, cycles, final, governing)
    if refused is not None or last is None:
        raise InvalidTransitionError(refused or f"{studio.code} 没有周期记录，不能继续命名")
    if last.closed_on is not None:
        check_not_before(on, last.closed_on, field="on", what=f"{last.label}的结算")
    new = next_cycle(last, governing)
    stores.registry.save_cycles([new])
    funded = None
    if on >= fund_services.appropriation_day(new.first_year):
        funded = fund_services.appropriate(stores, new.first_year, on, by=by, only=[studio.code])
    return Renewed(replace(studio, cycle_end_year=new.last_year), new, funded)


@dataclass(frozen=True)
class CycleView:
    """A studio's cycle as ``cycles list`` shows it.

    Attributes:
      state: ``open``, ``ended`` (awaiting its close) or ``closed``.
      final_grade: the grade of its last year (终结性考核), once recorded.
      voucher: the close's 凭证号, when money went back.
      outcome: for a closed or ended cycle, ``renewed`` (继续命名), ``not_renamed`` (不再
        命名), ``may_renew`` (its grade allows it; not yet renamed), ``awaiting_grade``,
        or ``cancelled``; ``""`` while the cycle is open.
    """

    studio: Studio
    cycle: Cycle
    state: str
    final_grade: str | None
    voucher: str | None
    outcome: str


OUTCOME_LABELS: Mapping[str, str] = {
    "": "",
    "renewed": "已继续命名",
    "not_renamed": "不再命名",
    "may_renew": "可继续命名",
    "awaiting_grade": "待终结性考核",
    "cancelled": "已撤销",
}


def cycle_views(
    stores: program.Stores, today: date, studios: Collection[str] | None = None
) -> list[CycleView]:
    """Every cycle of every studio (or of ``studios``), by studio and number: a handful
    of reads however many studios (the national list is 100,000)."""
    registry = stores.registry
    found = {
        s.code: s for s in (registry.studios() if studios is None else registry.studios_of(studios))
    }
    only = None if studios is None else list(found)
    cycles = [c for c in registry.cycles(only) if c.studio in found]
    last_years = {c.last_year for c in cycles}
    finals = {year: registry.studio_grades(year, only) for year in last_years}
    policies = registry.policies()
    renewal = {year: policy_for_year(policies, year + 1).renewal_grades for year in last_years}
    vouchers = stores.ledger.vouchers_of([c.close_seq for c in cycles if c.close_seq])
    latest: dict[str, int] = {}
    for c in cycles:
        latest[c.studio] = max(latest.get(c.studio, 0), c.number)
    views = []
    for c in cycles:
        studio = found[c.studio]
        final = finals[c.last_year].get(c.studio)
        state = c.state(today)
        voucher = vouchers.get(c.close_seq) if c.close_seq is not None else None
        outcome = _outcome(studio, c, state, final, latest[c.studio], renewal[c.last_year])
        views.append(
            CycleView(studio, c, state, final, None if voucher is None else str(voucher), outcome)
        )
    return views


def _outcome(
    studio: Studio,
    cycle: Cycle,
    state: str,
    final: str | None,
    latest: int,
    renewal_grades: Collection[str],
) -> str:
    """What became of a cycle once it ended (see :class:`CycleView`)."""
    if state == "open":
        return ""
    if latest > cycle.number:
        return "renewed"
    if studio.cancellation_cause == "not_renamed":
        return "not_renamed"
    if studio.cancelled_on is not None:
        return "cancelled"
    if final is None:
        return "awaiting_grade"
    return "may_renew" if final in renewal_grades else "not_renamed"


def cycles_due(stores: program.Stores, year: int, on: date) -> list[str]:
    """The studios with a cycle to close for ``year`` (the ``cycle-close`` job's year):
    a cycle that ended with ``year``, or any cycle of a studio cancelled by ``on``, not
    closed yet."""
    return sorted(
        {
            v.studio.code
            for v in cycle_views(stores, on)
            if v.cycle.closed_on is None
            and v.cycle.first_year <= year
            and (v.cycle.last_year == year or not v.studio.active_on(on))
        }
    )
