"""Users and roles (SPEC §7): who may prepare, approve, audit and administer.

A user has one role. API tokens are random, shown once when the user is
created, and stored only as their SHA-256 hash: a token has 256 bits of
entropy, so a fast hash is enough to make the stored value useless to a reader.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Final

from ledger.errors import PermissionDeniedError, ValidationError

ROLES: Final = ("clerk", "approver", "auditor", "admin")
ROLE_LABELS: Final = {"clerk": "经办人", "approver": "审核人", "auditor": "审计", "admin": "管理员"}
TOKEN_PREFIX: Final = "sl_"  # noqa: S105 (a prefix that marks our tokens, not a secret)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str


def new_token() -> str:
    """A fresh API token (shown once)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(name: str, role: str) -> None:
    if not name or len(name) > 50 or name != name.strip():
        raise ValidationError("name", "a user name has 1-50 characters without outer spaces")
    if role not in ROLES:
        raise ValidationError("role", f"must be one of {', '.join(ROLES)}")


def require_role(user: User, *roles: str) -> None:
    """Refuse unless ``user`` has one of ``roles``."""
    if user.role not in roles:
        raise PermissionDeniedError(f"{user.name} is {user.role}; this needs {' or '.join(roles)}")
