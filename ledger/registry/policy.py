"""Funding policy as data (SPEC §1): every number of the notice lives here, not in code.

A :class:`Policy` is versioned by program year. A result (an appropriation, an
entitlement line, a batch) records the version it was computed with, and a
stored version is never changed, so changing policy never changes a past
result: a new year's policy is a new record.

:data:`NOTICE_2024` holds the founding notice's values (杭政办发〔2024〕2号) and is
the default policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final

from ledger.clock import FIRST_YEAR, LAST_YEAR
from ledger.codes import FundingSource, Grade, StudioKind, codes, labels
from ledger.errors import InvalidInputError, ValidationError, hidden_character_error
from ledger.money import Fen, yuan

GRADES: Final = codes(Grade)
"""Assessment results: 优秀, 合格, 不合格."""

GRADE_LABELS: Final = labels(Grade)
STUDIO_KINDS: Final = labels(StudioKind)

WITHHOLDING_RULES: Final = ("prc_labour_remuneration", "none")
"""``prc_labour_remuneration``: the PRC prepayment rule for 劳务报酬; ``none``: no tax."""


@dataclass(frozen=True, slots=True)
class Policy:
    """One program year's policy.

    Attributes:
      version: identifies this record; every result stores it.
      year: the first program year it governs (until a later year's policy).
      annual_budget: 业务经费 per studio per year, fen.
      source_shares: percent of the budget (and of each stipend) from each source;
        they add up to 100.
      host_stipend: 主持人劳务补贴 per year, fen.
      member_stipend: 成员劳务补贴 per year, fen (travel included).
      grade_ratios: grade → percent of the stipend paid.
      proration_day: a person is paid for a month when active on this day of it.
      max_paid_members: 成员 at most (the host not counted).
      min_external_members: 成员 from other units than the host unit, at least.
      max_trainees: 学员 at most (unpaid).
      matching_minimum: the host unit's 专项配套经费 per year, at least, fen.
      quotas: studios per kind in a round.
      cycle_years: length of a studio's cycle.
      host_forfeits_on_cancellation: a cancelled studio's host loses that year's stipend.
      withholding: income tax withholding rule, one of :data:`WITHHOLDING_RULES`.
      approval_threshold: a batch above this gross total needs two approvers, fen.
      funding_ratios: 考核发放 — grade of year Y → percent of year Y+1's appropriation the
        studio receives (a studio's first year is funded whole); a studio at 0% is held
        until the 领导小组 records a decision restoring it.
      renewal_grades: the final assessment grades (the December grade of a cycle's last
        year) with which a studio may be renamed for a new cycle (继续命名).
      travel_included: 含差旅费 — a host's and a member's stipend includes their travel,
        so a 差旅费 expense claimed for a paid member of the same studio is refused.
    """

    version: str
    year: int
    annual_budget: Fen
    source_shares: Mapping[str, int]
    host_stipend: Fen
    member_stipend: Fen
    grade_ratios: Mapping[str, int]
    proration_day: int
    max_paid_members: int
    min_external_members: int
    max_trainees: int
    matching_minimum: Fen
    quotas: Mapping[str, int]
    cycle_years: int
    host_forfeits_on_cancellation: bool
    withholding: str
    approval_threshold: Fen
    funding_ratios: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(
            {"excellent": 100, "qualified": 100, "unqualified": 0}
        )
    )
    renewal_grades: tuple[str, ...] = ("excellent", "qualified")
    travel_included: bool = True

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for storage: mappings as dicts, amounts in fen."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            k: dict(v) if isinstance(v, Mapping) else list(v) if isinstance(v, tuple) else v
            for k, v in values.items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        """A policy from stored or submitted JSON; every problem reported with its field."""
        errors = policy_errors(data)
        if errors:
            raise InvalidInputError(errors)
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for name in ("source_shares", "grade_ratios", "quotas", "funding_ratios"):
            if name in values:
                values[name] = MappingProxyType(dict(values[name]))
        if "renewal_grades" in values:
            values["renewal_grades"] = tuple(values["renewal_grades"])
        return cls(**values)


_INT_FIELDS: Final = (
    "year",
    "annual_budget",
    "host_stipend",
    "member_stipend",
    "proration_day",
    "max_paid_members",
    "min_external_members",
    "max_trainees",
    "matching_minimum",
    "cycle_years",
    "approval_threshold",
)


MAX_POLICY_NUMBER: Final = 10**12
"""No policy amount or count is larger: 10 billion 元."""


def _is_int(value: object) -> bool:
    return type(value) is int


CYCLE_FIELDS: Final = ("funding_ratios", "renewal_grades", "travel_included")
"""Fields added for the whole cycle (issue 18): a policy stored before them has the
notice's defaults (:class:`Policy`), so no stored record needs rewriting."""


def policy_errors(data: Mapping[str, Any]) -> list[ValidationError]:
    """Every reason ``data`` is not an acceptable policy."""
    errors: list[ValidationError] = []
    missing = [f.name for f in fields(Policy) if f.name not in data and f.name not in CYCLE_FIELDS]
    errors.extend(ValidationError(name, "必填") for name in missing)
    unknown = sorted(set(data) - {f.name for f in fields(Policy)})
    errors.extend(ValidationError(name, "不是政策的字段") for name in unknown)
    if missing:
        return errors
    if not isinstance(data["version"], str) or not data["version"].strip():
        errors.append(ValidationError("version", "须填写，不能为空"))
    errors.extend(
        ValidationError(name, "须为不小于0的整数")
        for name in _INT_FIELDS
        if not _is_int(data[name]) or data[name] < 0
    )
    if _is_int(data["year"]) and not FIRST_YEAR <= data["year"] <= LAST_YEAR:
        errors.append(ValidationError("year", f"须为{FIRST_YEAR}至{LAST_YEAR}年之间的项目年度"))
    errors.extend(
        ValidationError(name, f"不能大于{MAX_POLICY_NUMBER}")
        for name in _INT_FIELDS
        if _is_int(data[name]) and data[name] > MAX_POLICY_NUMBER
    )
    if not isinstance(data["version"], str) or len(data["version"]) > 100:
        errors.append(ValidationError("version", "须为文本，最多100个字符"))
    elif hidden := hidden_character_error("version", data["version"]):
        errors.append(hidden)
    if _is_int(data["proration_day"]) and not 1 <= data["proration_day"] <= 28:
        errors.append(ValidationError("proration_day", "须为1至28之间的整数（每月第几日）"))
    shares = data["source_shares"]
    if (
        not isinstance(shares, Mapping)
        or set(shares) != {"finance", "edu_fund"}
        or not all(_is_int(v) and 0 <= v <= 100 for v in shares.values())
        or sum(shares.values()) != 100
    ):
        errors.append(
            ValidationError(
                "source_shares",
                f"须给出 finance（{FundingSource.FINANCE.label}）和 edu_fund"
                f"（{FundingSource.EDU_FUND.label}）的整数百分比，两者合计为100",
            )
        )
    if not _percent_per_grade(data["grade_ratios"]):
        errors.append(
            ValidationError(
                "grade_ratios", f"须为每个等次给出0至100的整数百分比：{_listed(GRADE_LABELS)}"
            )
        )
    quotas = data["quotas"]
    if (
        not isinstance(quotas, Mapping)
        or not set(quotas) <= set(STUDIO_KINDS)
        or not all(_is_int(v) and v >= 0 for v in quotas.values())
    ):
        errors.append(
            ValidationError("quotas", f"须为不小于0的整数，类型只能是：{_listed(STUDIO_KINDS)}")
        )
    if data["withholding"] not in WITHHOLDING_RULES:
        errors.append(ValidationError("withholding", f"应为 {'/'.join(WITHHOLDING_RULES)} 之一"))
    if not isinstance(data["host_forfeits_on_cancellation"], bool):
        errors.append(ValidationError("host_forfeits_on_cancellation", "须为 true 或 false"))
    return errors + _cycle_errors(data)


def _listed(choices: Mapping[str, str]) -> str:
    """``excellent（优秀）、qualified（合格）…``: each code with its label, for a refusal."""
    return "、".join(f"{code}（{label}）" for code, label in choices.items())


def _percent_per_grade(value: object) -> bool:
    """Whether ``value`` gives every grade a whole percent from 0 to 100."""
    return (
        isinstance(value, Mapping)
        and set(value) == set(GRADES)
        and all(_is_int(v) and 0 <= v <= 100 for v in value.values())
    )


def _cycle_errors(data: Mapping[str, Any]) -> list[ValidationError]:
    """The cycle's fields, where given (a policy stored before them has none)."""
    errors = []
    if not _percent_per_grade(data.get("funding_ratios", dict.fromkeys(GRADES, 0))):
        errors.append(
            ValidationError(
                "funding_ratios",
                f"须为每个等次给出下一年度拨款的百分比（0至100的整数）：{_listed(GRADE_LABELS)}",
            )
        )
    renewal = data.get("renewal_grades", [])
    if (
        not isinstance(renewal, list | tuple)
        or not set(renewal) <= set(GRADES)
        or len(set(renewal)) != len(renewal)
    ):
        errors.append(
            ValidationError(
                "renewal_grades", f"须列出不重复的等次，只能是：{_listed(GRADE_LABELS)}"
            )
        )
    if not isinstance(data.get("travel_included", True), bool):
        errors.append(ValidationError("travel_included", "须为 true 或 false"))
    return errors


NOTICE_2024: Final = Policy.from_json(
    {
        "version": "杭政办发〔2024〕2号",
        "year": 2024,
        "annual_budget": yuan(50_000),
        "source_shares": {"finance": 50, "edu_fund": 50},
        "host_stipend": yuan(10_000),
        "member_stipend": yuan(5_000),
        "grade_ratios": {"excellent": 100, "qualified": 100, "unqualified": 0},
        "proration_day": 15,
        "max_paid_members": 8,
        "min_external_members": 5,
        "max_trainees": 10,
        "matching_minimum": yuan(2_000),
        "quotas": {"principal": 2, "homeroom": 5, "subject": 15},
        "cycle_years": 3,
        "host_forfeits_on_cancellation": True,
        "withholding": "prc_labour_remuneration",
        "approval_threshold": yuan(100_000),
        "funding_ratios": {"excellent": 100, "qualified": 100, "unqualified": 0},
        "renewal_grades": ["excellent", "qualified"],
        "travel_included": True,
    }
)
"""The founding notice's values: the default policy."""


def policy_for_year(policies: list[Policy], year: int) -> Policy:
    """The policy governing ``year``: the latest one whose year is not after it."""
    governing = [p for p in policies if p.year <= year]
    if not governing:
        earliest = min((p.year for p in policies), default=None)
        raise ValidationError(
            "year",
            f"没有适用于{year}年度的政策"
            + (
                "（尚未录入任何政策）"
                if earliest is None
                else f"（最早的政策从{earliest}年度起适用）"
            ),
        )
    return max(governing, key=lambda p: p.year)
