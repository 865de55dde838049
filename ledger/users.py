"""Users and roles (SPEC §7): who may prepare, approve, audit and administer.

A user has one role; what it allows is :mod:`ledger.permissions`. Every service
that changes something names its acting user and calls :func:`acting` first.

API tokens are random, shown once when the user is created or their token is
rotated, and stored only as their SHA-256 hash: a token has 256 bits of entropy,
so a fast hash is enough to make the stored value useless to a reader.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from ledger.codes import UserRole, codes, labels
from ledger.errors import (
    InvalidInputError,
    NotFoundError,
    UnknownUserError,
    ValidationError,
    hidden_character_error,
)
from ledger.permissions import Action, allows, require, roles_for, unnamed_refusal
from ledger.registry.roster import normalize_id_number

ROLES: Final = codes(UserRole)
ROLE_LABELS: Final = labels(UserRole)
SIGN_IN_WINDOW: Final = timedelta(minutes=15)
"""Failed sign-ins count for this long."""
FREE_TRIES: Final = 5
"""Failed sign-ins one user name may have from one client address in the window before
each further try waits (:func:`sign_in_wait`). The name alone is never held: someone
guessing elsewhere cannot keep its user out."""
FREE_ADDRESS_TRIES: Final = 20
"""Failed sign-ins, under any names, one client address may have in the window before
it waits too: someone trying many names from one place is slowed down as well."""
DOUBLINGS: Final = 5
"""30 s doubled five times passes the window: no later failure makes it longer."""
FIRST_DELAY: Final = timedelta(seconds=30)
"""The wait after the last free failure; it doubles with each failure after it, up to
:data:`SIGN_IN_WINDOW` (30 s, 1, 2, 4, 8 minutes, then 15)."""
TOKEN_PREFIX: Final = "sl_"  # noqa: S105 (a prefix that marks our tokens, not a secret)
TOKEN_LIFETIME: Final = timedelta(days=90)
"""How long an API token works after it is issued, unless STUDIO_LEDGER_TOKEN_DAYS says
otherwise; an admin issues a new one with ``users token NAME``."""
TOKEN_USE_PRECISION: Final = timedelta(minutes=1)
"""A token's last use is recorded at most this often (one write per user per minute)."""


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the administrator sees them.

    Attributes:
      disabled: a disabled user's token stops working and they can do nothing.
      created_at: when the user was added (UTC, naive).
      token_issued_at: when the current API token was issued (UTC, naive); it expires
        :data:`TOKEN_LIFETIME` later unless the service is set otherwise.
      token_last_used_at: when the token last let a request in, to the minute.
      created_by: the admin who added them (``None``: the operator setting up).
      awaiting_confirmation: an approver or admin added by an admin waits, disabled,
        until a second admin confirms (:func:`confirm_user`), who is ``confirmed_by``.
      id_number: the person the user is (身份证号); an approver has one, and may not
        approve a batch that pays that person.
    """

    name: str
    role: str
    disabled: bool
    created_at: datetime
    token_issued_at: datetime | None = None
    token_last_used_at: datetime | None = None
    created_by: str | None = None
    awaiting_confirmation: bool = False
    confirmed_by: str | None = None
    id_number: str | None = None

    @property
    def user(self) -> User:
        return User(self.name, self.role)


class UserStore(Protocol):
    def user(self, name: str) -> User | None:
        """The active user named ``name``."""

    def token_holder(self, token_hash: str) -> UserRecord | None:
        """The user, disabled or not, whose token hashes to ``token_hash``."""

    def note_token_use(self, name: str, at: datetime) -> None:
        """Record that ``name``'s token let a request in at ``at``."""

    def record(self, name: str) -> UserRecord | None:
        """The user named ``name``, disabled or not."""

    def records(self) -> list[UserRecord]: ...
    def add_user(
        self,
        user: User,
        token_hash: str,
        *,
        created_by: str | None = None,
        awaiting: bool = False,
        id_number: str | None = None,
    ) -> None: ...
    def confirm(self, name: str, by: str) -> None: ...
    def disable(self, name: str) -> None: ...
    def set_token(self, name: str, token_hash: str) -> None: ...
    def password_hash(self, name: str) -> str | None: ...
    def set_password_hash(self, name: str, password_hash: str) -> None: ...
    def end_sessions(self, name: str, keep: str | None = None) -> int:
        """End ``name``'s console sessions (but the one whose id is ``keep``); how many."""


class Stores(Protocol):
    @property
    def users(self) -> UserStore: ...


