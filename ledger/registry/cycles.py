"""The program cycle (工作周期, SPEC §1): a studio's cycles, their close and renewal.

A studio is named for a cycle of the policy's ``cycle_years`` (3 years). Unspent
funds carry over from year to year within it (结转): the fund accounts keep them.
When the cycle closes (终结), every unspent fen goes back where it came from, in one
voucher (:func:`close_voucher`):

- the 旗财政 and 教育基金 pools to ``source:finance`` and ``source:edu_fund``;
- the matching pool to the host units and the support pool to the members' units
  that paid into it, each unit in proportion to what it paid in, net
  (:func:`returns_to_units`, largest remainder: the parts always sum to the pool), so
  a pool with one payer goes back to it whole.

The December grade of a cycle's last year is its final assessment (终结性考核): with a
grade among the policy's ``renewal_grades`` the studio may be renamed for the next
cycle (继续命名, :func:`renewal_refusal`), which starts the year after; otherwise it
is not renamed (不再命名和授牌).

Invariants: a cycle closes once, after its last year has ended or the studio was
cancelled, and not while a stipend of the studio waits for approval or payment
(the service checks the batches); after the close every fund account of the studio
is zero, and no budget is appropriated for a year of a closed cycle
(:func:`closed_for`). A studio is renewed only once its last cycle has closed, so the
new cycle's money never mixes with the old one's remainder; a roster cannot bring a
cancelled studio back once its last cycle is closed (:func:`reinstatement_refusal`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from ledger.books.accounts import Account, source_account, studio_fund
from ledger.books.postings import NewTransaction, Posting
from ledger.codes import CycleState, FundingSource, labels
from ledger.errors import ValidationError
from ledger.money import Fen, format_plain, split
from ledger.registry.policy import GRADE_LABELS, Policy
from ledger.registry.roster import Studio

CYCLE_STATES: Final = labels(CycleState)
POOL_LABELS: Final = labels(FundingSource)
POOLS: Final = ("finance", "edu_fund", "matching", "support")
"""A studio's fund accounts, in the order a close returns them."""
UNIT_POOLS: Final = ("matching", "support")
"""Pools that units paid into; each goes back to its units."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """One of a studio's cycles.

    Attributes:
      number: 1 for the cycle it was named for, 2 after the first renewal, …
      first_year, last_year: the program years it spans.
      closed_on: the date of its close (终结), once closed.
      closed_by: who closed it (a user, or the scheduler).
      close_seq: the voucher that returned its money; ``None`` when nothing was left.
      returned: fen returned per pool (:data:`POOLS`) at the close.
    """

    studio: str
    number: int
    first_year: int
    last_year: int
    closed_on: date | None = None
    closed_by: str | None = None
    close_seq: int | None = None
    returned: Mapping[str, Fen] = field(default_factory=dict)

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)

    @property
    def label(self) -> str:
        """``第1周期（2024-2026）``."""
        return f"第{self.number}周期（{self.first_year}-{self.last_year}）"

    def state(self, today: date) -> str:
        """``open`` within its years, ``ended`` after its last year until it is closed,
        then ``closed`` (:data:`CYCLE_STATES`)."""
        if self.closed_on is not None:
            return CycleState.CLOSED.value
        return CycleState.ENDED.value if today.year > self.last_year else CycleState.OPEN.value


def first_cycle(studio: Studio, policy: Policy) -> Cycle:
    """The cycle a studio is named for: ``policy.cycle_years`` from its start year."""
    return Cycle(
        studio.code, 1, studio.cycle_start_year, studio.cycle_start_year + policy.cycle_years - 1
    )


def next_cycle(last: Cycle, policy: Policy) -> Cycle:
    """The cycle a renewal adds: it starts the year after ``last`` ends."""
    return Cycle(
        last.studio, last.number + 1, last.last_year + 1, last.last_year + policy.cycle_years
    )


def cycle_to_close(studio: Studio, cycles: Sequence[Cycle], on: date) -> Cycle:
    """The cycle a close dated ``on`` closes: the studio's first one not closed, once its
    last year has ended or the studio was cancelled on or before ``on``; else a refusal
    naming ``on``."""
    open_cycles = [c for c in sorted(cycles, key=lambda c: c.number) if c.closed_on is None]
    if not open_cycles:
        raise ValidationError("studio", f"{studio.code} 没有未结算的周期（各周期均已结算）")
    cycle = open_cycles[0]
    cancelled = not studio.active_on(on)
    if on.year <= cycle.last_year and not cancelled:
        raise ValidationError(
            "on",
            f"{studio.code} {cycle.label}至{cycle.last_year}-12-31止，尚未期满，"
            "工作室也未撤销，不能结算",
        )
    return cycle


def renewal_refusal(
    studio: Studio, cycles: Sequence[Cycle], final_grade: str | None, policy: Policy
) -> str | None:
    """Why ``studio`` may not be renamed for a new cycle (继续命名), or ``None``: it must
    not be cancelled, its last cycle must be closed, and that cycle's final assessment
    (the grade of its last year, ``final_grade``) must be among the policy's
    ``renewal_grades``."""
    if not cycles:
        return f"{studio.code} 没有周期记录，不能继续命名"
    last = max(cycles, key=lambda c: c.number)
    if studio.cancelled_on is not None:
        return f"{studio.code} 已于{studio.cancelled_on}撤销，不能继续命名"
    if last.closed_on is None:
        return (
            f"{studio.code} {last.label}尚未结算：先结算（cycles close）再继续命名，"
            "以免新周期的经费与上一周期的结余混在一起"
        )
    if final_grade is None:
        return f"{studio.code} {last.last_year}年度（终结性考核）结果未录入，不能继续命名"
    if final_grade not in policy.renewal_grades:
        return (
            f"{studio.code} 终结性考核（{last.last_year}年度）为"
            f"{GRADE_LABELS.get(final_grade, final_grade)}，不再命名和授牌"
        )
    return None


def closed_for(cycles: Iterable[Cycle], year: int) -> set[str]:
    """The studios whose cycle holding ``year`` is closed: that year gets no budget, for
    the close sent every fen home and closes once."""
    return {c.studio for c in cycles if c.closed_on is not None and year in c.years}


def reinstatement_refusal(
    stored: Studio | None, saved: Studio, cycles: Sequence[Cycle]
) -> str | None:
    """Why a roster may not save ``saved`` over ``stored``, or ``None``: a cancellation
    may be corrected while the studio's cycle is open, but a studio whose last cycle is
    closed stays cancelled (its funds went home; a new cycle is a renewal, and only for
    a studio not cancelled)."""
    if stored is None or stored.cancelled_on is None or saved.cancelled_on is not None:
        return None
    last = max(cycles, key=lambda c: c.number, default=None)
    if last is None or last.closed_on is None:
        return None
    return (
        f"{saved.code} 已于{stored.cancelled_on}撤销，其{last.label}已于{last.closed_on}"
        "结算，不能在名册中恢复为正常"
    )


def returns_to_units(pool: Fen, paid_in: Mapping[Account, Fen]) -> list[tuple[Account, Fen]]:
    """How a unit pool of ``pool`` fen goes back: to each unit source account in
    ``paid_in`` (what it paid into the pool, net) in proportion, by largest remainder,
    in address order. Refused when there is money but nobody paid it in."""
    payers = sorted((a, fen) for a, fen in paid_in.items() if fen > 0)
    if pool <= 0:
        return []
    if not payers:
        raise ValidationError(
            "studio",
            f"资金池余额{format_plain(pool)}元，但没有单位拨入的记录，无法确定退回对象",
        )
    parts = split(pool, [fen for _, fen in payers])
    return [(a, part) for (a, _), part in zip(payers, parts, strict=True) if part > 0]


def close_key(studio: str, number: int) -> str:
    return f"cycle-close:{studio}:{number}"


def close_voucher(
    studio: Studio,
    cycle: Cycle,
    pools: Mapping[str, Fen],
    paid_in: Mapping[str, Mapping[Account, Fen]],
    on: date,
) -> NewTransaction | None:
    """The one voucher returning every unspent fen of a closing cycle: ``pools`` is each
    fund account's balance (:data:`POOLS`), ``paid_in`` each unit pool's net payments
    by unit source account. ``None`` when nothing is left."""
    postings: list[Posting] = []
    for pool in POOLS:
        left = pools.get(pool, 0)
        if left < 0:
            raise ValidationError(
                "studio",
                f"{studio.code} {pool_label(pool)}资金余额为{format_plain(left)}元，"
                "已透支，不能结算",
            )
        fund = studio_fund(studio.code, pool)
        backs = (
            returns_to_units(left, paid_in.get(pool, {}))
            if pool in UNIT_POOLS
            else ([(source_account(pool), left)] if left else [])
        )
        postings += [
            Posting(fund, back, amount, f"{cycle.label}结余退回（{pool_label(pool)}）")
            for back, amount in backs
        ]
    if not postings:
        return None
    return NewTransaction(
        idempotency_key=close_key(studio.code, cycle.number),
        effective_date=on,
        memo=f"{studio.code}{cycle.label}终结，结余资金退回",
        postings=tuple(postings),
        metadata={"kind": "cycle_close", "studio": studio.code, "cycle": cycle.number},
    )


def pool_label(pool: str) -> str:
    return POOL_LABELS[pool]
