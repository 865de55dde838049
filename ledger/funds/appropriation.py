"""Annual appropriation (拨款) and funding by assessment (考核发放).

A studio's budget for a year is the policy's ``annual_budget`` times its funding share,
split by source. The share follows the studio's grade of the year before
(:func:`funding_share`, the policy's ``funding_ratios``): a studio's first year is
funded whole; a missing grade holds the studio (nobody is funded on a guess); a grade
at 0% (不合格) holds it until the 领导小组 records a decision restoring it
(:class:`FundingDecision`).

Invariant: the parts posted to a studio's fund accounts sum exactly to its share of
the budget (rounded half-up once, then split by largest remainder), and one
studio-year is appropriated at most once (its idempotency key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from ledger.books.accounts import source_account, studio_fund
from ledger.books.postings import NewTransaction, Posting
from ledger.errors import ValidationError, text_errors
from ledger.money import Fen, percent_of, split
from ledger.registry.policy import GRADE_LABELS, Policy
from ledger.registry.roster import MAX_REASON, Studio

FULL: Final = 100


@dataclass(frozen=True, slots=True)
class FundingDecision:
    """A 领导小组 decision restoring a held studio's funding for a year: who recorded it,
    when (naive UTC), why, and the percent of the budget it restores."""

    studio: str
    year: int
    percent: int
    reason: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class FundingShare:
    """The percent of a year's budget a studio receives and why, in plain Chinese; a
    share of 0 holds the studio back, and ``awaits_decision`` says it is held for its
    grade, so that only a 领导小组 decision restores it."""

    percent: int
    basis: str
    awaits_decision: bool = False

    @property
    def held(self) -> bool:
        return self.percent == 0


def funding_share(
    studio: Studio,
    year: int,
    policy: Policy,
    prior_grade: str | None,
    decision: FundingDecision | None = None,
) -> FundingShare:
    """What share of ``year``'s budget ``studio`` receives: whole in its first year, else
    by its grade of the year before (``prior_grade``) as the policy's ``funding_ratios``
    say, and a held studio as ``decision`` restores it."""
    if year == studio.cycle_start_year:
        return FundingShare(FULL, f"{year}年为首年，全额拨付")
    before = year - 1
    if prior_grade is None:
        return FundingShare(0, f"{before}年度考核结果未录入，暂缓拨付")
    label = GRADE_LABELS.get(prior_grade, prior_grade)
    ratio = policy.funding_ratios.get(prior_grade, 0)
    if ratio > 0:
        return FundingShare(ratio, f"{before}年度考核{label}，拨付{ratio}%")
    if decision is not None:
        return FundingShare(
            decision.percent,
            f"{before}年度考核{label}，经领导小组决定恢复拨付{decision.percent}%"
            f"（{decision.decided_by}：{decision.reason}）",
        )
    return FundingShare(
        0,
        f"{before}年度考核{label}，按政策暂停拨付，待领导小组决定恢复",
        awaits_decision=True,
    )


def decision_errors(percent: int, reason: str) -> list[ValidationError]:
    """What is wrong with a decision's percent and reason, before any studio is read."""
    errors = []
    if type(percent) is not int or not 1 <= percent <= FULL:
        errors.append(ValidationError("percent", "须为1至100的整数百分比"))
    if not reason.strip():
        errors.append(ValidationError("reason", "领导小组决定须写明理由"))
    else:
        errors += text_errors("reason", reason, MAX_REASON)
    return errors


def appropriation_key(studio: str, year: int) -> str:
    return f"appropriation:{year}:{studio}"


def appropriation(
    studio: str, year: int, policy: Policy, effective_date: date, percent: int = FULL
) -> NewTransaction:
    """The transaction that funds ``studio`` for ``year`` from each source: ``percent``
    of the policy's budget, split by the policy's shares."""
    sources = list(policy.source_shares)
    budget: Fen = percent_of(policy.annual_budget, percent)
    parts = split(budget, [policy.source_shares[s] for s in sources])
    share = "" if percent == FULL else f"（按考核结果拨付{percent}%）"
    return NewTransaction(
        idempotency_key=appropriation_key(studio, year),
        effective_date=effective_date,
        memo=f"{year}年度工作室业务经费拨款{share}",
        postings=tuple(
            Posting(source_account(source), studio_fund(studio, source), amount)
            for source, amount in zip(sources, parts, strict=True)
            if amount > 0
        ),
        metadata={
            "kind": "appropriation",
            "studio": studio,
            "year": year,
            "policy": policy.version,
            "percent": percent,
        },
    )