def token_refusal(
    holder: UserRecord | None, now: datetime, lifetime: timedelta = TOKEN_LIFETIME
) -> str | None:
    """Why a presented API token does not let its holder in (unknown, disabled, or
    expired ``lifetime`` after it was issued), or ``None``. ``now`` is naive UTC."""
    if holder is not None and holder.awaiting_confirmation:
        return f"用户 {holder.name} 尚待另一位管理员确认：`users confirm {holder.name}`"
    if holder is None or holder.disabled:
        return "API 令牌无效，或其用户已停用"
    issued = holder.token_issued_at or holder.created_at
    if now - issued >= lifetime:
        expired = issued + lifetime
        return (
            f"{holder.name} 的 API 令牌已于 {expired:%Y-%m-%d %H:%M}（UTC）过期"
            f"（令牌有效期 {lifetime.days} 天）；请管理员签发新令牌："
            f"`studio-ledger users token {holder.name}`"
        )
    return None


def token_use_is_news(holder: UserRecord, now: datetime) -> bool:
    """Whether this use should be recorded: the last one is older than the precision."""
    last = holder.token_last_used_at
    return last is None or now - last >= TOKEN_USE_PRECISION


def new_token() -> str:
    """A fresh API token (shown once)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(name: str, role: str) -> None:
    if not name or len(name) > 50 or name != name.strip():
        raise ValidationError("name", "用户名须为1-50个字符，首尾不能有空格")
    if hidden := hidden_character_error("name", name):
        raise hidden
    if role not in ROLES:
        raise ValidationError(
            "role", "须为以下之一：" + "、".join(f"{r.label}（{r.value}）" for r in UserRole)
        )


def active(stores: Stores, name: str) -> User:
    """The active user ``name``; an unknown or disabled one is refused."""
    found = stores.users.user(name)
    if found is None:
        raise UnknownUserError(
            f"没有名为 {name!r} 的在用用户；请用 "
            "`studio-ledger users add NAME --role ROLE --as ADMIN` 添加"
        )
    return found


def acting(stores: Stores, name: str, action: Action) -> User:
    """The active user ``name``, if their role may do ``action``; else refused."""
    found = active(stores, name)
    require(found.name, found.role, action)
    return found


def reader(stores: Stores, name: str | None, action: Action) -> User | None:
    """Who reads ``action``'s data: the active user ``name`` if their role may; with no
    name (a command-line read without ``--as``) only what the permission table opens to
    every role, so the audit trail, job runs, users and statements always name a reader."""
    if name is not None:
        return acting(stores, name, action)
    if roles_for(action) != frozenset(UserRole):
        raise unnamed_refusal(action)
    return None


def add_user(
    stores: Stores, name: str, role: str, by: str | None, id_number: str | None = None
) -> str:
    """Create a user; returns their API token, which is shown once and stored only hashed.

    ``id_number`` is the person the user is (身份证号): an approver must give one, so
    that they never approve a batch that pays them (:data:`IDENTIFIED_ROLES`); no two
    active users share one, so one person cannot be two "distinct" approvers.

    ``by`` is the admin adding them. ``None`` is the operator at the server setting up
    a new installation: allowed until it has :data:`SETUP_ADMINS` active admins, so
    that the first two admins can confirm each other's approvers and admins. An
    approver or admin added by an admin waits for a second admin (:data:`DUTY_ROLES`).
    """
    if by is None:
        admins = [
            r for r in stores.users.records() if allows(r.role, "user.add") and not r.disabled
        ]
        if len(admins) >= SETUP_ADMINS:
            raise ValidationError("--as", "本系统已有管理员：用户须由管理员添加（--as ADMIN）")
    else:
        acting(stores, by, "user.add")
    check_new_user(name, role)
    person = _identity(stores, role, id_number)
    if stores.users.record(name) is not None:
        raise ValidationError("name", f"用户 {name!r} 已存在")
    token = new_token()
    awaiting = by is not None and role in DUTY_ROLES
    stores.users.add_user(
        User(name, role), token_hash(token), created_by=by, awaiting=awaiting, id_number=person
    )
    return token


IDENTIFIED_ROLES: Final = frozenset({"approver", "cashier"})
"""Roles whose users must say which person they are: an approver may not approve a
batch that pays them (:func:`ledger.batches.batch.check_not_own_pay`), and a cashier
may not pay a batch they approved under another account
(:func:`ledger.batches.batch.check_cashier`)."""


def _identity(stores: Stores, role: str, id_number: str | None) -> str | None:
    """The checked ID number a new user gives, or None where the role needs none."""
    if id_number is None or not id_number.strip():
        if role in IDENTIFIED_ROLES:
            raise ValidationError(
                "id_number",
                f"{labels(UserRole)[role]}须登记本人身份证号，以免审批或支付给自己的款项、"
                "或支付自己审批的批次",
            )
        return None
    value = normalize_id_number(id_number, field="id_number")
    holder = next(  # a user awaiting confirmation is disabled, but will be active
        (
            r
            for r in stores.users.records()
            if r.id_number == value and (not r.disabled or r.awaiting_confirmation)
        ),
        None,
    )
    if holder is not None:
        raise ValidationError(
            "id_number",
            f"该身份证号已登记给用户 {holder.name}：一人只能有一个在用账号",
        )
    return value


SETUP_ADMINS: Final = 2
"""Admins the operator may set up without ``--as``: two, so that each can confirm
the approvers and admins the other adds."""
DUTY_ROLES: Final = frozenset({"approver", "cashier", "admin"})
"""Roles that approve money or make users: one admin alone cannot make one. An admin
who could add approvers at will could prepare, approve and approve again as three
"distinct" people; so such a user waits, disabled, until a second admin confirms."""


def confirm_user(stores: Stores, name: str, by: str) -> UserRecord:
    """A second admin confirms an approver or admin another admin added; they become
    active. The admin who added them cannot; confirming an active user changes nothing."""
    acting(stores, by, "user.confirm")
    found = _existing(stores, name)
    if not found.awaiting_confirmation:
        return found
    if found.created_by == by:
        raise ValidationError(
            "--as",
            f"{name} 由 {by} 添加，须由另一位管理员确认该{ROLE_LABELS.get(found.role, found.role)}"
            "（职责分离）",
        )
    stores.users.confirm(name, by)
    return _existing(stores, name)


def _existing(stores: Stores, name: str) -> UserRecord:
    found = stores.users.record(name)
    if found is None:
        raise NotFoundError(f"没有名为 {name!r} 的用户")
    return found


def disable_user(stores: Stores, name: str, by: str) -> UserRecord:
    """Disable ``name`` at once: their token stops working. Disabling twice changes nothing."""
    actor = acting(stores, by, "user.disable")
    target = _existing(stores, name)
    if target.name == actor.name:
        raise ValidationError("name", "管理员不能停用自己的账号")
    if not target.disabled or target.awaiting_confirmation:
        stores.users.disable(name)  # a user awaiting confirmation can no longer get it
    stores.users.end_sessions(name)
    return _existing(stores, name)


def rotate_token(stores: Stores, name: str, by: str) -> str:
    """A new API token for ``name``; the old one stops working at once."""
    acting(stores, by, "user.token")
    target = _existing(stores, name)
    if target.disabled:
        raise ValidationError("name", f"用户 {name} 已停用，不能为停用的用户签发令牌")
    token = new_token()
    stores.users.set_token(name, token_hash(token))
    return token


def users(stores: Stores, by: str) -> list[UserRecord]:
    """Every user, enabled or not, for an admin."""
    acting(stores, by, "user.read")
    return stores.users.records()


MIN_PASSWORD: Final = 12
MAX_PASSWORD: Final = 200
GUESSED_FIRST: Final = (
    # what a guesser of a county office's passwords tries first, beside zxcvbn's own lists
    # of common passwords, names, words and patterns (which are English): the common
    # pinyin of love and dates, the surnames, the place, the program, the system
    *("woaini", "aini", "5201314", "1314", "520", "qq", "abc", "admin", "root", "test"),
    *("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou"),
    *("hangjinqi", "eerduosi", "ordos", "neimenggu", "mingshi", "gongzuoshi", "studio"),
    *("ledger", "caizheng", "jiaoyu", "jijinhui", "mima", "password"),
)
ZXCVBN_LIMIT: Final = 72
"""zxcvbn reads at most this many characters: a longer password is judged by its start."""
STRONG_ENOUGH: Final = 3
"""zxcvbn's score (0-4) a new password must reach: about 10**8 guesses, beyond an
online guesser held back by the sign-in throttle. NIST SP 800-63B: length and a check
against what is commonly chosen, no composition rules."""
_HASHER: Final = PasswordHasher()
"""Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile): slow and
salted, so a stolen hash is expensive to guess from."""
_NOBODY: Final = _HASHER.hash("no such user: compared against so every sign-in costs the same")


def password_errors(name: str, password: str) -> list[ValidationError]:
    """What is wrong with a new password (every problem, not the first)."""
    errors = []
    if len(password) < MIN_PASSWORD:
        errors.append(ValidationError("password", f"至少{MIN_PASSWORD}个字符"))
    if len(password) > MAX_PASSWORD:
        errors.append(ValidationError("password", f"最多{MAX_PASSWORD}个字符"))
    if password.strip() != password or any(ord(c) < 32 or ord(c) == 127 for c in password):
        errors.append(ValidationError("password", "首尾不能有空格，也不能含控制字符"))
    if password.casefold() == name.casefold():
        errors.append(ValidationError("password", "不能与用户名相同"))
    elif not errors and _guessable(name, password):
        errors.append(
            ValidationError(
                "password",
                "过于常见或容易猜到（常用密码、键盘或数字序列、重复字符、姓名或单位加年份），"
                "请换一个更长、不常见的短语",
            )
        )
    return errors


def _guessable(name: str, password: str) -> bool:
    """Whether zxcvbn puts ``password`` within reach of a guesser who knows the common
    passwords, the user's name and :data:`GUESSED_FIRST`."""
    found = zxcvbn(password[:ZXCVBN_LIMIT], user_inputs=[name, *GUESSED_FIRST])
    return bool(found["score"] < STRONG_ENOUGH)


