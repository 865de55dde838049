"""The program registry: studios, people and memberships, and the composition rules.

Records here are plain frozen values; storing them is ``schema.registry_store``'s
job. The composition rules of the notice are checked by :func:`composition_findings`,
which sorts what it finds into refusals (the roster would make money wrong: two
hosts at once, more paid members than the policy pays, one person counted twice)
and warnings (the roster breaks a rule of the notice without changing any
amount: too few members from other units, too many trainees, no host, quotas).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from operator import mul
from typing import Final

from ledger import clock
from ledger.clock import future_date_error
from ledger.codes import CancellationCause, MemberRole, StudioStatus, codes, labels
from ledger.errors import FutureDateError, ValidationError, text_errors
from ledger.registry.policy import GRADE_LABELS, STUDIO_KINDS, Policy

ROLES: Final = codes(MemberRole)
ROLE_LABELS: Final = labels(MemberRole)
STATUSES: Final = codes(StudioStatus)
STATUS_LABELS: Final = labels(StudioStatus)
CANCELLATION_CAUSES: Final = labels(CancellationCause)
MAX_ROUND: Final = 99
FIRST_YEAR: Final = clock.FIRST_YEAR
LAST_YEAR: Final = clock.LAST_YEAR
"""The years a program record may name (the books' days': :mod:`ledger.clock`)."""

# The longest text each field holds (characters): the import, the HTTP body and the
# table columns all read these, so a longer value is refused naming its field
# before it reaches the database.
MAX_NAME: Final = 50  # 姓名
MAX_UNIT: Final = 100  # 所在单位, 挂牌单位, 工作室名称
MAX_BANK_NAME: Final = 100  # 开户银行
MAX_BANK_ACCOUNT: Final = 40  # 银行账号
MAX_PHONE: Final = 20  # 手机号
MAX_REASON: Final = 200  # 撤销原因, a bank return's or a rejection's reason
CODE_PATTERN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")


@dataclass(frozen=True, slots=True)
class Studio:
    """A studio (工作室).

    Attributes:
      code: 工作室编号, also its account segment (``studio:<code>:...``).
      kind: one of ``principal``, ``homeroom``, ``subject``.
      host_unit: 挂牌单位, the unit that hosts it and pays matching funds.
      cycle_start_year: first year of its first 3-year cycle (the round's start).
      cancelled_on: the date it was cancelled (撤销), if it was.
      cancellation_reason: what the record says of the cancellation (说明), free text.
      round: the round (轮次) it was named in; quotas count per round.
      cancellation_cause: why it was cancelled, one of :data:`CANCELLATION_CAUSES`
        (``None`` on a record from before causes were coded, or when not cancelled).
      cycle_end_year: the last year of its latest cycle, as its cycles are kept
        (renewal adds a cycle); ``None`` for a studio not stored yet, whose one cycle
        lasts the policy's ``cycle_years``.
    """

    code: str
    name: str
    kind: str
    host_unit: str
    cycle_start_year: int
    cancelled_on: date | None = None
    cancellation_reason: str = ""
    round: int = 1
    cancellation_cause: str | None = None
    cycle_end_year: int | None = None

    @property
    def status(self) -> str:
        return "active" if self.cancelled_on is None else "cancelled"

    def active_on(self, day: date) -> bool:
        """Not cancelled on or before ``day``: the one rule of whether a studio is
        funded, paid, owes a close or may be closed on a day."""
        return self.cancelled_on is None or self.cancelled_on > day

    def cycle_years(self, policy: Policy) -> range:
        """Every year of its cycles (they follow one another: a renewed cycle starts the
        year after the last one ends)."""
        end = self.cycle_end_year
        if end is None:
            end = self.cycle_start_year + policy.cycle_years - 1
        return range(self.cycle_start_year, end + 1)


@dataclass(frozen=True, slots=True)
class Person:
    """A person in the program.

    Attributes:
      code: internal payee code (``P000001``), used in account addresses so that
        ID numbers never appear in the ledger.
      id_number: 身份证号, checked against the GB 11643 check digit.
    """

    code: str
    id_number: str
    name: str
    unit: str
    bank_name: str = ""
    bank_account: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    """A person's place in a studio from ``joined_on`` to ``left_on`` (inclusive)."""

    studio: str
    person: str  # Person.code
    role: str
    joined_on: date
    left_on: date | None = None

    def active_on(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day <= self.left_on)


_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_ID_PATTERN: Final = re.compile(r"[1-9]\d{16}[\dX]")


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits of an ID number."""
    if len(first17) != len(_ID_WEIGHTS):
        raise ValueError(f"the check digit needs 17 digits, got {len(first17)}")
    return _ID_CHECK[sum(map(mul, map(int, first17), _ID_WEIGHTS)) % 11]


def normalize_id_number(text: str, *, field: str = "身份证号") -> str:
    """An 18-character resident ID number, checked; a lowercase ``x`` is accepted."""
    value = text.strip().upper()
    if refusal := _id_refusal(value):
        raise ValidationError(field, f"{refusal}：{text!r}")
    return value


@lru_cache(maxsize=16_384)  # an import checks each person's number several times
def _id_refusal(value: str) -> str | None:
    """Why ``value`` (stripped, upper case) is not a resident ID number, or None."""
    if not _ID_PATTERN.fullmatch(value):
        return "应为18位：17位数字加1位数字或X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "其中的出生日期无效"
    expected = id_check_digit(value[:17])
    if value[17] != expected:
        return f"校验位错误（最后一位应为{expected}）"
    return None


def check_studio_code(code: str, *, field: str = "工作室编号") -> str:
    if not CODE_PATTERN.fullmatch(code):
        raise ValidationError(
            field,
            f"只能用字母、数字和 - _ .，以字母或数字开头，最多40个字符：{code!r}",
        )
    return code


@dataclass(frozen=True, slots=True)
class PersonInput:
    """A person as a roster gives them: identified by ID number, code not yet known."""

    id_number: str
    name: str
    unit: str
    bank_name: str = ""
    bank_account: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class MembershipInput:
    studio: str
    id_number: str
    role: str
    joined_on: date
    left_on: date | None = None


def _text_errors(where: str, fields: Iterable[tuple[str, str, int, bool]]) -> list[ValidationError]:
    """Each (field, value, longest, required) that is blank when required or too long."""
    errors = []
    for name, value, limit, required in fields:
        if required and not value.strip():
            errors.append(ValidationError(f"{where}{name}", "必填"))
        else:
            errors += text_errors(f"{where}{name}", value, limit)
    return errors


def choice_errors(where: str, value: str, choices: Mapping[str, str]) -> list[ValidationError]:
    """``value`` must be one of the codes of ``choices`` (code → Chinese label)."""
    if value in choices:
        return []
    listed = "、".join(f"{code}（{label}）" for code, label in choices.items())
    return [ValidationError(where, f"应为 {listed} 之一：{value!r}")]


def studio_errors(studio: Studio, where: str = "", *, today: date) -> list[ValidationError]:
    """What is wrong with a studio record, whichever entry point it came through; a
    cancellation is a fact, so it is not dated after ``today``."""
    errors: list[ValidationError] = []
    try:
        check_studio_code(studio.code, field=f"{where}code")
    except ValidationError as error:
        errors.append(error)
    errors += _text_errors(
        where,
        (
            ("name", studio.name, MAX_UNIT, True),
            ("host_unit", studio.host_unit, MAX_UNIT, True),
            ("cancellation_reason", studio.cancellation_reason, MAX_REASON, False),
        ),
    )
    errors += choice_errors(f"{where}kind", studio.kind, STUDIO_KINDS)
    if not FIRST_YEAR <= studio.cycle_start_year <= LAST_YEAR:
        errors.append(
            ValidationError(f"{where}cycle_start_year", f"应为{FIRST_YEAR}至{LAST_YEAR}之间的年度")
        )
    if not 1 <= studio.round <= MAX_ROUND:
        errors.append(ValidationError(f"{where}round", f"轮次应为1至{MAX_ROUND}的整数"))
    if studio.cancelled_on is not None:
        if future := future_date_error(
            studio.cancelled_on, field=f"{where}cancelled_on", today=today
        ):
            errors.append(future)
        if studio.cancellation_cause is None:
            errors.append(
                ValidationError(
                    f"{where}cancellation_cause",
                    "撤销的工作室须选择撤销原因（" + "、".join(CANCELLATION_CAUSES.values()) + "）",
                )
            )
        else:
            errors += choice_errors(
                f"{where}cancellation_cause", studio.cancellation_cause, CANCELLATION_CAUSES
            )
    elif studio.cancellation_cause is not None or studio.cancellation_reason.strip():
        errors.append(
            ValidationError(
                f"{where}cancelled_on",
                "有撤销原因或撤销说明的工作室须填写撤销日期",
            )
        )
    return errors


def id_number_errors(value: str, where: str) -> list[ValidationError]:
    try:
        normalize_id_number(value, field=where)
    except ValidationError as error:
        return [error]
    return []


def person_errors(person: PersonInput, where: str = "") -> list[ValidationError]:
    """What is wrong with a person's details, whichever entry point they came through."""
    return id_number_errors(person.id_number, f"{where}id_number") + _text_errors(
        where,
        (
            ("name", person.name, MAX_NAME, True),
            ("unit", person.unit, MAX_UNIT, True),
            ("bank_name", person.bank_name, MAX_BANK_NAME, False),
            ("bank_account", person.bank_account, MAX_BANK_ACCOUNT, False),
            ("phone", person.phone, MAX_PHONE, False),
        ),
    )


def membership_errors(
    member: MembershipInput, where: str = "", *, today: date
) -> list[ValidationError]:
    """What is wrong with a place in a studio, before the composition rules look at it;
    joining and leaving are facts, so neither is dated after ``today``."""
    errors = choice_errors(f"{where}role", member.role, ROLE_LABELS)
    for name, day in (("joined_on", member.joined_on), ("left_on", member.left_on)):
        if day is not None and (future := future_date_error(day, field=where + name, today=today)):
            errors.append(future)
    if not CODE_PATTERN.fullmatch(member.studio):
        errors.append(ValidationError(f"{where}studio", f"不是有效的工作室编号：{member.studio!r}"))
    errors += id_number_errors(member.id_number, f"{where}id_number")
    if member.left_on is not None and member.left_on < member.joined_on:
        errors.append(ValidationError(f"{where}left_on", "退出日期早于加入日期"))
    return errors


@dataclass(frozen=True, slots=True)
class Finding:
    """A composition rule broken by a studio's roster."""

    studio: str
    rule: str
    message: str
    refused: bool


def _event_days(memberships: Sequence[Membership]) -> list[date]:
    """The days on which the set of active members can be at its largest."""
    return sorted({m.joined_on for m in memberships})


def composition_findings(
    studios: Iterable[Studio],
    people: Iterable[Person],
    memberships: Iterable[Membership],
    policy: Policy,
    quotas: Mapping[int, Mapping[str, int]] | None = None,
) -> list[Finding]:
    """Every composition rule the roster breaks, refusals first. ``quotas`` gives each
    round's quotas (default: ``policy``'s for every round)."""
    units = {p.code: p.unit for p in people}
    by_studio: dict[str, list[Membership]] = {}
    for m in memberships:
        by_studio.setdefault(m.studio, []).append(m)
    studio_list = list(studios)
    findings: list[Finding] = []
    for studio in studio_list:
        findings.extend(studio_findings(studio, by_studio.get(studio.code, []), units, policy))
    if quotas is None:
        quotas = {s.round: policy.quotas for s in studio_list}
    findings.extend(quota_findings(kind_counts(studio_list), quotas))
    return in_order(findings)


def in_order(findings: Iterable[Finding]) -> list[Finding]:
    """Refusals first, then by studio and rule."""
    return sorted(findings, key=lambda f: (not f.refused, f.studio, f.rule))


def studio_findings(
    studio: Studio, memberships: list[Membership], units: Mapping[str, str], policy: Policy
) -> list[Finding]:
    """The rules one studio's roster breaks: ``memberships`` are all of its places, past
    and present, and ``units`` names the unit of each person in them."""
    findings: list[Finding] = []

    def add(rule: str, message: str, *, refused: bool) -> None:
        findings.append(Finding(studio.code, rule, message, refused))

    seen: dict[str, list[Membership]] = {}
    for m in memberships:
        for other in seen.get(m.person, []):
            if _overlap(m, other):
                add(
                    "one_place",
                    f"{m.person} 在同一期间重复登记"
                    f"（两段登记自{max(m.joined_on, other.joined_on)}起重叠）",
                    refused=True,
                )
        seen.setdefault(m.person, []).append(m)

    most_hosts = most_members = most_trainees = 0
    fewest_external: int | None = None
    for day in _event_days(memberships):
        active = [m for m in memberships if m.active_on(day)]
        hosts = [m for m in active if m.role == "host"]
        members = [m for m in active if m.role == "member"]
        trainees = [m for m in active if m.role == "trainee"]
        most_hosts = max(most_hosts, len(hosts))
        most_members = max(most_members, len(members))
        most_trainees = max(most_trainees, len(trainees))
        external = sum(1 for m in members if units.get(m.person) != studio.host_unit)
        if members:
            fewest_external = (
                external if fewest_external is None else min(fewest_external, external)
            )

    if most_hosts > 1:
        add(
            "one_host",
            f"同时有{most_hosts}名主持人（每个工作室只能有1名主持人）",
            refused=True,
        )
    if not any(m.role == "host" for m in memberships):
        add("one_host", "没有主持人", refused=False)
    if most_members > policy.max_paid_members:
        add(
            "max_paid_members",
            f"成员{most_members}人，超过政策发放劳务补贴的上限{policy.max_paid_members}人",
            refused=True,
        )
    if fewest_external is not None and fewest_external < policy.min_external_members:
        add(
            "min_external_members",
            f"外校成员最少时{fewest_external}人，少于{policy.min_external_members}人",
            refused=False,
        )
    if most_trainees > policy.max_trainees:
        add(
            "max_trainees",
            f"学员{most_trainees}人，超过{policy.max_trainees}人",
            refused=False,
        )
    return findings


def _overlap(a: Membership, b: Membership) -> bool:
    a_end = a.left_on or date.max
    b_end = b.left_on or date.max
    return a.joined_on <= b_end and b.joined_on <= a_end


def round_label(number: int) -> str:
    """第1轮: how a round is shown."""
    return f"第{number}轮"


def kind_counts(studios: Iterable[Studio]) -> dict[tuple[int, str], int]:
    """How many studios each round has of each kind."""
    counts: dict[tuple[int, str], int] = {}
    for s in studios:
        counts[(s.round, s.kind)] = counts.get((s.round, s.kind), 0) + 1
    return counts


def quota_findings(
    counts: Mapping[tuple[int, str], int], quotas: Mapping[int, Mapping[str, int]]
) -> list[Finding]:
    """Studios per round and kind (``counts``, :func:`kind_counts`) beyond the round's
    quota (``quotas``: round → kind → how many, from the policy governing the round's
    first year)."""
    findings = []
    for (number, kind), count in sorted(counts.items()):
        quota = quotas.get(number, {}).get(kind, 0)
        if count > quota:
            findings.append(
                Finding(
                    f"{round_label(number)}{STUDIO_KINDS[kind]}",
                    "quota",
                    f"{count}个，超过名额{quota}个",
                    refused=False,
                )
            )
    return findings


@dataclass(frozen=True, slots=True)
class Grade:
    """A grade for a studio (``id_number`` empty) or for one of its members."""

    year: int
    studio: str
    id_number: str
    grade: str


def grade_errors(grade: Grade, where: str, today: date) -> list[ValidationError]:
    """What is wrong with an assessment result before the roster is looked at; a year
    that has not begun has no result yet."""
    errors = choice_errors(f"{where}grade", grade.grade, GRADE_LABELS)
    if not FIRST_YEAR <= grade.year <= LAST_YEAR:
        errors.append(ValidationError(f"{where}year", f"应为{FIRST_YEAR}至{LAST_YEAR}之间的年度"))
    elif grade.year > today.year:
        errors.append(
            FutureDateError(
                f"{where}year",
                f"{grade.year}年尚未开始（今天是{today.isoformat()}），还没有考核结果",
            )
        )
    if grade.id_number:
        errors += id_number_errors(grade.id_number, f"{where}id_number")
    return errors
