"""The entitlement engine: who is owed what stipend (劳务补贴) for a year (SPEC §1).

Pure functions from the registry, the year's grades and the policy to one
:class:`EntitlementLine` per payee and studio, each with a plain Chinese
explanation of how its amount was reached.

Rules (all numbers from the policy):
- a person is paid for the calendar months of the year in which they were an
  active host or member on the proration day (the 15th) while the studio was
  in its cycle and not yet cancelled; trainees are never paid;
- amount = annual stipend × months / 12 × grade ratio, rounded half-up to the
  fen once, at the end; twelve months at 100% is exactly the annual stipend;
- the host's grade is the studio's; a member's is their own where recorded,
  else the studio's; a missing grade holds the line (nobody is paid on a guess);
- a studio cancelled during the year: its host forfeits the year's stipend when
  the policy says so; members are paid for the months before cancellation;
- each amount is split between funding sources by the policy's shares, by
  largest remainder, so the parts sum to the whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from ledger.money import Fen, format_plain, round_half_up, split
from ledger.registry.policy import GRADE_LABELS, Policy
from ledger.registry.roster import ROLE_LABELS, Membership, Person, Studio

PAID_ROLES = ("host", "member")


@dataclass(frozen=True, slots=True)
class EntitlementLine:
    """What one payee is owed by one studio for one year.

    Attributes:
      months: the calendar months (1-12) paid for.
      grade: the grade used, or ``None`` when missing (then ``held`` says why).
      grade_source: ``studio`` or ``person``: whose grade was used.
      ratio: percent of the prorated stipend paid for that grade.
      annual: the role's annual stipend, fen.
      gross: the amount owed, fen (0 when held or forfeited).
      split: gross by funding source, fen.
      explanation: how the amount was reached, in plain Chinese.
      held: why the line is held back, or ``None``.
      policy_version: the policy that produced this line.
    """

    year: int
    studio: str
    person: str
    name: str
    role: str
    months: tuple[int, ...]
    grade: str | None
    grade_source: str | None
    ratio: int
    annual: Fen
    gross: Fen
    split: Mapping[str, Fen]
    explanation: str
    held: str | None
    policy_version: str


def prorated(annual: Fen, months: int, ratio: int) -> Fen:
    """annual × months / 12 × ratio%, rounded half-up to the fen once."""
    return round_half_up(annual * months * ratio, 12 * 100)


def paid_months(
    memberships: Iterable[Membership], studio: Studio, year: int, policy: Policy
) -> tuple[int, ...]:
    """Months of ``year`` in which one of ``memberships`` was active on the proration day
    while the studio was in its cycle and not cancelled."""
    if year not in studio.cycle_years(policy):
        return ()
    spans = list(memberships)
    months = []
    for month in range(1, 13):
        day = date(year, month, policy.proration_day)
        if not studio.active_on(day):
            break
        if any(m.active_on(day) for m in spans):
            months.append(month)
    return tuple(months)


def describe_months(year: int, months: tuple[int, ...]) -> str:
    """``2024年1-3月、7-12月``."""
    runs: list[tuple[int, int]] = []
    for m in months:
        if runs and runs[-1][1] == m - 1:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    text = "、".join(f"{a}-{b}月" if a != b else f"{a}月" for a, b in runs)
    return f"{year}年{text}"


def entitlements(
    year: int,
    policy: Policy,
    *,
    studios: Iterable[Studio],
    people: Iterable[Person],
    memberships: Iterable[Membership],
    studio_grades: Mapping[str, str],
    person_grades: Mapping[tuple[str, str], str],
) -> list[EntitlementLine]:
    """One line per (studio, payee, role) paid for at least one month of ``year``.

    ``studio_grades`` maps studio code → grade; ``person_grades`` maps
    (studio code, person code) → grade, both for ``year``. Memberships are grouped
    by studio in one pass, so the work grows linearly with the registry (a scan per
    studio made 100,000 studios take days).
    """
    names = {p.code: p.name for p in people}
    by_studio: dict[str, dict[tuple[str, str], list[Membership]]] = {}
    for m in memberships:
        if m.role in PAID_ROLES:
            by_studio.setdefault(m.studio, {}).setdefault((m.person, m.role), []).append(m)
    lines = []
    for studio in sorted(studios, key=lambda s: s.code):
        for (person, role), spans in sorted(by_studio.get(studio.code, {}).items()):
            months = paid_months(spans, studio, year, policy)
            if months:
                grade, source = _grade(studio.code, person, role, studio_grades, person_grades)
                lines.append(
                    _line(
                        year,
                        policy,
                        studio,
                        _Payee(person, names.get(person, person), role),
                        months=months,
                        grade=grade,
                        source=source,
                    )
                )
    return lines


@dataclass(frozen=True, slots=True)
class _Payee:
    code: str
    name: str
    role: str


def _grade(
    studio: str,
    person: str,
    role: str,
    studio_grades: Mapping[str, str],
    person_grades: Mapping[tuple[str, str], str],
) -> tuple[str | None, str | None]:
    """The grade that decides the line and whose it is: a member's own, else the studio's."""
    own = person_grades.get((studio, person)) if role == "member" else None
    if own is not None:
        return own, "person"
    if studio in studio_grades:
        return studio_grades[studio], "studio"
    return None, None


def _line(
    year: int,
    policy: Policy,
    studio: Studio,
    payee: _Payee,
    *,
    months: tuple[int, ...],
    grade: str | None,
    source: str | None,
) -> EntitlementLine:
    role = payee.role
    annual = policy.host_stipend if role == "host" else policy.member_stipend
    who = f"{ROLE_LABELS[role]}，{describe_months(year, months)}在册{len(months)}个月"

    def line(gross: Fen, ratio: int, explanation: str, held: str | None = None) -> EntitlementLine:
        shares = list(policy.source_shares)
        parts = split(gross, [policy.source_shares[s] for s in shares])
        return EntitlementLine(
            year,
            studio.code,
            payee.code,
            payee.name,
            role,
            months,
            grade,
            source,
            ratio,
            annual,
            gross,
            dict(zip(shares, parts, strict=True)),
            explanation,
            held,
            policy.version,
        )

    cancelled = studio.cancelled_on
    if (
        role == "host"
        and cancelled is not None
        and cancelled.year == year
        and policy.host_forfeits_on_cancellation
    ):
        return line(
            0,
            0,
            f"{who}；工作室于{cancelled.isoformat()}撤销，按政策主持人当年劳务补贴不予发放：0.00",
        )
    if grade is None:
        reason = f"缺少{year}年度考核等次，暂缓发放"
        return line(0, 0, f"{who}；{reason}", held=reason)
    ratio = policy.grade_ratios[grade]
    gross = prorated(annual, len(months), ratio)
    formula = f"{format_plain(annual)}×{len(months)}/12"
    if ratio != 100:
        formula += f"×{ratio}%"
    return line(
        gross, ratio, f"{who}，等次{GRADE_LABELS[grade]}({ratio}%)：{formula}={format_plain(gross)}"
    )
