"""Users and roles (SPEC §7): who may prepare, approve, audit and administer.

A user has one role; what it allows is :mod:`ledger.permissions`. Every service
that changes something names its acting user and calls :func:`acting` first.

API tokens are random, shown once when the user is created or their token is
rotated, and stored only as their SHA-256 hash: a token has 256 bits of entropy,
so a fast hash is enough to make the stored value useless to a reader.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from ledger.codes import UserRole, codes, describe, labels
from ledger.errors import NotFoundError, UnknownUserError, ValidationError
from ledger.permissions import Action, allows, require

ROLES: Final = codes(UserRole)
ROLE_LABELS: Final = labels(UserRole)
TOKEN_PREFIX: Final = "sl_"  # noqa: S105 (a prefix that marks our tokens, not a secret)


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
    """

    name: str
    role: str
    disabled: bool
    created_at: datetime


class UserStore(Protocol):
    def user(self, name: str) -> User | None:
        """The active user named ``name``."""

    def user_by_token(self, token_hash: str) -> User | None:
        """The active user whose token hashes to ``token_hash``."""

    def record(self, name: str) -> UserRecord | None:
        """The user named ``name``, disabled or not."""

    def records(self) -> list[UserRecord]: ...
    def add_user(self, user: User, token_hash: str) -> None: ...
    def disable(self, name: str) -> None: ...
    def set_token(self, name: str, token_hash: str) -> None: ...


class Stores(Protocol):
    @property
    def users(self) -> UserStore: ...


def new_token() -> str:
    """A fresh API token (shown once)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(name: str, role: str) -> None:
    if not name or len(name) > 50 or name != name.strip():
        raise ValidationError("name", "a user name has 1-50 characters without outer spaces")
    if role not in ROLES:
        raise ValidationError("role", f"must be one of {describe(UserRole)}")


def acting(stores: Stores, name: str, action: Action) -> User:
    """The active user ``name``, if their role may do ``action``; else refused."""
    found = stores.users.user(name)
    if found is None:
        raise UnknownUserError(
            f"no active user named {name!r}; add one with "
            "`studio-ledger users add NAME --role ROLE --as ADMIN`"
        )
    require(found.name, found.role, action)
    return found


def add_user(stores: Stores, name: str, role: str, by: str | None) -> str:
    """Create a user; returns their API token, which is shown once and stored only hashed.

    ``by`` is the admin adding them. ``None`` is the operator setting up a new
    installation: allowed only while no active user may add users (``user.add``).
    """
    if by is None:
        if any(allows(r.role, "user.add") and not r.disabled for r in stores.users.records()):
            raise ValidationError(
                "--as", "an admin exists: users are added by an admin (--as ADMIN)"
            )
    else:
        acting(stores, by, "user.add")
    check_new_user(name, role)
    if stores.users.record(name) is not None:
        raise ValidationError("name", f"a user named {name!r} already exists")
    token = new_token()
    stores.users.add_user(User(name, role), token_hash(token))
    return token


def _existing(stores: Stores, name: str) -> UserRecord:
    found = stores.users.record(name)
    if found is None:
        raise NotFoundError(f"no user named {name!r}")
    return found


def disable_user(stores: Stores, name: str, by: str) -> UserRecord:
    """Disable ``name`` at once: their token stops working. Disabling twice changes nothing."""
    actor = acting(stores, by, "user.disable")
    target = _existing(stores, name)
    if target.name == actor.name:
        raise ValidationError("name", "an admin cannot disable themselves")
    if not target.disabled:
        stores.users.disable(name)
    return _existing(stores, name)


def rotate_token(stores: Stores, name: str, by: str) -> str:
    """A new API token for ``name``; the old one stops working at once."""
    acting(stores, by, "user.token")
    target = _existing(stores, name)
    if target.disabled:
        raise ValidationError("name", f"{name} is disabled; a disabled user gets no token")
    token = new_token()
    stores.users.set_token(name, token_hash(token))
    return token


def users(stores: Stores, by: str) -> list[UserRecord]:
    """Every user, enabled or not, for an admin."""
    acting(stores, by, "user.read")
    return stores.users.records()