def set_password(
    stores: Stores, name: str, password: str, by: str, *, session: str | None = None
) -> None:
    """Set ``name``'s console password: by an admin (``user.password``), or by the user.
    Every other console session of theirs ends (a password that leaked is no use to
    whoever signed in with it); a user changing their own keeps the ``session`` they
    are in."""
    if by == name:
        active(stores, by)  # everyone may change their own
    else:
        acting(stores, by, "user.password")
    target = _existing(stores, name)
    if target.disabled:
        raise ValidationError("name", f"用户 {name} 已停用，不能为停用的用户设置密码")
    if errors := password_errors(name, password):
        raise InvalidInputError(errors)
    stores.users.set_password_hash(name, _HASHER.hash(password))
    stores.users.end_sessions(name, keep=session if by == name else None)


def check_password(stores: Stores, name: str, password: str) -> User | None:
    """The active user ``name`` if ``password`` is theirs, else ``None``.

    Costs one Argon2 verification whether or not the user exists, so the time taken
    does not tell which user names are real. A hash made with weaker parameters
    than today's is replaced on a successful check.
    """
    user = stores.users.user(name)
    stored = stores.users.password_hash(name) if user is not None else None
    try:
        _HASHER.verify(stored or _NOBODY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or stored is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        stores.users.set_password_hash(name, _HASHER.hash(password))
    return user


def sign_in_wait(
    failures: Iterable[datetime], now: datetime, free: int = FREE_TRIES
) -> timedelta | None:
    """How long a (user name, client address) pair — or, with ``free``
    :data:`FREE_ADDRESS_TRIES`, a client address — must wait before it may try to sign in
    again, given the times of its failed attempts; ``None`` when it may try now.

    A growing delay, not a lock: the ``free`` failures of the window cost nothing, the
    next waits :data:`FIRST_DELAY` after the last failure, and each further failure
    doubles it, up to the window."""
    recent = sorted(f for f in failures if f > now - SIGN_IN_WINDOW)
    if len(recent) < free:
        return None
    doublings = min(len(recent) - free, DOUBLINGS)  # the cap first: 2**50 would overflow
    delay = min(FIRST_DELAY * 2**doublings, SIGN_IN_WINDOW)
    wait = recent[-1] + delay - now
    return wait if wait > timedelta(0) else None


def wait_words(wait: timedelta) -> str:
    """``wait`` as the sign-in page says it: seconds under a minute, else minutes up."""
    seconds = math.ceil(wait.total_seconds())
    return f"{seconds} 秒" if seconds < 60 else f"{math.ceil(seconds / 60)} 分钟"


def record(stores: Stores, name: str) -> UserRecord | None:
    """The user ``name`` as stored (enabled or not), if there is one."""
    return stores.users.record(name)


def signed_in(stores: Stores, name: str) -> User | None:
    """The active user ``name`` behind a session, ``None`` once disabled or removed."""
    return stores.users.user(name)


def note_token_use(stores: Stores, name: str, at: datetime) -> None:
    """Record that ``name``'s token was used at ``at`` (the console shows it)."""
    stores.users.note_token_use(name, at)
