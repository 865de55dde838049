"""Annual appropriation (拨款): a studio's budget for a year, split by funding source.

Invariant: the parts posted to a studio's fund accounts sum exactly to the
policy's annual budget (largest-remainder split), and one studio-year is
appropriated at most once (its idempotency key).
"""

from __future__ import annotations

from datetime import date

from ledger.accounts import source_account, studio_fund
from ledger.money import split
from ledger.policy import Policy
from ledger.postings import NewTransaction, Posting


def appropriation_key(studio: str, year: int) -> str:
    return f"appropriation:{year}:{studio}"


def appropriation(studio: str, year: int, policy: Policy, effective_date: date) -> NewTransaction:
    """The transaction that funds ``studio`` for ``year`` from each source, by ``policy``."""
    sources = list(policy.source_shares)
    parts = split(policy.annual_budget, [policy.source_shares[s] for s in sources])
    return NewTransaction(
        idempotency_key=appropriation_key(studio, year),
        effective_date=effective_date,
        memo=f"{year}年度工作室业务经费拨款",
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
        },
    )
