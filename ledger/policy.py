"""Funding policy as data (SPEC §1): every number of the notice lives here, not in code.

A :class:`Policy` is versioned by program year; a result records the version
it was computed with, so changing a policy never changes a past result.
This first version holds the funding numbers; the registry and stipend rules
join it as the capabilities that use them are built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from ledger.money import Fen, yuan


def _frozen(values: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True)
class Policy:
    """One year's funding policy.

    Attributes:
      version: identifies this record; results store it.
      year: the program year it governs.
      annual_budget: 业务经费 per studio per year, fen.
      source_shares: how the budget splits between funding sources (weights).
      quotas: studios per kind in a round.
    """

    version: str
    year: int
    annual_budget: Fen
    source_shares: Mapping[str, int]
    quotas: Mapping[str, int] = field(default_factory=dict)


NOTICE_2024: Final = Policy(
    version="杭政办发〔2024〕2号/v1",
    year=2024,
    annual_budget=yuan(50_000),
    source_shares=_frozen({"finance": 50, "edu_fund": 50}),
    quotas=_frozen({"principal": 2, "homeroom": 5, "subject": 15}),
)
"""The founding notice's numbers: the default policy."""
