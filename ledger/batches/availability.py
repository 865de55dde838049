"""What a batch leaves in each studio's fund: the figures an approver checks before
approving (SPEC §5: the overdraft guard refuses the approval anyway; the approver should
see it coming, line by line).

A batch's lines draw on their studio's fund by source (``line.split``: county finance
and the education foundation); a reissue draws on nothing (its money is payable
already). Before the approval the figures start from what the funds can still pay — the
balance now less what other draft batches would take (:func:`disbursement.available_funds`,
the approval's own rule); once the approval voucher is posted, from the approval day's
closing balances with this batch's own postings added back — the approval day's funds
without this batch, exact and read from the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.batches import disbursement
from ledger.batches.batch import Batch, BatchLine
from ledger.books.accounts import FUNDING_SOURCES, studio_fund
from ledger.errors import NotFoundError
from ledger.money import Fen


@dataclass(frozen=True, slots=True)
class StudioFunds:
    """One studio's fund by source around a batch: before it, what it takes, after."""

    studio: str
    before: Mapping[str, Fen]
    taken: Mapping[str, Fen]

    @property
    def after(self) -> dict[str, Fen]:
        return {s: self.before.get(s, 0) - self.taken.get(s, 0) for s in self.sources}

    @property
    def sources(self) -> list[str]:
        order = list(FUNDING_SOURCES)
        return sorted(set(self.before) | set(self.taken), key=order.index)

    @property
    def short(self) -> bool:
        """Some source would be left below zero: the approval will be refused."""
        return any(v < 0 for v in self.after.values())


@dataclass(frozen=True, slots=True)
class LineFunds:
    """The line's studio's available fund (all its sources) before and after the line,
    taking the batch's lines in order; ``short`` when the line takes a source below
    zero."""

    before: Fen
    after: Fen
    short: bool


@dataclass(frozen=True, slots=True)
class Availability:
    """The batch's studios (in code order) and its drawing lines by number; ``basis``
    says which day's funds the figures start from."""

    studios: tuple[StudioFunds, ...]
    lines: Mapping[int, LineFunds]
    basis: str


def drawing(lines: Sequence[BatchLine]) -> list[BatchLine]:
    """The lines that take money from a fund: all but reissues."""
    return [x for x in lines if x.reissue_of is None]


def running(
    lines: Sequence[BatchLine], opening: Mapping[tuple[str, str], Fen]
) -> tuple[tuple[StudioFunds, ...], dict[int, LineFunds]]:
    """Each drawing line's studio fund before and after it, from ``opening`` ((studio,
    source) → balance), in line order; and each studio's whole before, take and after.
    One pass over the lines, each studio's total kept as it goes (a national batch has
    900,000 lines)."""
    left = dict(opening)
    total = {studio: sum(pools.values()) for studio, pools in by_studio(opening).items()}
    found: dict[int, LineFunds] = {}
    for line in drawing(lines):
        before = total.get(line.studio, 0)
        for source, amount in line.split.items():
            left[line.studio, source] = left.get((line.studio, source), 0) - amount
        after = total[line.studio] = before - sum(line.split.values())
        short = any(left[line.studio, source] < 0 for source in line.split)
        found[line.number] = LineFunds(before, after, short)
    pools, taken = by_studio(opening), by_studio(taken_by(lines))
    studios = tuple(
        StudioFunds(studio, pools.get(studio, {}), taken.get(studio, {}))
        for studio in sorted({x.studio for x in drawing(lines)})
    )
    return studios, found


def by_studio(amounts: Mapping[tuple[str, str], Fen]) -> dict[str, dict[str, Fen]]:
    """(studio, source) → amount, as studio → source → amount."""
    grouped: dict[str, dict[str, Fen]] = {}
    for (studio, source), amount in amounts.items():
        grouped.setdefault(studio, {})[source] = amount
    return grouped


def taken_by(lines: Sequence[BatchLine]) -> dict[tuple[str, str], Fen]:
    """What ``lines`` take from each (studio, source)."""
    taken: dict[tuple[str, str], Fen] = {}
    for line in drawing(lines):
        for source, amount in line.split.items():
            taken[line.studio, source] = taken.get((line.studio, source), 0) + amount
    return taken


def availability(stores: disbursement.Stores, batch: Batch) -> Availability:
    """The funds around ``batch``, read from the ledger (see the module's docstring)."""
    lines = drawing(batch.lines)
    mine = taken_by(lines)
    seqs = {x.approval_seq for x in lines if x.approval_seq is not None}
    if not seqs:
        # what other drafts would take is not this batch's to spend (the rule the
        # approval and the home page's 可用 both keep: available_funds)
        free = disbursement.available_funds(stores, {studio for studio, _ in mine})
        own = mine if batch.state.commits_funds else {}
        opening = {p: free[p] + own.get(p, 0) for p in mine}
        return Availability(*running(batch.lines, opening), basis="按当前余额减去其他草稿批次占用")
    approval = stores.ledger.get(min(seqs))
    if approval is None:
        raise NotFoundError(f"批次 #{batch.id} 的审批凭证（序号 {min(seqs)}）不在账中")
    day = approval.effective_date
    closing = stores.ledger.balances_as_of(day)
    # a pool the approval took nothing from may never have held money: it starts at zero
    opening = {p: closing.get(studio_fund(*p), 0) + fen for p, fen in mine.items()}
    return Availability(
        *running(batch.lines, opening), basis=f"按审批日 {day.isoformat()} 日终余额加回本批次"
    )
